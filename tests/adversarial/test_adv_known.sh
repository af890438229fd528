#!/usr/bin/env bash
# The hostile cases the relay already survived before issue 17, kept passing,
# now with the well-behaved pair measured alongside (default limits):
#   - 20,000 garbage UDP datagrams (random bytes, Initial look-alikes, unknown
#     versions, short headers with unknown CIDs) and wrong-ALPN handshakes;
#   - malformed HTTP (junk, TLS on the HTTP port, oversize heads, HTTP/2);
#   - a slow subscriber: a client subscribed to a 250 KB/s track and stopped
#     (SIGSTOP) for the whole test: the relay's RSS stays bounded;
#   - a lossy link: a second publisher/subscriber pair through a UDP
#     forwarder dropping and reordering 5% gets every line.
. "$(dirname "$0")/lib.sh"
adv_init
PROBE=$(it_helper quicprobe) || it_fail "cannot build quicprobe"
FWD=$(it_helper udpfwd) || it_fail "cannot build udpfwd"
adv_relay_start

adv_pair pair 10
# slow subscriber on a 250 KB/s track (25 KB groups, 10/s)
it_bg heavy "$ADV" greedy "moqt://[::1]:$RELAY_PORT/heavy" b 5000 25000 10 14
it_wait_for "$IT_TMP/heavy.out" '^group 2$' 10 || it_fail "heavy publisher did not start"
it_bg slowsub "$MOQC_BIN" --tls-fingerprint "$FP" subscribe --url "moqt://[::1]:$RELAY_PORT/heavy" \
  --broadcast b --track t
sleep 1
kill -STOP "$(it_pid slowsub)"
rss0=$(adv_rss)
# lossy pair
it_bg fwd "$FWD" --to "127.0.0.1:$RELAY_PORT" --drop 0.05 --reorder 0.05 --seed 5 --max-seconds 60
it_wait_for "$IT_TMP/fwd.out" '^port ' 10 || it_fail "udpfwd did not start"
FPORT=$(sed -n 's/^port //p' "$IT_TMP/fwd.out")
seq 1 200 | sed 's/^/lossy line /' >"$IT_TMP/lossy.txt"
it_bg lsub "${MOQC[@]}" subscribe --url "https://127.0.0.1:$FPORT/lossy" --broadcast b \
  --start-group 0 --wait 30s --reorder 5s --count 200
it_fifo lpub 7
IT_STDIN=$IT_TMP/lpub.fifo it_bg lpub "${MOQC[@]}" publish --url "https://127.0.0.1:$FPORT/lossy" \
  --broadcast b --group-frames 5 --wait-subscriber
# garbage and wrong ALPNs from ::1
it_bg flood1 "$PROBE" flood ::1 "$RELAY_PORT" 10000 1
it_bg flood2 "$PROBE" flood ::1 "$RELAY_PORT" 10000 2
it_bg alpn_h2 "$PROBE" alpn ::1 "$RELAY_PORT" h2 3000
# malformed HTTP from ::1
bad_http() { printf '%b' "$1" | timeout 5 bash -c "exec 3<>/dev/tcp/::1/$HTTP_PORT; cat >&3; head -c 12 <&3" 2>/dev/null; }
for req in 'GARBAGE\r\n\r\n' 'GET / HTTP/2.0\r\nHost: h\r\n\r\n' \
  "GET /$(head -c 12000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n"; do
  st=$(bad_http "$req")
  case "$st" in "HTTP/1.1 4"* | "HTTP/1.1 5"*) ;; *) it_check_fail "malformed HTTP answered '$st'" ;; esac
done
# A truncated TLS ClientHello: the HTTP port speaks TLS (first byte 0x16), so
# there is no HTTP answer; the relay closes it at the head deadline (5 s by
# default) with nothing or a TLS alert (0x15), never an HTTP reply.
t0=$(date +%s%N)
st=$(printf '%b' '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n' |
  timeout 9 bash -c "exec 3<>/dev/tcp/::1/$HTTP_PORT; cat >&3; head -c 1 <&3 | od -An -tx1" 2>/dev/null | tr -d ' ')
ms=$((($(date +%s%N) - t0) / 1000000))
case "$st" in "" | 15) ;; *) it_check_fail "a truncated TLS ClientHello was answered '$st'" ;; esac
[ "$ms" -lt 8000 ] || it_check_fail "a truncated TLS ClientHello was held ${ms} ms (head deadline 5 s)"
while read -r l; do echo "$l" >&7; sleep 0.01; done <"$IT_TMP/lossy.txt"
exec 7>&-
for p in flood1 flood2; do it_wait "$p" 60 || it_check_fail "$p exited $?"; done
it_wait alpn_h2 20
grep -q '^refused' "$IT_TMP/alpn_h2.out" || it_check_fail "wrong ALPN not refused: $(cat "$IT_TMP/alpn_h2.out")"
it_wait lsub 60 || it_check_fail "lossy subscriber exited $?"
cmp -s "$IT_TMP/lossy.txt" "$IT_TMP/lsub.out" ||
  it_check_fail "lossy subscriber: $(wc -l <"$IT_TMP/lsub.out") of 200 lines, or different"
it_wait lpub 30 || it_check_fail "lossy publisher exited $?"
it_wait heavy 30 || it_check_fail "heavy publisher exited $?"
rss1=$(adv_rss)
it_log "relay RSS with a stopped subscriber on 250 KB/s: $rss0 -> $rss1 KiB"
[ $((rss1 - rss0)) -lt 60000 ] || it_check_fail "RSS grew by $((rss1 - rss0)) KiB behind a stopped subscriber"
kill -CONT "$(it_pid slowsub)"
kill -KILL "$(it_pid slowsub)"
adv_pair_check pair
[ "$(it_http /health)" = ok ] || it_check_fail "relay unhealthy"
adv_done

#!/usr/bin/env bash
# The relay keeps serving a live stream and new clients while it is flooded with
# garbage UDP (random bytes, QUIC Initial look-alikes, unknown versions, short
# headers with unknown CIDs) and while clients offer a wrong ALPN.
. "$(dirname "$0")/lib.sh"
it_init
PROBE=$(it_helper quicprobe) || it_fail "cannot build quicprobe"
it_relay_start

# A live stream: one frame every 20 ms, and a subscriber that will be SIGKILLed.
# Its reorder window is wide: during the flood a group may be late (a loaded CI
# machine plus 40k junk datagrams), but it must not be lost.
it_bg sub1 "${MOQC[@]}" subscribe --url "$(it_url g)" --broadcast b --start-group 0 --wait 30s \
  --reorder 10s
it_bg victim "${MOQC[@]}" subscribe --url "$(it_url g)" --broadcast b --wait 30s
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url g)" --broadcast b --wait-subscriber
N=150
: >"$IT_TMP/data.txt"
for i in $(seq 1 $N); do echo "frame $i" >>"$IT_TMP/data.txt"; done
head -n 50 "$IT_TMP/data.txt" | while read -r l; do echo "$l" >&7; sleep 0.02; done

kill -KILL "$(it_pid victim)"
# Garbage from several sources at once, plus wrong-ALPN handshakes.
it_bg flood1 "$PROBE" flood 127.0.0.1 "$RELAY_PORT" 20000 1
it_bg flood2 "$PROBE" flood 127.0.0.1 "$RELAY_PORT" 20000 2
it_bg alpn_h2 "$PROBE" alpn 127.0.0.1 "$RELAY_PORT" h2 3000
it_bg alpn_moqt99 "$PROBE" alpn 127.0.0.1 "$RELAY_PORT" moqt-99 3000 # an IETF draft nobody speaks
it_bg alpn_junk "$PROBE" alpn 127.0.0.1 "$RELAY_PORT" not-a-protocol 3000
sed -n '51,100p' "$IT_TMP/data.txt" | while read -r l; do echo "$l" >&7; sleep 0.02; done
for p in flood1 flood2; do it_wait "$p" 60 || it_fail "$p exited $?"; done
for p in alpn_h2 alpn_moqt99 alpn_junk; do
  it_wait "$p" 20
  rc=$?
  [ "$rc" = 1 ] || it_fail "$p: a wrong ALPN must be refused (exit $rc: $(cat "$IT_TMP/$p.out"))"
  grep -q '^refused' "$IT_TMP/$p.out" || it_fail "$p: $(cat "$IT_TMP/$p.out")"
done
it_log "floods sent, wrong ALPNs refused: $(head -1 "$IT_TMP/alpn_h2.out")"

# The relay still serves: HTTP, a brand-new subscriber, and the live stream.
[ "$(it_http /health)" = ok ] || it_fail "relay unhealthy after the flood"
it_bg sub2 "${MOQC[@]}" subscribe --url "$(it_url g)" --broadcast b --count 10
sed -n '101,$p' "$IT_TMP/data.txt" | while read -r l; do echo "$l" >&7; sleep 0.02; done
exec 7>&-
it_wait pub 30 || it_fail "publisher exited $?"
it_wait sub1 30 || it_fail "subscriber 1 exited $?"
cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub1.out" || it_fail "subscriber 1: output differs ($(wc -l <"$IT_TMP/sub1.out") of $N lines)"
it_wait sub2 30 || it_fail "subscriber 2 (joined after the flood) exited $?"
[ "$(wc -l <"$IT_TMP/sub2.out")" = 10 ] || it_fail "subscriber 2 got $(wc -l <"$IT_TMP/sub2.out") lines"
kill -0 "$RELAY_PID" || it_fail "relay died"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

#!/usr/bin/env bash
# TLS on the relay's TCP listener (https://, wss://) and the https:// / http:// ->
# WebSocket fallback of moqc, over real sockets. The relay's HTTP listener is on its
# own port (--http-bind 127.0.0.1:0), so nothing answers QUIC there:
#   - https:// endpoints on the same TCP port as plain http://, with the relay's (QUIC)
#     certificate: /certificate.sha256 over both, the certificate's SHA-256 checked;
#   - `moqc publish` over wss:// to subscribers over wss://, ws:// and WebTransport
#     (https:// on the UDP port), every line byte for byte;
#   - `moqc` with https:// and http:// URLs of the TCP port: QUIC gets no answer, the
#     WebSocket attempt (wss:// / ws://) after the head start carries the session, it
#     connects within --timeout 2s and publishes / subscribes; with
#     --websocket-enabled false the same URL fails;
#   - bad TLS input while the subscribers are connected, each closing only its own
#     connection: garbage after 0x16 (answered with an alert and closed), a client
#     that stalls mid-handshake (closed by the head deadline), a wss:// client that
#     refuses the certificate (an error naming why); the subscribers still get every
#     line published afterwards;
#   - the per-address cap counts TLS connections (a third one is closed at once).
. "$(dirname "$0")/lib.sh"
it_init
command -v curl >/dev/null || it_fail "curl is required"
command -v openssl >/dev/null || it_fail "openssl is required"
it_relay_start --http-bind 127.0.0.1:0 --http-head-timeout 2s
[ "$HTTP_PORT" != "$RELAY_PORT" ] || it_fail "the HTTP port should differ from the UDP port"
H=127.0.0.1:$HTTP_PORT

# ---- https:// endpoints beside http:// on one port, with the QUIC certificate -----------------
[ "$(curl -sk "https://$H/certificate.sha256")" = "$FP" ] || it_check_fail "https:// /certificate.sha256 is not the relay's fingerprint"
[ "$(curl -s "http://$H/certificate.sha256")" = "$FP" ] || it_check_fail "http:// /certificate.sha256 is not the relay's fingerprint"
served=$(openssl s_client -connect "$H" </dev/null 2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$served" = "$FP" ] || it_check_fail "the TLS listener serves another certificate ($served)"
[ "$(curl -sk "https://$H/health")" = ok ] || it_check_fail "https:// /health"

# ---- wss:// publisher -> wss://, ws:// and WebTransport subscribers --------------------------
sub() { it_bg "$1" "${MOQC[@]}" subscribe --url "$2" --broadcast b --track t --start-group 0 --wait 20s --log-level info; }
sub sub_wss "wss://$H/anon"
sub sub_ws "ws://$H/anon"
sub sub_wt "$(it_url anon)"
sleep 0.5
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "${MOQC[@]}" publish --url "wss://$H/anon" --broadcast b --track t --group-frames 5 --wait-subscriber --log-level info
seq 1 50 | sed 's/^/line /' >"$IT_TMP/want1"
cat "$IT_TMP/want1" >&7
for s in sub_wss sub_ws sub_wt; do
  it_wait_lines "$IT_TMP/$s.out" 50 20 || it_check_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 50 lines"
done
grep -q 'over websocket-tls' "$IT_TMP/sub_wss.err" || it_check_fail "the wss:// subscriber did not use WebSocket over TLS"
grep -q 'over websocket$' "$IT_TMP/sub_ws.err" || it_check_fail "the ws:// subscriber did not use plain WebSocket"
grep -q 'over websocket-tls' "$IT_TMP/pub.err" || it_check_fail "the wss:// publisher did not use WebSocket over TLS"

# ---- bad TLS input, each on its own connection ---------------------------------------------
# Garbage after 0x16 (a handshake record holding a 4-byte "ClientHello"): an alert, then closed.
exec 5<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf '\x16\x03\x01\x00\x08\x01\x00\x00\x04\xde\xad\xbe\xef' >&5
rc=0
timeout 5 cat <&5 >"$IT_TMP/garbage.out" 2>/dev/null || rc=$?
exec 5>&-
[ "$rc" != 124 ] || it_check_fail "garbage after 0x16 did not close the connection"
[ "$(head -c 1 "$IT_TMP/garbage.out" | od -An -tx1 | tr -d ' ')" = 15 ] || it_check_fail "garbage after 0x16 not answered with a TLS alert"
# Half a real ClientHello, then nothing: closed by the 2 s head deadline (not before 1.5 s).
hello=$(dirname "$0")/../fuzz/corpus/fuzz_tls_stream/client_hello
exec 5<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
tail -c +3 "$hello" | head -c 100 >&5
t0=$(date +%s%N)
rc=0
timeout 8 cat <&5 >/dev/null 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
exec 5>&-
[ "$rc" != 124 ] || it_check_fail "a client stalled mid-handshake was not closed"
[ "$ms" -ge 1500 ] || it_check_fail "a stalled handshake was closed after $ms ms, before the 2 s head deadline"
it_log "stalled TLS handshake closed after $ms ms"
# A wss:// client that verifies against the system roots refuses the self-signed certificate.
rc=0
timeout 10 "$MOQC_BIN" subscribe --url "wss://$H/anon" --broadcast b --track t --count 1 \
  >/dev/null 2>"$IT_TMP/verify.err" || rc=$?
[ "$rc" != 0 ] && grep -q 'certificate for 127.0.0.1 refused' "$IT_TMP/verify.err" ||
  it_check_fail "wss:// accepted an untrusted certificate or failed unclearly (rc $rc: $(head -c 200 "$IT_TMP/verify.err"))"

# The subscribers still work: 50 more lines.
seq 51 100 | sed 's/^/line /' >"$IT_TMP/want2"
cat "$IT_TMP/want2" >&7
exec 7>&-
cat "$IT_TMP/want1" "$IT_TMP/want2" >"$IT_TMP/want"
it_wait pub 20 || it_check_fail "wss:// publisher exited non-zero"
for s in sub_wss sub_ws sub_wt; do
  it_wait "$s" 20 || it_check_fail "$s exited non-zero"
  cmp -s "$IT_TMP/$s.out" "$IT_TMP/want" || it_check_fail "$s output differs ($(wc -l <"$IT_TMP/$s.out") lines)"
done

# ---- https:// and http:// on a port where only TCP answers: WebSocket within 2 s --------------
# The subscribers wait for the broadcast; each publisher must connect within --timeout 2s
# (the WebSocket starts 200 ms in; 2 s leaves a loaded machine room).
sub sub_fb_tls "https://$H/anon"
it_bg sub_fb_plain "$MOQC_BIN" subscribe --url "http://$H/anon" --broadcast b2 --track t --start-group 0 --wait 20s --log-level info
sleep 0.5
seq 1 20 | sed 's/^/fb /' >"$IT_TMP/want_fb"
"${MOQC[@]}" publish --url "https://$H/anon" --broadcast b --track t --start-group 100 --group-frames 5 \
  --timeout 2s --wait-subscriber=10s --log-level info <"$IT_TMP/want_fb" 2>"$IT_TMP/pub_fb_tls.err" ||
  it_check_fail "https:// publisher did not connect within 2 s over WebSocket: $(tail -n 2 "$IT_TMP/pub_fb_tls.err")"
"$MOQC_BIN" publish --url "http://$H/anon" --broadcast b2 --track t --group-frames 5 \
  --timeout 2s --wait-subscriber=10s --log-level info <"$IT_TMP/want_fb" 2>"$IT_TMP/pub_fb_plain.err" ||
  it_check_fail "http:// publisher did not connect within 2 s over WebSocket: $(tail -n 2 "$IT_TMP/pub_fb_plain.err")"
grep -q 'over websocket-tls' "$IT_TMP/pub_fb_tls.err" || it_check_fail "https:// did not fall back to wss://"
grep -q 'over websocket$' "$IT_TMP/pub_fb_plain.err" || it_check_fail "http:// did not fall back to ws://"
it_wait_lines "$IT_TMP/sub_fb_tls.out" 20 20 || it_check_fail "https:// subscriber got $(wc -l <"$IT_TMP/sub_fb_tls.out") of 20 lines"
it_wait_lines "$IT_TMP/sub_fb_plain.out" 20 20 || it_check_fail "http:// subscriber got $(wc -l <"$IT_TMP/sub_fb_plain.out") of 20 lines"
cmp -s <(head -n 20 "$IT_TMP/sub_fb_tls.out") "$IT_TMP/want_fb" || it_check_fail "https:// (fallback) subscriber output differs"
cmp -s <(head -n 20 "$IT_TMP/sub_fb_plain.out") "$IT_TMP/want_fb" || it_check_fail "http:// (fallback) subscriber output differs"
grep -q 'over websocket-tls' "$IT_TMP/sub_fb_tls.err" || it_check_fail "the https:// subscriber did not fall back to wss://"
grep -q 'over websocket$' "$IT_TMP/sub_fb_plain.err" || it_check_fail "the http:// subscriber did not fall back to ws://"
# Opted out: the same URL has no transport that answers.
rc=0
timeout 10 "${MOQC[@]}" publish --url "https://$H/anon" --broadcast b3 --track t --timeout 1s \
  --websocket-enabled false </dev/null 2>"$IT_TMP/optout.err" || rc=$?
[ "$rc" != 0 ] || it_check_fail "--websocket-enabled false still connected"
grep -q 'connect timed out\|connection failed' "$IT_TMP/optout.err" || it_check_fail "opt-out failure unclear: $(head -c 200 "$IT_TMP/optout.err")"
# The WebTransport URL of the UDP port still uses QUIC (it wins the race).
rc=0
"${MOQC[@]}" publish --url "$(it_url anon)" --broadcast b4 --track t --timeout 2s --log-level info \
  </dev/null 2>"$IT_TMP/wt.err" || rc=$?
grep -q 'over webtransport' "$IT_TMP/wt.err" || it_check_fail "https:// on the UDP port did not use WebTransport (rc $rc)"
it_relay_stop

# ---- the per-address cap counts TLS connections --------------------------------------------
IT_RELAY_NAME=relay_cap it_relay_start --http-max-conns-per-addr 2
for i in 1 2; do
  # handshake done, then nothing sent for 3 s (well inside the 5 s head deadline)
  it_bg "tls$i" timeout 5 bash -c "sleep 3 | openssl s_client -quiet -connect 127.0.0.1:$HTTP_PORT"
done
sleep 1
[ "$(curl -sk --max-time 3 "https://127.0.0.1:$HTTP_PORT/health")" != ok ] ||
  it_check_fail "a third TLS connection from the same address was served (cap 2)"
for i in 1 2; do it_wait "tls$i" 10 >/dev/null || true; done
[ "$(curl -sk --max-time 3 "https://127.0.0.1:$HTTP_PORT/health")" = ok ] ||
  it_check_fail "https:// not served once the capped connections closed"
it_relay_stop relay_cap
it_done

#!/usr/bin/env bash
# moqc over WebSocket (QMux) against the relay's TCP HTTP listener, over real sockets:
#   - `moqc publish` and `moqc subscribe` over ws:// (and mixed: a ws:// publisher,
#     an https:// WebTransport subscriber), every line byte for byte;
#   - bad input while a WebSocket subscriber is connected, each closing only its own
#     connection: a bad handshake (400, not 101), an offer of only unknown
#     sub-protocols (400), an oversized WebSocket message (Node: closed with 1009), a
#     client that sends a valid handshake and then garbage framing (closed);
#     the subscriber still gets every line published afterwards;
#   (wss:// and the https:// fallback: test_wss.sh)
. "$(dirname "$0")/lib.sh"
it_init
command -v curl >/dev/null || it_fail "curl is required"
it_relay_start
WS=ws://127.0.0.1:$HTTP_PORT

# ---- ws:// publish -> ws:// subscribe, and ws:// publish -> https:// subscribe ----------------
it_bg sub_ws "$MOQC_BIN" subscribe --url "$WS/anon" --broadcast b --track t --start-group 0 --wait 20s
it_bg sub_wt "${MOQC[@]}" subscribe --url "$(it_url anon)" --broadcast b --track t --start-group 0 --wait 20s
sleep 0.5
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "$MOQC_BIN" publish --url "$WS/anon" --broadcast b --track t --group-frames 5 --wait-subscriber
seq 1 50 | sed 's/^/line /' >"$IT_TMP/want1"
cat "$IT_TMP/want1" >&7

it_wait_lines "$IT_TMP/sub_ws.out" 50 20 || it_check_fail "ws:// subscriber got $(wc -l <"$IT_TMP/sub_ws.out") of 50 lines"
it_wait_lines "$IT_TMP/sub_wt.out" 50 20 || it_check_fail "https:// subscriber got $(wc -l <"$IT_TMP/sub_wt.out") of 50 lines"
# the relay's log names the transport of each session
grep -qE "session [0-9]+: moq-lite-0[345] over WebSocket, root '/anon'" "$IT_TMP/relay.err" ||
  it_check_fail "no session logged as over WebSocket"
grep -qE "session [0-9]+: moq-lite-0[345] over WebTransport, root '/anon'" "$IT_TMP/relay.err" ||
  it_check_fail "no session logged as over WebTransport"

# ---- bad input, each on its own connection, while both subscribers stay connected -----------
hs() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H 'Upgrade: websocket' -H 'Connection: Upgrade' "$@"; }
KEY='dGhlIHNhbXBsZSBub25jZQ=='
[ "$(hs -H 'Sec-WebSocket-Version: 12' -H "Sec-WebSocket-Key: $KEY" "http://127.0.0.1:$HTTP_PORT/anon")" = 400 ] ||
  it_check_fail "WebSocket version 12 not answered 400"
[ "$(hs -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: short' "http://127.0.0.1:$HTTP_PORT/anon")" = 400 ] ||
  it_check_fail "a bad Sec-WebSocket-Key not answered 400"
[ "$(hs -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" -H 'Sec-WebSocket-Protocol: chat, qmux-09.x' "http://127.0.0.1:$HTTP_PORT/anon")" = 400 ] ||
  it_check_fail "only unknown sub-protocols not answered 400"
# A valid handshake, then broken WebSocket framing (an unmasked client frame with a reserved
# opcode): the relay closes that connection.
exec 5<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf 'GET /anon HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: qmux-01.moq-lite-05\r\n\r\n' "$KEY" >&5
sleep 0.3
printf '\x83\x05hello' >&5
rc=0
timeout 5 cat <&5 >"$IT_TMP/garbage.out" 2>/dev/null || rc=$?
exec 5>&-
head -n 1 "$IT_TMP/garbage.out" | grep -q '^HTTP/1.1 101' || it_check_fail "valid handshake not answered 101"
[ "$rc" != 124 ] || it_check_fail "broken WebSocket framing did not close the connection"
# An oversized WebSocket message (> 64 KiB): Node's WebSocket, when there is one.
if command -v node >/dev/null 2>&1 && node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
  code=$(timeout 10 node --experimental-websocket -e '
    const ws = new WebSocket(process.argv[1], ["qmux-01.moq-lite-05"]);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(new Uint8Array(70000));
    ws.onclose = (e) => { console.log(e.code); process.exit(0); };
    setTimeout(() => { console.log("timeout"); process.exit(1); }, 8000);
  ' "$WS/anon" 2>/dev/null || true)
  # The relay's lingering close reads (and drops) the rest of the message, so the close frame
  # is not lost to a reset (which Node reports as 1006).
  [ "$code" = 1009 ] || it_check_fail "an oversized WebSocket message did not close the connection with 1009 (got '$code')"
else
  it_log "no Node WebSocket: oversized-message case skipped"
fi

# The subscribers still work: 50 more lines.
seq 51 100 | sed 's/^/line /' >"$IT_TMP/want2"
cat "$IT_TMP/want2" >&7
exec 7>&-
cat "$IT_TMP/want1" "$IT_TMP/want2" >"$IT_TMP/want"
it_wait pub 20 || it_check_fail "ws:// publisher exited non-zero"
it_wait sub_ws 20 || it_check_fail "ws:// subscriber exited non-zero"
it_wait sub_wt 20 || it_check_fail "https:// subscriber exited non-zero"
cmp -s "$IT_TMP/sub_ws.out" "$IT_TMP/want" || it_check_fail "ws:// subscriber output differs ($(wc -l <"$IT_TMP/sub_ws.out") lines)"
cmp -s "$IT_TMP/sub_wt.out" "$IT_TMP/want" || it_check_fail "https:// subscriber output differs ($(wc -l <"$IT_TMP/sub_wt.out") lines)"

it_relay_stop
it_done

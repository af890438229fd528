#!/usr/bin/env bash
# The HTTP listener's limits (docs/relay.md "Limits") and WebSocket MoQ sessions on it:
#   - a ws:// session is never the connection evicted when --http-max-conns is full
#     (it does not count against that cap; idle HTTP connections are evicted), and it
#     lives past --http-head-timeout: after both, a
#     ws:// publisher -> ws:// subscriber still delivers every line;
#   - --http-max-conns-per-addr counts ws:// sessions: with the cap held by a ws://
#     publisher, a ws:// subscriber and one idle connection, another ws:// subscriber from
#     the same address is refused (and counted in moqc_relay_http_limited_total), while the
#     sessions holding the cap keep working.
. "$(dirname "$0")/lib.sh"
it_init
command -v curl >/dev/null || it_fail "curl is required"

# ws_pair NAME: a ws:// subscriber and publisher (FIFO on fd 7) of broadcast NAME.
ws_pair() {
  local b=$1
  it_bg "sub_$b" "$MOQC_BIN" subscribe --url "$WS/anon" --broadcast "$b" --track t --start-group 0 --wait 30s
  sleep 0.5
  it_fifo "pub_$b" 7
  IT_STDIN=$IT_TMP/pub_$b.fifo it_bg "pub_$b" "$MOQC_BIN" publish --url "$WS/anon" --broadcast "$b" \
    --track t --group-frames 5 --wait-subscriber
  sleep 1 # both sessions set up
}

# finish_pair NAME FIRST LAST: publish lines FIRST..LAST, end, and check the subscriber got them.
finish_pair() {
  local b=$1
  seq "$2" "$3" | sed 's/^/line /' >"$IT_TMP/want_$b"
  cat "$IT_TMP/want_$b" >&7
  exec 7>&-
  it_wait "pub_$b" 20 || it_check_fail "$b: ws:// publisher exited non-zero"
  it_wait "sub_$b" 20 || it_check_fail "$b: ws:// subscriber exited non-zero"
  cmp -s "$IT_TMP/sub_$b.out" "$IT_TMP/want_$b" ||
    it_check_fail "$b: ws:// subscriber output differs ($(wc -l <"$IT_TMP/sub_$b.out") lines)"
}

# ---- eviction and the head deadline skip ws:// sessions ---------------------------------------
it_relay_start --http-max-conns 3 --http-max-conns-per-addr 0 --http-head-timeout 1s
WS=ws://127.0.0.1:$HTTP_PORT
ws_pair evict
# Five idle connections, each with a partial request head: the 4th and 5th find the listener
# full (3 HTTP connections; the 2 ws:// sessions do not count) and evict the one waiting
# longest for its request.
for fd in 3 4 5 6 8; do
  eval "exec $fd<>/dev/tcp/127.0.0.1/$HTTP_PORT" && printf 'GET / HTTP/1.1\r\n' >&$fd
  sleep 0.2
done
sleep 2.5 # past --http-head-timeout: the idle ones left are closed too
exec 3>&- 4>&- 5>&- 6>&- 8>&-
[ "$(it_metric moqc_relay_http_limited_total)" -ge 2 ] 2>/dev/null ||
  it_check_fail "no eviction counted (moqc_relay_http_limited_total $(it_metric moqc_relay_http_limited_total))"
finish_pair evict 1 40
it_relay_stop

# ---- the per-address cap counts ws:// sessions --------------------------------------------------
it_relay_start --http-max-conns-per-addr 3
WS=ws://127.0.0.1:$HTTP_PORT
ws_pair cap
exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT" # the 3rd connection from 127.0.0.1 (idle)
sleep 0.2
rc=0
timeout 15 "$MOQC_BIN" subscribe --url "$WS/anon" --broadcast cap --track t --wait 5s \
  >"$IT_TMP/over.out" 2>"$IT_TMP/over.err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] ||
  it_check_fail "a 4th connection from one address (ws://) was not refused (rc $rc: $(head -c 200 "$IT_TMP/over.err"))"
exec 3>&-
sleep 0.2
[ "$(it_metric moqc_relay_http_limited_total)" -ge 1 ] 2>/dev/null ||
  it_check_fail "the refused ws:// connection was not counted (moqc_relay_http_limited_total $(it_metric moqc_relay_http_limited_total))"
finish_pair cap 1 30

it_relay_stop
it_done

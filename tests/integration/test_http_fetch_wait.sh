#!/usr/bin/env bash
# GET /fetch of a track nobody watches waits for its group (deferred HTTP
# response) instead of answering 503: (a) the first request gets 200 with the
# published bytes; (b) a track that never gets data answers 504 after
# --fetch-timeout; (c) clients that leave mid-wait (timeout, SIGKILL) leave the
# relay serving and ASan-clean.
. "$(dirname "$0")/lib.sh"
it_init
command -v curl >/dev/null || it_fail "curl is required"
IT_RELAY_LOG=debug it_relay_start --fetch-timeout 3s

# it_fetch NAME PATH: curl in the background -> $IT_TMP/NAME.out = body, then
# a last line "status=NNN".
it_fetch() {
  it_bg "$1" curl -s --max-time 20 -w '\nstatus=%{http_code}' "http://127.0.0.1:$HTTP_PORT$2"
}
fetch_status() { sed -n 's/^status=//p' "$IT_TMP/$1.out"; }
fetch_body() { sed '$d' "$IT_TMP/$1.out"; }

# Publishers: "cold" reads its stdin only once the relay subscribed; "quiet"
# never writes anything.
it_fifo cold 7
IT_STDIN=$IT_TMP/cold.fifo it_bg pubcold "${MOQC[@]}" publish --url "$(it_url)" --broadcast cold \
  --wait-subscriber=30s
it_fifo quiet 8
IT_STDIN=$IT_TMP/quiet.fifo it_bg pubquiet "${MOQC[@]}" publish --url "moqt://127.0.0.1:$RELAY_PORT/" \
  --broadcast quiet
t=0
until it_http /announced | grep -q '^cold$' && it_http /announced | grep -q '^quiet$'; do
  t=$((t + 1)); [ $t -gt 200 ] && it_fail "broadcasts never announced: $(it_http /announced)"; sleep 0.05
done
[ "$(it_metric moqc_relay_upstream_tracks)" = 0 ] || it_fail "a track is already subscribed"
# The session log names each peer's real address (moqc_server_request.remote),
# over WebTransport and raw QUIC.
grep -qE "over WebTransport, root '/' from 127\.0\.0\.1:[1-9][0-9]*$" "$IT_TMP/relay.err" ||
  it_fail "no WebTransport peer address in the session log"
grep -qE "over QUIC, root '/' from 127\.0\.0\.1:[1-9][0-9]*$" "$IT_TMP/relay.err" ||
  it_fail "no raw QUIC peer address in the session log"

# (a) cold track: the line is queued in the FIFO, the publisher sends it once the
# relay subscribed for this request; the request itself gets it.
echo "line-1" >&7
it_fetch a /fetch/cold/data
it_wait a 20 || it_fail "curl (a) exited $?"
[ "$(fetch_status a)" = 200 ] || it_fail "cold /fetch: status $(fetch_status a), body '$(fetch_body a)'"
[ "$(fetch_body a)" = line-1 ] || it_fail "cold /fetch: body '$(fetch_body a)'"
# Now warm and cached: served at once.
[ "$(it_http /fetch/cold/data)" = line-1 ] || it_fail "warm /fetch: '$(it_http /fetch/cold/data)'"
# A group that does not exist yet: waits for it too.
it_fetch a2 '/fetch/cold/data?group=1'
sleep 0.3
echo "line-2" >&7
it_wait a2 20 || it_fail "curl (a2) exited $?"
[ "$(fetch_status a2)" = 200 ] && [ "$(fetch_body a2)" = line-2 ] ||
  it_fail "/fetch?group=1: status $(fetch_status a2), body '$(fetch_body a2)'"

# (b) a track that never gets data: 504 after --fetch-timeout (3 s), not before.
t0=$(date +%s%N)
it_fetch b /fetch/quiet/data
it_wait b 20 || it_fail "curl (b) exited $?"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(fetch_status b)" = 504 ] || it_fail "quiet /fetch: status $(fetch_status b), body '$(fetch_body b)'"
fetch_body b | grep -q 'timed out waiting for a group' || it_fail "quiet /fetch body: '$(fetch_body b)'"
[ "$ms" -ge 2900 ] || it_fail "quiet /fetch answered after $ms ms, before the 3 s timeout"

# (c) clients leaving mid-wait: one gives up (curl --max-time), one is killed,
# one waits for a group number far ahead; the relay notices each and goes on.
it_bg c1 curl -s --max-time 0.5 "http://127.0.0.1:$HTTP_PORT/fetch/quiet/data"
it_fetch c2 /fetch/quiet/data
it_bg c3 curl -s --max-time 1 "http://127.0.0.1:$HTTP_PORT/fetch/cold/data?group=50"
sleep 0.5
kill -KILL "$(it_pid c2)"
it_wait c1 10
it_wait c2 10
it_wait c3 10
t=0
until [ "$(grep -c 'the client left before the answer' "$IT_TMP/relay.err")" -ge 3 ]; do
  t=$((t + 1)); [ $t -gt 200 ] && it_fail "the relay did not notice the clients leaving"; sleep 0.05
done
kill -0 "$RELAY_PID" 2>/dev/null || it_fail "the relay died"
[ "$(it_http /health)" = ok ] || it_fail "/health after the clients left"
it_fetch d /fetch/cold/data?group=2
sleep 0.3
echo "line-3" >&7
it_wait d 20 || it_fail "curl (d) exited $?"
[ "$(fetch_status d)" = 200 ] && [ "$(fetch_body d)" = line-3 ] ||
  it_fail "/fetch after the clients left: status $(fetch_status d), body '$(fetch_body d)'"

# A request still waiting at shutdown is dropped cleanly (no leak, exit 0).
it_fetch e /fetch/quiet/data
t=0
until [ "$(it_http /metrics | sed -n 's/^moqc_relay_http_requests_total //p')" -gt 0 ] &&
  grep -q 'http GET /fetch/quiet/data$' "$IT_TMP/relay.err" && [ "$(grep -c 'http GET /fetch/quiet/data$' "$IT_TMP/relay.err")" -ge 4 ]; do
  t=$((t + 1)); [ $t -gt 200 ] && it_fail "request (e) never reached the relay"; sleep 0.05
done
it_relay_stop
it_wait e 10
exec 7>&- 8>&-
it_wait pubcold 20
it_wait pubquiet 20
it_clients_clean
echo "PASS $IT_NAME"

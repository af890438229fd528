#!/usr/bin/env bash
# The relay's HTTP endpoints over TCP (curl): /certificate.sha256, /health,
# /announced, /fetch, /metrics, CORS, errors.
. "$(dirname "$0")/lib.sh"
it_init
command -v curl >/dev/null || it_fail "curl is required"
it_relay_start --fetch-timeout 3s

# /certificate.sha256: the banner's fingerprint, lower-case hex, no newline (moq-relay).
body=$(it_http /certificate.sha256)
[ "$body" = "$FP" ] || it_fail "/certificate.sha256 = '$body', banner says '$FP'"
[ "$(it_http /certificate.sha256 | wc -c)" = 64 ] || it_fail "/certificate.sha256 is not 64 bytes"
[[ "$body" =~ ^[0-9a-f]{64}$ ]] || it_fail "/certificate.sha256 not lower-case hex"
it_http /certificate.sha256 -D "$IT_TMP/h.txt" -o /dev/null
grep -qi '^access-control-allow-origin: \*' "$IT_TMP/h.txt" || it_fail "no CORS header"

# /health
[ "$(it_http /health)" = ok ] || it_fail "/health"
[ "$(it_http /health | od -c | head -1 | awk '{print $4}')" = '\n' ] || it_fail "/health must end with a newline"

# 404 / 405
[ "$(it_http /nope -o /dev/null -w '%{http_code}')" = 404 ] || it_fail "unknown path not 404"
[ "$(it_http /health -X POST -o /dev/null -w '%{http_code}')" = 405 ] || it_fail "POST not 405"

# Nothing announced yet.
[ -z "$(it_http /announced)" ] || it_fail "/announced not empty at start"

# A publisher at /room (broadcast b) and one at the root (broadcast top/x).
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b --group-frames 2
it_fifo pub2 8
IT_STDIN=$IT_TMP/pub2.fifo it_bg pub2 "${MOQC[@]}" publish --url "$(it_url)" --broadcast top/x
t=0
until [ "$(it_http /announced | wc -l)" -ge 1 ] && it_http /announced | grep -q top/x; do
  t=$((t + 1)); [ $t -gt 200 ] && it_fail "/announced never listed both: $(it_http /announced)"; sleep 0.05
done
all=$(it_http /announced | sort)
[ "$all" = "$(printf 'room/b\ntop/x')" ] || it_fail "/announced = '$all'"
[ "$(it_http /announced/room)" = b ] || it_fail "/announced/room = '$(it_http /announced/room)'"
[ "$(it_http /announced/top)" = x ] || it_fail "/announced/top = '$(it_http /announced/top)'"
[ -z "$(it_http /announced/nothing)" ] || it_fail "/announced/nothing not empty"

# /fetch: keep a subscriber on the track so the relay caches it, then fetch.
it_bg sub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b
it_wait_metric moqc_relay_subscriptions 1 20 || it_fail "the subscriber never subscribed"
it_wait_metric moqc_relay_upstream_tracks 1 20 || it_fail "the relay never subscribed upstream"
# lite-05: the relay's first upstream subscription comes from the subscriber's
# TRACK request and is replaced by the one for its SUBSCRIBE; frames written in
# between are missed by a "latest" subscriber (reported; test_versions and
# test_fanout cover delivery). Let that settle: this test is about HTTP.
sleep 1
for i in 1 2 3 4 5 6; do echo "frame-$i" >&7; done
it_wait_lines "$IT_TMP/sub.out" 6 20 || it_fail "subscriber did not get 6 frames"
# Groups of 2 frames: 0 = frame-1,2; 1 = frame-3,4; 2 = frame-5,6 (latest).
[ "$(it_http /fetch/room/b/data)" = "frame-5frame-6" ] || it_fail "/fetch latest = '$(it_http /fetch/room/b/data)'"
[ "$(it_http '/fetch/room/b/data?group=1')" = "frame-3frame-4" ] || it_fail "/fetch group 1 = '$(it_http '/fetch/room/b/data?group=1')'"
[ "$(it_http '/fetch/room/b/data?group=latest')" = "frame-5frame-6" ] || it_fail "/fetch group=latest"
# A group that has not arrived: waits for it, 504 after --fetch-timeout (3 s).
[ "$(it_http '/fetch/room/b/data?group=999' -o /dev/null -w '%{http_code}')" = 504 ] || it_fail "future group not 504"
[ "$(it_http '/fetch/room/b/data?group=x' -o /dev/null -w '%{http_code}')" = 400 ] || it_fail "bad group not 400"
[ "$(it_http /fetch/room/none/data -o /dev/null -w '%{http_code}')" = 404 ] || it_fail "unknown broadcast not 404"
[ "$(it_http /fetch/data -o /dev/null -w '%{http_code}')" = 400 ] || it_fail "/fetch without broadcast not 400"
# A cold track (no subscriber at the relay): the first request subscribes and
# waits for the next group (test_http_fetch_wait covers this in depth).
it_bg cold curl -s --max-time 10 -w ' %{http_code}' "http://127.0.0.1:$HTTP_PORT/fetch/top/x/data"
it_wait_metric moqc_relay_upstream_tracks 2 20 || it_fail "cold /fetch did not subscribe"
sleep 0.3 # the upstream subscription reaches the publisher
echo "cold-1" >&8
it_wait cold 15 || it_fail "cold /fetch: curl exited $?"
[ "$(cat "$IT_TMP/cold.out")" = "cold-1 200" ] || it_fail "cold /fetch gave '$(cat "$IT_TMP/cold.out")'"

# /metrics: Prometheus text with the counters.
it_http /metrics >"$IT_TMP/metrics.txt"
for m in moqc_relay_connections moqc_relay_connections_total 'moqc_relay_sessions_total{version="moq-lite-05"}' \
  moqc_relay_subscriptions moqc_relay_bytes_in_total moqc_relay_frames_in_total \
  moqc_relay_groups_out_total moqc_relay_cache_bytes moqc_relay_broadcasts moqc_relay_http_requests_total \
  moqc_relay_datagrams_in_total moqc_relay_datagrams_out_total; do
  grep -qF "$m " "$IT_TMP/metrics.txt" || it_fail "/metrics lacks $m"
done
grep -q '^# TYPE moqc_relay_connections gauge' "$IT_TMP/metrics.txt" || it_fail "/metrics lacks TYPE lines"
[ "$(sed -n 's/^moqc_relay_connections //p' "$IT_TMP/metrics.txt")" = 3 ] || it_fail "expected 3 connections"
[ "$(sed -n 's/^moqc_relay_frames_in_total //p' "$IT_TMP/metrics.txt")" -ge 7 ] || it_fail "frames_in < 7"
[ "$(sed -n 's/^moqc_relay_broadcasts //p' "$IT_TMP/metrics.txt")" = 2 ] || it_fail "expected 2 broadcasts"

exec 7>&- 8>&-
it_wait pub 20 || it_fail "publisher exited $?"
it_wait pub2 20 || it_fail "publisher 2 exited $?"
it_wait sub 20 || it_fail "subscriber exited $?"
# the clients have exited; the relay takes their closes as they arrive
it_wait_metric_eq moqc_relay_connections 0 10 || it_fail "sessions left open: $(it_metric moqc_relay_connections)"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

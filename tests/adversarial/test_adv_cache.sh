#!/usr/bin/env bash
# Finding 1 (issue 17): the publisher does not decide how long the relay
# caches, and the cache is bounded by default. A publisher from ::1 asks for a
# one-hour cache window (TRACK_INFO max_latency) and sends 2 MB/s; the relay
# clamps the window to its --cache-duration (default 30 s; this test gives 2 s
# to stay short, every other limit is the default), so a group older than that
# is gone (404) and the cache holds about 2 s of the track. The default cache
# budget is set (1/8 of the RAM, at most 1 GiB), not unlimited.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start --cache-duration 2s
budget=$(it_metric moqc_relay_cache_budget_bytes)
it_log "default cache budget: $budget bytes"
[ -n "$budget" ] && [ "$budget" -gt 0 ] && [ "$budget" -le 1073741824 ] ||
  it_check_fail "default cache budget is '${budget:-?}' (expected 0 < budget <= 1 GiB)"

adv_pair pair 8
it_bg greedy "$ADV" greedy "moqt://[::1]:$RELAY_PORT/adv" b 3600000 100000 20 9
it_wait_for "$IT_TMP/greedy.out" '^group 5$' 10 || it_fail "the greedy publisher did not start"
# A cold /fetch makes the relay subscribe upstream (and cache).
code=$(it_http /fetch/adv/b/t -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || it_check_fail "GET /fetch/adv/b/t: $code"
sleep 0.5
seq=$(sed -n 's/^group //p' "$IT_TMP/greedy.out" | tail -1)
old=$((seq - 2))
code=$(it_http "/fetch/adv/b/t?group=$old" -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || it_check_fail "group $old (0.1 s old) not cached: $code"
sleep 4
code=$(it_http "/fetch/adv/b/t?group=$old" -o /dev/null -w '%{http_code}')
[ "$code" = 404 ] || it_check_fail "group $old is still served 4 s later ($code): the publisher's 1 h window was not clamped to 2 s"
bytes=$(it_metric moqc_relay_cache_bytes)
it_log "cache after 5 s of 2 MB/s with a 2 s window: $bytes bytes"
[ "${bytes:-0}" -gt 0 ] && [ "$bytes" -lt 8000000 ] ||
  it_check_fail "cache holds ${bytes:-?} bytes (2 s of 2 MB/s is 4 MB)"
it_wait greedy 20 || it_check_fail "greedy publisher exited $?"
adv_pair_check pair
adv_done

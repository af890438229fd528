#!/usr/bin/env bash
# Quota: cached bytes per root (--max-cache-per-root, default a quarter of
# --cache-budget; the budget is 8M here, so 2M per root). Tenant 'b' (without
# auth a tenant is the connection path) publishes small groups, kept warm by a
# /fetch; then tenant 'a' floods ~12 MB of 100 KB groups through the relay.
# The flood evicts only a's own groups (counted in /metrics as
# moqc_relay_cache_evicted_total{cause="root_cap"}), the cache stays within
# the budget, and b's early groups are still served to a late joiner
# (GET /fetch ...?group=N). Before per-root caps the one global LRU evicted
# the oldest groups of any tenant, b's first. A moqc_bench pair on the same
# relay loses nothing, within the control pair's p99 spread.
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --cache-budget 8M
adv_pair cache 10
it_bg bpub "$ADV" greedy "moqt://[::1]:$RELAY_PORT/b" b 60000 1000 5 14
it_wait_for "$IT_TMP/bpub.out" '^group 1$' 10 || it_fail "tenant b's publisher did not start"
code=$(it_http /fetch/b/b/t -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || it_check_fail "GET /fetch/b/b/t: $code"
sleep 1.5
first=$(sed -n 's/^group //p' "$IT_TMP/bpub.out" | tail -1)
first=$((first - 2))
code=$(it_http "/fetch/b/b/t?group=$first" -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || it_check_fail "b's group $first not cached before the flood: $code"

it_bg apub "$ADV" greedy "moqt://[::1]:$RELAY_PORT/a" b 60000 100000 20 6
it_wait_for "$IT_TMP/apub.out" '^group 3$' 10 || it_fail "tenant a's publisher did not start"
code=$(it_http /fetch/a/b/t -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || it_check_fail "GET /fetch/a/b/t: $code"
it_wait apub 30 || it_check_fail "tenant a's publisher exited $?"
bytes=$(it_metric moqc_relay_cache_bytes)
ev_root=$(it_metric 'moqc_relay_cache_evicted_total{cause="root_cap"}')
ev_budget=$(it_metric 'moqc_relay_cache_evicted_total{cause="budget"}')
it_log "after a's flood: cache $bytes bytes, evicted by the root cap $ev_root, by the budget $ev_budget"
[ "${ev_root:-0}" -gt 0 ] || it_check_fail "no group evicted by the per-root cap"
[ "${bytes:-0}" -le 8388608 ] || it_check_fail "cache over its 8M budget: $bytes"
for g in $first $((first + 1)); do
  code=$(it_http "/fetch/b/b/t?group=$g" -o /dev/null -w '%{http_code}')
  [ "$code" = 200 ] || it_check_fail "tenant b's group $g was evicted by a's flood: $code"
done
it_wait bpub 30 || it_check_fail "tenant b's publisher exited $?"
adv_pair_check cache
adv_done

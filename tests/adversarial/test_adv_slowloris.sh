#!/usr/bin/env bash
# Finding 2 (issue 17): 80 slow HTTP connections from one address (a request
# head trickled a byte every 200 ms, never finished) must not stop
# /certificate.sha256 for another client. The relay runs with its default
# limits: 16 connections per address (the rest are closed at once), a 5 s
# deadline for the whole head (trickling does not extend it), 1024 in all.
# Meanwhile a well-behaved MoQ pair keeps every frame and its latency.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start

adv_pair pair 8
it_bg slow "$ADV" slowhttp ::1 "$HTTP_PORT" 80 8
sleep 1
# Another client (127.0.0.1) during the attack: every request answered, fast.
for i in $(seq 1 12); do
  t0=$(date +%s%N)
  fp=$(curl -s --max-time 3 "http://127.0.0.1:$HTTP_PORT/certificate.sha256")
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$fp" = "$FP" ] || it_check_fail "GET /certificate.sha256 #$i during the attack failed (${ms} ms)"
  [ "$ms" -lt 2000 ] || it_check_fail "GET /certificate.sha256 #$i took ${ms} ms"
  sleep 0.5
done
it_wait slow 20 || it_check_fail "slowhttp exited $?"
read -r _ opened _ refused _ closed _ answered <"$IT_TMP/slow.out"
it_log "attacker: opened $opened, refused at once $refused, closed later $closed, answered $answered"
# 16 kept at most, the others closed at once; the kept ones closed by the head
# deadline (5 s), without an answer.
[ "$refused" -ge 64 ] || it_check_fail "only $refused of 80 slow connections refused (per-address cap 16)"
[ "$closed" -ge 1 ] && [ "$((refused + closed))" -ge 80 ] ||
  it_check_fail "slow connections still open after 8 s (refused $refused, closed $closed): no head deadline"
[ "$answered" = 0 ] || it_check_fail "$answered slow connections got an answer"
lim=$(it_metric moqc_relay_http_limited_total)
[ "${lim:-0}" -ge 64 ] || it_check_fail "moqc_relay_http_limited_total is ${lim:-?}"
adv_pair_check pair
[ "$(it_http /health)" = ok ] || it_check_fail "relay unhealthy after the attack"
adv_done

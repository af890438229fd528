#!/usr/bin/env bash
# Finding 6 (issue 17): a publisher of tiny one-frame groups from ::1
# (adv_client greedy: 100-byte groups, 3,000 per second, under the default
# --max-group-rate of 4,000 (test_adv_group_rate.sh: above it the publisher is
# refused), asking for a 20 s cache window) and a subscriber of that track. Before the fix, once the
# track's cache window was full every expired group shifted the whole cache
# array down (a memmove of the cache, 480 KB here, for each group): the
# relay's thread went to 100% and delivery stalled for seconds at a time while
# no session closed. Now the flood keeps being delivered: the subscriber's
# count of frames grows in every 3-second slice of the run (it never silently
# stalls) and it gets nearly every group; the well-behaved pair on the same
# relay keeps every group with its usual latency. Default relay flags.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start

SECS=${ADV_FLOOD_SECONDS:-40}
RATE=${ADV_FLOOD_RATE:-3000}
it_bg fsub "$MOQC_BIN" --tls-fingerprint "$FP" subscribe --url "moqt://[::1]:$RELAY_PORT/flood" \
  --broadcast b --track t --wait 30s
it_bg flood "$ADV" greedy "moqt://[::1]:$RELAY_PORT/flood" b 20000 100 "$RATE" "$SECS"
it_wait_for "$IT_TMP/flood.out" '^group 1000$' 20 || it_fail "the flood publisher did not start"
adv_pair pair $((SECS - 8))
# The subscriber's frame count, sampled every 3 s while the flood lasts.
prev=0 stalls=0 slices=0
for i in $(seq 1 $((SECS / 3 - 1))); do
  sleep 3
  n=$(wc -l <"$IT_TMP/fsub.out")
  slices=$((slices + 1))
  if [ "$n" -le "$prev" ]; then
    stalls=$((stalls + 1))
    it_log "flood: no frame delivered between $(((i - 1) * 3)) s and $((i * 3)) s ($n so far)"
  fi
  prev=$n
done
it_wait flood $((SECS + 30)) || it_check_fail "flood publisher exited $?"
sent=$(sed -n 's/^published \([0-9]*\) groups$/\1/p' "$IT_TMP/flood.out")
sleep 2
got=$(wc -l <"$IT_TMP/fsub.out")
it_log "flood: $sent groups published in $SECS s, $got delivered; $stalls of $slices 3-s slices without delivery"
[ "${sent:-0}" -ge $((SECS * 1000)) ] || it_check_fail "the flood published only ${sent:-0} groups"
[ "$stalls" = 0 ] || it_check_fail "flood: delivery stalled in $stalls slices of 3 s"
[ "$got" -ge $((sent * 9 / 10)) ] || it_check_fail "flood: $got of $sent groups delivered"
kill "$(it_pid fsub)" 2>/dev/null
adv_pair_check pair
[ "$(it_http /health)" = ok ] || it_check_fail "relay unhealthy"
adv_done

#!/usr/bin/env bash
# Quota: --max-tracks (tracks the relay subscribes to upstream from one
# session at once) and --max-streams. A publisher's session may carry one
# upstream track: a subscriber asking for a second track of that broadcast is
# refused with BoundsExceeded and counted in /metrics as cause="tracks", while
# the subscriber of the first track gets every line.
# A well-behaved moqc_bench pair on the same relay loses no group and keeps its
# p99 latency within the spread of a control pair on an unattacked relay
# (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --max-tracks 1 --log-level debug
adv_pair tracks 8

it_bg asub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b --count 20 --wait 20s
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b \
  --wait-subscriber
for i in 1 2 3 4 5 6 7 8 9 10; do echo "l$i" >&7; sleep 0.05; done
# a second track of the same broadcast: over the publisher session's cap
it_bg bsub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b --track other \
  --count 1 --wait 5s
it_wait bsub 20 && it_fail "a second upstream track was served"
it_wait_metric 'moqc_relay_quota_refused_total{cause="tracks"}' 1 10 ||
  it_fail "track refusal not counted: $(it_http /metrics | grep quota)"
for i in 11 12 13 14 15 16 17 18 19 20; do echo "l$i" >&7; sleep 0.05; done
it_wait asub 20 || it_fail "the first track's subscriber exited $?"
[ "$(cat "$IT_TMP/asub.out")" = "$(seq -f 'l%g' 1 20)" ] ||
  it_fail "the first track lost lines: $(tr '\n' ' ' <"$IT_TMP/asub.out")"
exec 7>&-
it_wait pub 15
adv_pair_check tracks
adv_done

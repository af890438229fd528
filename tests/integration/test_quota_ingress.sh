#!/usr/bin/env bash
# Quota: --max-ingress-rate / --ingress-burst. A publisher that pushes ~2 MB as
# fast as it can through a relay capped at 64 KiB/s (burst 128 KiB) per session
# is closed with BoundsExceeded ("ingress rate over quota") and counted in
# /metrics as cause="ingress_rate"; a second publisher on the same relay,
# streaming 30 small lines at a steady pace, loses none of them and its
# subscriber sees them at the pace they were written.
# A well-behaved moqc_bench pair on the same relay loses no group and keeps its
# p99 latency within the spread of a control pair on an unattacked relay
# (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --max-ingress-rate 64K --ingress-burst 128K --log-level debug
adv_pair ingress 8

# the good stream: subscriber first, then its publisher (steady, small)
it_bg gsub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast good --count 30 --wait 30s
it_fifo gp 7
IT_STDIN=$IT_TMP/gp.fifo it_bg gpub "${MOQC[@]}" publish --url "$(it_url room)" \
  --broadcast good --wait-subscriber

# the flood: a subscriber (so the relay pulls the data), then the publisher
it_bg fsub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast flood --wait 30s
head -c 2000000 /dev/zero | tr '\0' 'a' | fold -w 1000 >"$IT_TMP/flood.txt"
IT_STDIN=$IT_TMP/flood.txt it_bg fpub "${MOQC[@]}" publish --url "$(it_url room)" \
  --broadcast flood --wait-subscriber --drain 2s

start=$(date +%s%N)
for i in $(seq 1 30); do echo "g$i" >&7; sleep 0.1; done
it_wait gsub 20 || it_fail "the good subscriber exited $?"
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$(cat "$IT_TMP/gsub.out")" = "$(seq -f 'g%g' 1 30)" ] ||
  it_fail "the good stream lost lines: $(tr '\n' ' ' <"$IT_TMP/gsub.out")"
# 30 lines written over ~3 s; within 2 s more the subscriber had them all
[ "$took_ms" -lt 5000 ] || it_fail "the good stream took ${took_ms} ms for 3 s of lines"

it_wait fpub 20
it_wait_for "$IT_TMP/relay.err" "ingress rate over quota" 10 ||
  it_fail "the flooding session was not closed for its ingress rate"
grep -q "ingress rate over quota" "$IT_TMP/fpub.err" || it_log "flood publisher: $(tail -2 "$IT_TMP/fpub.err")"
it_wait_metric 'moqc_relay_quota_refused_total{cause="ingress_rate"}' 1 10 ||
  it_fail "ingress refusal not counted: $(it_http /metrics | grep quota)"
[ "$(it_metric 'moqc_relay_quota_refused_total{cause="ingress_rate"}')" = 1 ] ||
  it_fail "more than one session was closed for its ingress rate"
exec 7>&-
it_wait gpub 15
kill -INT "$(it_pid fsub)" 2>/dev/null
it_wait fsub 10
adv_pair_check ingress
adv_done

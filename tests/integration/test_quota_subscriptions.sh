#!/usr/bin/env bash
# Quota: --max-subscriptions (peer SUBSCRIBE / FETCH / TRACK requests served per
# session at once; shortened to 8 here, the default is 256, to stay fast). A
# hostile subscriber (adv_client subtracks, from ::1) asks for 12 tracks of one
# broadcast in one session: the requests over the cap are refused with
# BoundsExceeded (the client sees its tracks end with code 11) and counted in
# /metrics as cause="subscriptions"; its first 8 tracks are served. A
# well-behaved pub/sub pair on the same relay loses no group and keeps its p99
# latency within the spread of a control pair on an unattacked relay
# (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --max-subscriptions 8
adv_pair subs 8
it_bg hpub "$ADV" pubtracks "moqt://[::1]:$RELAY_PORT/evil" b 12 14
sleep 1
it_bg hsub "$ADV" subtracks "moqt://[::1]:$RELAY_PORT/evil" b 12 5
it_wait hsub 30 || it_check_fail "hostile subscriber exited $?: $(cat "$IT_TMP/hsub.err")"
res=$(cat "$IT_TMP/hsub.out")
it_log "hostile subscriber: $res"
read -r _ ok _ refused _ other _ closed <<<"$res"
[ "${refused:-0}" -ge 4 ] || it_check_fail "expected >= 4 of 12 tracks refused with BoundsExceeded: $res"
[ "${ok:-0}" -ge 1 ] && [ $((ok + refused)) = 12 ] || it_check_fail "tracks under the cap not served: $res"
[ "$closed" = 0 ] || it_check_fail "the hostile session was closed: a request-level refusal exists"
n=$(it_metric 'moqc_relay_quota_refused_total{cause="subscriptions"}')
[ "${n:-0}" -ge "$refused" ] || it_check_fail "refusals not counted: cause=subscriptions is '${n:-?}'"
adv_pair_check subs
it_wait hpub 30
adv_done

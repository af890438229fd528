#!/usr/bin/env bash
# Quota: --max-streams (streams a peer may have open in one session at once;
# shortened to 10 here, the default is 1024, to stay fast). A hostile
# subscriber (adv_client subtracks, from ::1) opens a stream per track request
# for 24 tracks of one broadcast in one session: streams over the cap are reset
# with BoundsExceeded (the client sees those tracks end with code 11), counted
# in /metrics as cause="streams"; the session stays up and the tracks under the
# cap are served. A well-behaved pub/sub pair on the same relay loses no group
# and keeps its p99 latency within the spread of a control pair on an
# unattacked relay (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --max-streams 10
adv_pair streams 8
it_bg hpub "$ADV" pubtracks "moqt://[::1]:$RELAY_PORT/evil" b 24 14
sleep 1
it_bg hsub "$ADV" subtracks "moqt://[::1]:$RELAY_PORT/evil" b 24 5
it_wait hsub 30 || it_check_fail "hostile subscriber exited $?: $(cat "$IT_TMP/hsub.err")"
res=$(cat "$IT_TMP/hsub.out")
it_log "hostile subscriber: $res"
read -r _ ok _ refused _ other _ closed <<<"$res"
[ "${refused:-0}" -ge 1 ] || it_check_fail "expected tracks refused with BoundsExceeded: $res"
[ "${ok:-0}" -ge 1 ] || it_check_fail "no track under the cap was served: $res"
[ "$closed" = 0 ] || it_check_fail "the hostile session was closed: a stream-level refusal exists"
n=$(it_metric 'moqc_relay_quota_refused_total{cause="streams"}')
[ "${n:-0}" -ge 1 ] || it_check_fail "refusals not counted: cause=streams is '${n:-?}'"
adv_pair_check streams
it_wait hpub 30
adv_done

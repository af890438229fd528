#!/usr/bin/env bash
# Quota: --max-announce-prefixes (announce-prefix subscriptions, moq-lite
# ANNOUNCE_PLEASE streams, served per session at once; the default 64). A
# hostile client (adv_client prefixes: raw moq-lite-03, from ::1; the library
# opens one such stream per session) opens 80 in one session: the 16 over the
# cap are reset with BoundsExceeded, counted in /metrics as
# cause="announce_prefixes", and the session stays up. A well-behaved pub/sub
# pair on the same relay loses no group and keeps its p99 latency within the
# spread of a control pair on an unattacked relay (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start
adv_pair pfx 8
it_bg hostile "$ADV" prefixes ::1 "$RELAY_PORT" 80 4
it_wait hostile 30 || it_check_fail "hostile client exited $?: $(cat "$IT_TMP/hostile.err")"
res=$(cat "$IT_TMP/hostile.out")
it_log "hostile client: $res"
[ "$res" = "opened 80 refused 16 closed 0" ] || it_check_fail "expected 16 of 80 refused, session up: $res"
n=$(it_metric 'moqc_relay_quota_refused_total{cause="announce_prefixes"}')
[ "${n:-0}" = 16 ] || it_check_fail "refusals not counted: cause=announce_prefixes is '${n:-?}'"
adv_pair_check pfx
adv_done

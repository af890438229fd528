#!/usr/bin/env bash
# Quota: --max-broadcasts (per publishing session; shortened to 16 here, the
# default is 4096) and --max-broadcasts-per-root (per tenant; 24 here, default
# 16384). moq-lite has no refusal for one announcement, so a publisher over a
# cap is closed with BoundsExceeded (11) and the cause as the reason; the
# refusal is counted in /metrics (cause="broadcasts" / "broadcasts_per_root").
# 1. one session announces 20 broadcasts on /evil: closed, "too many
#    broadcasts announced in this session".
# 2. on /evil2 (one tenant without auth: the connection path) a first session
#    announces 14 and keeps them; a second announcing 14 more is closed at the
#    root's 24th, "too many broadcasts for this root"; the first stays up.
# A well-behaved pub/sub pair on the same relay loses no group and keeps its
# p99 within the control pair's spread (tests/adversarial/lib.sh).
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
adv_relay_start --max-broadcasts 16 --max-broadcasts-per-root 24
adv_pair bcasts 8
url="moqt://[::1]:$RELAY_PORT"
it_bg h1 "$ADV" announce "$url/evil" 20 3
it_wait h1 20 || it_check_fail "h1 exited $?"
res=$(cat "$IT_TMP/h1.out")
it_log "session over --max-broadcasts: $res"
case $res in
  "announced 20 closed 1 code 11 reason too many broadcasts announced in this session") ;;
  *) it_check_fail "h1 not refused with BoundsExceeded: $res" ;;
esac
n=$(it_metric 'moqc_relay_quota_refused_total{cause="broadcasts"}')
[ "${n:-0}" -ge 1 ] || it_check_fail "refusal not counted: cause=broadcasts is '${n:-?}'"

it_bg h2 "$ADV" announce "$url/evil2" 14 6
sleep 1.5
it_bg h3 "$ADV" announce "$url/evil2" 14 3
it_wait h3 20 || it_check_fail "h3 exited $?"
res=$(cat "$IT_TMP/h3.out")
it_log "second session of the root: $res"
case $res in
  "announced 14 closed 1 code 11 reason too many broadcasts for this root") ;;
  *) it_check_fail "h3 not refused by the root cap: $res" ;;
esac
it_wait h2 20 || it_check_fail "h2 exited $?"
res=$(cat "$IT_TMP/h2.out")
[ "$res" = "announced 14 closed 0 code 0 reason -" ] || it_check_fail "h2 (within the caps) was closed: $res"
n=$(it_metric 'moqc_relay_quota_refused_total{cause="broadcasts_per_root"}')
[ "${n:-0}" -ge 1 ] || it_check_fail "refusal not counted: cause=broadcasts_per_root is '${n:-?}'"
adv_pair_check bcasts
adv_done

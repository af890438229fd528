#!/usr/bin/env bash
# Finding 6 (issue 17): a per-session group-rate cap. A publisher from ::1
# (adv_client greedy) floods 100-byte one-frame groups as fast as it can
# (asking for 20,000 per second; a sanitizer build reaches 2,000-7,000), over
# moq-lite and then over IETF moqt-16, with a (moq-lite) subscriber on its
# track so the relay takes the groups. Without a cap the flood was delivered
# (and cost a core and ~1 KB of heap per group). Now --max-group-rate closes
# the publisher: BoundsExceeded (11) on moq-lite, TOO_MANY_REQUESTS (0x7) on
# IETF, reason "group rate over quota", log lines naming the flag and the code in
# its session's registry ("code 11 (BoundsExceeded)", "code 0x7 (TOO_MANY_REQUESTS)"), and
# moqc_relay_quota_refused_total{cause="group_rate"}. The well-behaved pair
# (50 groups/s) on the same relay keeps every group. The test lowers
# --max-group-rate from its default 4,000 to 1,000 (bucket 1,000): the
# sanitizer-built flooder cannot outrun 4,000 reliably on a loaded machine.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start --max-group-rate "${ADV_GROUP_RATE:-1000}" # ADV_GROUP_RATE=0: no cap (fails)
adv_pair pair 16
n=0
for v in moq-lite-05 moqt-16; do
  n=$((n + 1))
  want=11
  [ "$v" = moqt-16 ] && want=7
  it_bg "sub$n" "$MOQC_BIN" --tls-fingerprint "$FP" subscribe \
    --url "moqt://[::1]:$RELAY_PORT/flood" --broadcast "b$n" --track t --wait 30s
  ADV_VERSION=$v it_bg "flood$n" "$ADV" greedy "moqt://[::1]:$RELAY_PORT/flood" "b$n" 5000 100 \
    20000 4
  it_wait "flood$n" 40
  sent=$(sed -n 's/^published \([0-9]*\) groups$/\1/p' "$IT_TMP/flood$n.out")
  closed=$(sed -n 's/^adv_client greedy: session closed: //p' "$IT_TMP/flood$n.err" | head -1)
  got=$(wc -l <"$IT_TMP/sub$n.out")
  it_log "$v: flood published ${sent:-?} groups, subscriber got $got; closed: ${closed:-no}"
  case "$closed" in
  "$want group rate over quota") ;;
  *) it_check_fail "$v: the flooding publisher was not closed with $want 'group rate over quota' (${closed:-not closed})" ;;
  esac
  # Its session ended within a few seconds: far fewer groups got through than
  # it wrote in 4 s.
  [ "$got" -le 8000 ] || it_check_fail "$v: $got flood groups delivered (the cap is 1,000/s)"
  kill "$(it_pid "sub$n")" 2>/dev/null
done
refused=$(it_metric 'moqc_relay_quota_refused_total{cause="group_rate"}')
[ "${refused:-0}" -ge 2 ] || it_check_fail "group_rate refusals counted: ${refused:-none} (expected 2)"
grep -q 'started groups faster than --max-group-rate (1000/s)' "$IT_TMP/relay.err" ||
  it_check_fail "no log line naming --max-group-rate"
# The close named in each session's registry: moq-lite 11 BoundsExceeded, IETF 0x7.
grep -q 'closed by relay: code 11 (BoundsExceeded): group rate over quota' "$IT_TMP/relay.err" ||
  it_check_fail "no log line naming moq-lite's BoundsExceeded (11)"
grep -q 'closed by relay: code 0x7 (TOO_MANY_REQUESTS): group rate over quota' "$IT_TMP/relay.err" ||
  it_check_fail "no log line naming IETF's TOO_MANY_REQUESTS (0x7)"
adv_pair_check pair
[ "$(it_http /health)" = ok ] || it_check_fail "relay unhealthy"
adv_done

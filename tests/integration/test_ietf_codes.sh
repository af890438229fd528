#!/usr/bin/env bash
# IETF error codes on the relay (issue 12): a raw moqt-16 client whose control
# message is cut short inside its declared length is closed with the draft's
# PROTOCOL_VIOLATION (0x3), and the relay's log names the code in the
# session's registry, "code 0x3 (PROTOCOL_VIOLATION)" (named as a moq-lite
# code, 3 read "Timeout"); /metrics counts it with the session's version.
# A moq-lite session keeps moq-lite's numbers and names (test_publisher_restart
# greps "code N (Timeout)").
. "$(dirname "$0")/lib.sh"
it_init
ADV=$IT_BUILD/tests/adv_client
[ -x "$ADV" ] || it_fail "missing $ADV (build the tests)"
it_relay_start

it_bg junk "$ADV" ietfjunk 127.0.0.1 "$RELAY_PORT"
it_wait junk 20 || it_fail "adv_client ietfjunk exited $?: $(cat "$IT_TMP/junk.err")"
closed=$(cat "$IT_TMP/junk.out")
it_log "the raw moqt-16 client: $closed"
case "$closed" in
"closed 3 "*) ;;
*) it_fail "the client was not closed with PROTOCOL_VIOLATION (0x3): ${closed:-nothing}" ;;
esac
it_wait_for "$IT_TMP/relay.err" "closed by relay: code 0x3 \(PROTOCOL_VIOLATION\)" 10 ||
  it_fail "no relay log line naming 0x3 PROTOCOL_VIOLATION: $(grep 'closed by' "$IT_TMP/relay.err")"
if grep -q "closed by relay: code 3 (Timeout)" "$IT_TMP/relay.err"; then
  it_fail "the IETF close was named as a moq-lite code"
fi
n=$(it_metric 'moqc_relay_session_errors_total{code="3",name="PROTOCOL_VIOLATION",version="16"}')
[ "${n:-0}" = 1 ] || it_fail "session_errors_total for 0x3 on moqt-16: ${n:-none}"

kill -0 "$RELAY_PID" || it_fail "relay died"
it_relay_stop
echo "PASS $IT_NAME"

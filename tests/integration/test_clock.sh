#!/usr/bin/env bash
# moqc clock publish | subscribe (moq-dev clock example wire format): the
# subscriber prints "YYYY-MM-DD HH:MM:SS" lines; SIGINT ends the publisher
# cleanly (exit 0) and the subscriber keeps waiting for the clock to return.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

it_bg cpub "${MOQC[@]}" clock publish --url "$(it_url anon)" --broadcast clock
it_bg csub "${MOQC[@]}" clock subscribe --url "$(it_url anon)" --broadcast clock --count 3
it_wait csub 20 || it_fail "clock subscriber exited $?"
[ "$(wc -l <"$IT_TMP/csub.out")" = 3 ] || it_fail "expected 3 lines, got: $(cat "$IT_TMP/csub.out")"
grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' "$IT_TMP/csub.out" &&
  it_fail "bad clock lines: $(cat "$IT_TMP/csub.out")"
# Consecutive seconds, close to now (UTC).
first=$(head -1 "$IT_TMP/csub.out")
now=$(date -u +%s)
t=$(date -u -d "$first" +%s) || it_fail "unparsable time '$first'"
[ $((now - t)) -le 10 ] && [ $((t - now)) -le 2 ] || it_fail "clock is off: '$first' vs now"
prev=""
while read -r l; do
  s=$(date -u -d "$l" +%s)
  [ -z "$prev" ] || [ $((s - prev)) = 1 ] || it_fail "not one second apart: $(cat "$IT_TMP/csub.out")"
  prev=$s
done <"$IT_TMP/csub.out"

# /fetch of the clock's current group: the "YYYY-MM-DD HH:MM:" prefix then SS
# frames. Nobody subscribes now, so the first request warms the relay up (503).
i=0
until [[ "$(it_http /fetch/anon/clock/seconds)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:([0-9]{2})+$ ]]; do
  i=$((i + 1))
  [ $i -gt 100 ] && it_fail "/fetch of the clock: '$(it_http /fetch/anon/clock/seconds)'"
  sleep 0.05
done

kill -INT "$(it_pid cpub)"
it_wait cpub 10 || it_fail "clock publisher exited $? after SIGINT"
it_wait_for "$IT_TMP/relay.err" "broadcast ended 'anon/clock'" 10 || it_fail "the clock broadcast did not end cleanly"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

#!/usr/bin/env bash
# A publisher through the relay to 1, 10 and 100 subscribers, checked byte for
# byte. Subscribers connect (and wait for the announcement) before the
# publisher exists; the publisher reads stdin once the relay subscribed.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

# Lines of varied size and content (empty lines, tabs, UTF-8, a 20 KB line).
gen_data() {
  awk -v n="$1" 'BEGIN {
    for (i = 1; i <= n; i++) {
      if (i % 97 == 0) { print ""; continue }
      if (i % 211 == 0) { s = ""; for (k = 0; k < 2000; k++) s = s "0123456789"; print s; continue }
      printf "line %d\tgrüße %s\n", i, substr("abcdefghijklmnopqrstuvwxyz", 1, i % 26)
    }
  }'
}

# run_case N_SUBSCRIBERS LINES GROUP_FRAMES
run_case() {
  local n=$1 lines=$2 gf=$3 room="fan$1" i rc
  gen_data "$lines" >"$IT_TMP/data$n.txt"
  local base
  base=$(it_sessions_total)
  for i in $(seq 1 "$n"); do
    it_bg "sub$n-$i" "${MOQC[@]}" subscribe --url "$(it_url "$room")" --broadcast b \
      --start-group 0 --wait 60s --count "$lines" --reorder 10s
  done
  # Every subscriber is connected (and waiting for the announcement).
  it_wait_sessions_total $((base + n)) 60
  it_log "$n subscriber(s) connected; publishing $lines lines, $gf frame(s) per group"
  # (--reorder 10s: with 100 sanitizer-built clients on two cores a group can
  # arrive seconds late; late is fine, lost or reordered output is not.)
  # The publisher stays live (stdin open) until every subscriber has every line:
  # one subscriber's SUBSCRIBE may reach the relay well after the first one's
  # (through loss, or on a loaded machine), and it must find the broadcast live.
  it_fifo "pub$n" 6
  IT_STDIN=$IT_TMP/pub$n.fifo it_bg "pub$n" "${MOQC[@]}" publish --url "$(it_url "$room")" \
    --broadcast b --group-frames "$gf" --wait-subscriber
  (cat "$IT_TMP/data$n.txt" >&6) &
  local writer=$!
  local bad=0
  for i in $(seq 1 "$n"); do
    it_wait "sub$n-$i" 60
    rc=$?
    if [ "$rc" != 0 ]; then
      bad=$((bad + 1))
      [ "$bad" -le 3 ] && it_check_fail "$n subscribers: subscriber $i exited $rc"
    elif ! cmp -s "$IT_TMP/data$n.txt" "$IT_TMP/sub$n-$i.out"; then
      bad=$((bad + 1))
      [ "$bad" -le 3 ] && it_check_fail "$n subscribers: subscriber $i output differs ($(wc -l <"$IT_TMP/sub$n-$i.out") of $lines lines)"
    fi
  done
  kill "$writer" 2>/dev/null
  wait "$writer" 2>/dev/null
  exec 6>&- # EOF: the publisher finishes the track and exits
  it_wait "pub$n" 30
  rc=$?
  [ "$rc" = 0 ] || it_check_fail "publisher ($n subscribers) exited $rc"
  if [ "$bad" = 0 ]; then
    it_log "$n subscriber(s): all $lines lines identical"
  else
    it_check_fail "$n subscribers: $bad of $n subscribers did not get every line"
    it_http /metrics | grep -E '^moqc_relay_(frames|groups|subscriptions)' | sed 's/^/    /' >&2
  fi
}

run_case 1 1000 1
run_case 10 600 5
# Through the lossy forwarder (IT_LOSSY=1) the 100-subscriber case is left out:
# 100 sanitizer-built client processes handshaking through 5% loss on two
# cores do not all connect within the test's bounded wait (measured: 36 of 113
# in 60 s); 1 and 10 subscribers exercise the same relay paths under loss.
[ "${IT_LOSSY:-0}" = 1 ] || run_case 100 300 10

it_clients_clean
it_relay_stop
it_done

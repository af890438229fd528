#!/usr/bin/env bash
# How `moqc publish` ends. Every publisher runs with --drain 30s, and each case
# bounds how long it may take, so a publisher that waits out its drain fails:
#   1. the only subscriber leaves in the middle of a group (--group-frames 5,
#      subscriber --count 2): at EOF nobody can receive the rest, so the
#      publisher exits 0 promptly (not after 30 s) and unannounces cleanly;
#   2. the subscriber leaves, then more lines (new groups) come: same;
#   3. one of two subscribers leaves: the one still subscribed gets every line
#      and the clean end of the track, the publisher exits 0;
#   4. nobody has subscribed yet at EOF: the publisher still waits (bounded by
#      --drain), so a subscriber joining later with --start-group 0 gets every
#      line from its cache, then the publisher exits 0;
#   5. --wait-subscriber=2s and nobody subscribes: exit 1 with a clear message
#      after about 2 s (not a hang), the broadcast unannounced cleanly (an
#      announcement watcher sees +b then -b, well before the relay's linger).
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start --linger 20s

# pub_exit_within NAME SECONDS T0: NAME must exit 0 within SECONDS; sets ms
# (since T0, date +%s%N).
pub_exit_within() {
  local name=$1 secs=$2 t0=$3 rc
  it_wait "$name" "$secs"
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$rc" != 124 ] || it_fail "$name still running ${secs} s later (waited out --drain 30s?)"
  [ "$rc" = 0 ] || it_fail "$name exited $rc: $(cat "$IT_TMP/$name.err")"
}

# ---- 1. the subscriber leaves mid-group ----
it_bg s1 "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b1 --count 2 --wait 30s
it_fifo p1 7
IT_STDIN=$IT_TMP/p1.fifo it_bg p1 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b1 \
  --wait-subscriber --group-frames 5 --drain 30s --log-level info
for i in 1 2 3; do echo "one $i" >&7; done
it_wait s1 20 || it_fail "subscriber s1 exited $?"
[ "$(cat "$IT_TMP/s1.out")" = "$(printf 'one 1\none 2')" ] || it_fail "s1 printed: $(cat "$IT_TMP/s1.out")"
sleep 0.5 # the relay cancels its subscription
t0=$(date +%s%N)
exec 7>&-
pub_exit_within p1 10 "$t0"
it_log "1: publisher exited ${ms} ms after EOF (subscriber gone mid-group)"
grep -q "nobody is subscribed any more" "$IT_TMP/p1.err" || it_fail "p1: no log of why it ended"
for i in $(seq 1 40); do [ -z "$(it_http /announced)" ] && break; sleep 0.05; done
[ -z "$(it_http /announced)" ] || it_fail "1: broadcast still announced: $(it_http /announced)"

# ---- 2. the subscriber leaves, then new groups ----
it_bg s2 "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b2 --count 2 --wait 30s
it_fifo p2 7
IT_STDIN=$IT_TMP/p2.fifo it_bg p2 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b2 \
  --wait-subscriber --drain 30s
for i in 1 2; do echo "two $i" >&7; done
it_wait s2 20 || it_fail "subscriber s2 exited $?"
sleep 0.5
for i in 3 4 5 6; do echo "two $i" >&7; done
t0=$(date +%s%N)
exec 7>&-
pub_exit_within p2 10 "$t0"
it_log "2: publisher exited ${ms} ms after EOF (subscriber gone, 4 groups never sent)"

# ---- 3. one of two subscribers leaves; the other gets everything ----
n=$(it_sessions_total)
it_bg s3a "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b3 --count 2 --wait 30s
it_bg s3b "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b3 --wait 30s
it_wait_sessions_total $((n + 2)) 20
it_fifo p3 7
IT_STDIN=$IT_TMP/p3.fifo it_bg p3 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b3 \
  --wait-subscriber --group-frames 3 --drain 30s
: >"$IT_TMP/data3.txt"
for i in 1 2; do echo "three $i" | tee -a "$IT_TMP/data3.txt" >&7; done
it_wait_lines "$IT_TMP/s3b.out" 2 20 || it_fail "3: s3b got $(wc -l <"$IT_TMP/s3b.out") of 2 lines"
it_wait s3a 20 || it_fail "subscriber s3a exited $?"
sleep 0.5
for i in $(seq 3 10); do echo "three $i" | tee -a "$IT_TMP/data3.txt" >&7; done
t0=$(date +%s%N)
exec 7>&-
it_wait s3b 20 || it_fail "3: the remaining subscriber exited $?: $(cat "$IT_TMP/s3b.err")"
cmp -s "$IT_TMP/data3.txt" "$IT_TMP/s3b.out" ||
  it_fail "3: the remaining subscriber got: $(tr '\n' '|' <"$IT_TMP/s3b.out")"
pub_exit_within p3 10 "$t0"
it_log "3: remaining subscriber got all 10 lines; publisher exited ${ms} ms after EOF"

# ---- 4. nobody subscribed yet at EOF: the publisher waits for one ----
seq -f 'four %g' 1 5 >"$IT_TMP/data4.txt"
IT_STDIN=$IT_TMP/data4.txt it_bg p4 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b4 \
  --drain 30s --log-level info
it_wait_for "$IT_TMP/p4.err" "end of input" 20 || it_fail "4: publisher did not read its input"
sleep 1.5
kill -0 "$(it_pid p4)" 2>/dev/null || it_fail "4: publisher ended before anyone subscribed: $(cat "$IT_TMP/p4.err")"
t0=$(date +%s%N)
it_bg s4 "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b4 --start-group 0 --wait 30s
it_wait s4 20 || it_fail "4: late subscriber exited $?: $(cat "$IT_TMP/s4.err")"
cmp -s "$IT_TMP/data4.txt" "$IT_TMP/s4.out" || it_fail "4: late subscriber got: $(tr '\n' '|' <"$IT_TMP/s4.out")"
pub_exit_within p4 10 "$t0"
it_log "4: a subscriber 1.5 s after EOF got all 5 lines; publisher exited ${ms} ms after it came"

# ---- 5. --wait-subscriber=2s, nobody subscribes ----
n=$(it_sessions_total)
it_bg ann "${MOQC[@]}" announced --url "$(it_url room)" --prefix b5 --count 2
it_wait_sessions_total $((n + 1)) 20
it_fifo p5 7
echo "never read" >&7
t0=$(date +%s%N)
IT_STDIN=$IT_TMP/p5.fifo it_bg p5 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b5 \
  --wait-subscriber=2s --drain 30s
it_wait p5 15
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
exec 7>&-
[ "$rc" != 124 ] || it_fail "5: publisher still waiting for a subscriber after 15 s"
[ "$rc" = 1 ] || it_fail "5: publisher exited $rc, wanted 1: $(cat "$IT_TMP/p5.err")"
[ "$ms" -ge 2000 ] || it_fail "5: publisher gave up after $ms ms, before its 2 s"
grep -q "^moqc: nobody subscribed to track 'data' of 'b5' within 2000 ms (--wait-subscriber)$" \
  "$IT_TMP/p5.err" || it_fail "5: unclear message: $(cat "$IT_TMP/p5.err")"
it_wait ann 10 || it_fail "5: the watcher did not see the broadcast come and go (exit $?): $(cat "$IT_TMP/ann.out")"
[ "$(cat "$IT_TMP/ann.out")" = "$(printf '+b5\n-b5')" ] || it_fail "5: announced printed: $(cat "$IT_TMP/ann.out")"
it_log "5: --wait-subscriber=2s gave up after ${ms} ms with exit 1; broadcast unannounced"

it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

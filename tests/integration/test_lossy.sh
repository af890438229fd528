#!/usr/bin/env bash
# Delivery through a UDP forwarder that drops 5% of the datagrams and reorders
# 5% (in both directions, seeded PRNG): the publisher and the subscribers each
# go through their own lossy forwarder; every frame must still arrive, byte for
# byte, for each moq-lite version.
. "$(dirname "$0")/lib.sh"
it_init
FWD=$(it_helper udpfwd) || it_fail "cannot build udpfwd"
it_relay_start

# lossy NAME SEED -> port in FWD_PORT
lossy() {
  it_bg "$1" "$FWD" --to "127.0.0.1:$RELAY_PORT" --drop "${IT_DROP:-0.05}" \
    --reorder "${IT_REORDER:-0.05}" --seed "$2" --max-seconds 240
  it_wait_for "$IT_TMP/$1.out" '^port ' 10 || it_fail "udpfwd $1 did not start"
  FWD_PORT=$(sed -n 's/^port //p' "$IT_TMP/$1.out")
}
lossy fwd_pub 11
PUB_PORT=$FWD_PORT
lossy fwd_sub 22
SUB_PORT=$FWD_PORT

awk 'BEGIN { for (i = 1; i <= 400; i++) { s = sprintf("lossy %d ", i); while (length(s) < 100 + (i * 37) % 1400) s = s "x"; print s } }' \
  >"$IT_TMP/data.txt"

for v in ${IT_VERSIONS:-moq-lite-03 moq-lite-04 moq-lite-05}; do
  room="lossy-$v"
  base=$(it_sessions_total)
  for s in 1 2 3; do
    it_bg "sub-$v-$s" "${MOQC[@]}" subscribe --url "https://127.0.0.1:$SUB_PORT/$room" --broadcast b \
      --version "$v" --start-group 0 --wait 60s --reorder 5s --count 400
  done
  it_wait_sessions_total $((base + 3)) 60 # handshakes through loss can take a while
  # The publisher's stdin stays open until every subscriber has all 400 lines:
  # through 5% loss a subscriber's announcement or SUBSCRIBE can arrive well
  # after the first one, and it must still find the broadcast live (a finished
  # broadcast is gone; live data is not history).
  it_fifo "pub-$v" 6
  IT_STDIN=$IT_TMP/pub-$v.fifo it_bg "pub-$v" "${MOQC[@]}" publish \
    --url "https://127.0.0.1:$PUB_PORT/$room" --broadcast b --version "$v" --group-frames 5 \
    --wait-subscriber --drain 30s
  (cat "$IT_TMP/data.txt" >&6) &
  writer=$!
  ok=1
  for s in 1 2 3; do
    it_wait "sub-$v-$s" 90
    rc=$?
    if [ "$rc" != 0 ]; then
      it_check_fail "$v: subscriber $s exited $rc"; ok=0
    elif ! cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub-$v-$s.out"; then
      it_check_fail "$v: subscriber $s output differs ($(wc -l <"$IT_TMP/sub-$v-$s.out") of 400 lines)"; ok=0
    fi
  done
  kill "$writer" 2>/dev/null
  wait "$writer" 2>/dev/null
  exec 6>&- # EOF: the publisher finishes the track and exits
  it_wait "pub-$v" 60 || { it_check_fail "$v: publisher exited $?"; ok=0; }
  [ "$ok" = 1 ] && it_log "$v: 3 subscribers got all 400 frames through 5% loss + reordering"
done
for f in fwd_pub fwd_sub; do kill -TERM "$(it_pid $f)"; it_wait "$f" 10; done
it_log "forwarders: $(cat "$IT_TMP/fwd_pub.err") / $(cat "$IT_TMP/fwd_sub.err")"
grep -qE ' [1-9][0-9]* dropped' "$IT_TMP/fwd_sub.err" || it_check_fail "the forwarder dropped nothing"
it_clients_clean
it_relay_stop
it_done

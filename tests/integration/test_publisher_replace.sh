#!/usr/bin/env bash
# Issue 17 finding 5: a publisher restarted BEFORE the relay notices the old
# one is gone (SIGKILL: the relay only learns of it at its 30 s idle timeout)
# is a new publisher replacing a live broadcast. A `moqc subscribe` must not
# take that for the end of the broadcast: it follows the broadcast to the new
# publisher, prints its lines, and exits 0 only when that publisher finishes.
# The relay runs with its default flags. For each subscriber wire version
# (lite-05, lite-03, IETF draft 16), the relay tells the subscriber the way
# moq-relay does: its subscription is reset with Dropped (PUBLISH_DONE
# INTERNAL_ERROR on IETF) and the broadcast is announced ended, then active.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

replace_case() {
  local v=$1 n=${2:-10} i
  local s=sub-$v p1=p1-$v p2=p2-$v
  it_log "case $v"
  it_bg "$s" "${MOQC[@]}" --version "$v" --log-level info subscribe --url "$(it_url room)" \
    --broadcast "b-$v" --start-group 0 --wait 30s
  it_fifo "$p1" 7
  IT_STDIN=$IT_TMP/$p1.fifo it_bg "$p1" "${MOQC[@]}" publish --url "$(it_url room)" \
    --broadcast "b-$v" --wait-subscriber=20s
  for i in $(seq 1 "$n"); do echo "first $i" >&7; done
  it_wait_lines "$IT_TMP/$s.out" "$n" 20 ||
    { it_check_fail "$v: subscriber got $(wc -l <"$IT_TMP/$s.out") of the first $n lines"; return; }
  # Restart at once: the relay still holds the old session (idle timeout 30 s).
  kill -KILL "$(it_pid "$p1")"
  exec 7>&-
  it_fifo "$p2" 8
  IT_STDIN=$IT_TMP/$p2.fifo it_bg "$p2" "${MOQC[@]}" publish --url "$(it_url room)" \
    --broadcast "b-$v" --wait-subscriber=10s
  it_log "$v: publisher 1 killed, publisher 2 started"
  for i in $(seq 1 "$n"); do echo "second $i" >&8; done
  exec 8>&-
  it_wait "$p2" 30 || it_check_fail "$v: publisher 2 exited $? (nobody subscribed to it?)"
  it_wait "$s" 30
  local rc=$?
  [ "$rc" = 0 ] || it_check_fail "$v: subscriber exited $rc after publisher 2 finished (want 0)"
  { for i in $(seq 1 "$n"); do echo "first $i"; done
    for i in $(seq 1 "$n"); do echo "second $i"; done; } >"$IT_TMP/want-$v.txt"
  cmp -s "$IT_TMP/want-$v.txt" "$IT_TMP/$s.out" ||
    it_check_fail "$v: subscriber output is not first 1..$n + second 1..$n: $(tr '\n' ' ' <"$IT_TMP/$s.out")"
  grep -q "subscribing again" "$IT_TMP/$s.err" ||
    it_check_fail "$v: the subscriber never logged that it followed the broadcast"
}

for v in moq-lite-05 moq-lite-03 moqt-16; do replace_case "$v"; done

# The relay replaced the live broadcast: it did not wait for the idle timeout.
[ "$(grep -c "broadcast announced 'room/b-moq-lite-05'" "$IT_TMP/relay.err")" -ge 2 ] ||
  it_check_fail "the relay did not announce the replacement"
it_clients_clean
it_relay_stop
it_done

#!/usr/bin/env bash
# A publisher killed with SIGKILL and not restarted: after the relay's linger
# time the broadcast is gone; subscribers end with an error (no hang) and an
# announcement watcher sees +b then -b.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start --linger 1s --idle-timeout 2s

it_bg ann "${MOQC[@]}" announced --url "$(it_url room)" --count 2
for s in s1 s2 s3; do
  it_bg "$s" "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b --start-group 0 --wait 30s
done
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b --wait-subscriber
for i in $(seq 1 10); do echo "line $i" >&7; done
for s in s1 s2 s3; do
  it_wait_lines "$IT_TMP/$s.out" 10 20 || it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 10 lines"
done
kill -KILL "$(it_pid p)"
exec 7>&-
killed=$(date +%s%N)
for s in s1 s2 s3; do
  it_wait "$s" 20
  rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] || it_fail "$s exited $rc; expected an error exit"
  grep -qE "aborted|ended before|closed" "$IT_TMP/$s.err" || it_fail "$s: no clear error: $(cat "$IT_TMP/$s.err")"
done
ms=$((($(date +%s%N) - killed) / 1000000))
it_log "subscribers ended with an error ${ms} ms after the kill (idle 2 s + linger 1 s)"
[ "$ms" -ge 2500 ] || it_fail "subscribers ended before idle timeout + linger ($ms ms)"
it_wait ann 10 || it_fail "announced watcher exited $?"
[ "$(cat "$IT_TMP/ann.out")" = "$(printf '+b\n-b')" ] || it_fail "announced printed: $(cat "$IT_TMP/ann.out")"
# The relay is still fine.
[ "$(it_http /health)" = ok ] || it_fail "relay unhealthy"
[ -z "$(it_http /announced)" ] || it_fail "broadcast still announced after linger"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

#!/usr/bin/env bash
# A publisher killed with SIGKILL and restarted within the relay's linger time:
# subscribers neither see an end nor an error; they get everything sent
# before the kill and everything from the new publisher, then a clean end.
# (A SIGKILLed peer sends nothing: the relay notices through its idle timeout,
# 2 s here, then keeps the broadcast for --linger 8s.)
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start --linger 8s --idle-timeout 2s

for s in s1 s2; do
  it_bg "$s" "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b --start-group 0 --wait 30s
done
it_fifo p1 7
IT_STDIN=$IT_TMP/p1.fifo it_bg p1 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b --wait-subscriber
for i in $(seq 1 20); do echo "first $i" >&7; sleep 0.02; done
for s in s1 s2; do
  it_wait_lines "$IT_TMP/$s.out" 20 20 || it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of the first 20 lines"
done
kill -KILL "$(it_pid p1)"
exec 7>&-
it_log "publisher 1 killed"
it_wait_for "$IT_TMP/relay.err" "closed by peer: code [0-9]+ \(Timeout\)" 10 ||
  it_fail "the relay did not notice the dead publisher"
it_log "relay noticed; restarting within the linger time"
# The restart continues the sequence numbers (a reconnect of the same content).
it_fifo p2 8
IT_STDIN=$IT_TMP/p2.fifo it_bg p2 "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b \
  --start-group 1000 --wait-subscriber
for i in $(seq 1 20); do echo "second $i" >&8; sleep 0.02; done
exec 8>&-
it_wait p2 30 || it_fail "publisher 2 exited $?"
{ for i in $(seq 1 20); do echo "first $i"; done; for i in $(seq 1 20); do echo "second $i"; done; } >"$IT_TMP/want.txt"
for s in s1 s2; do
  it_wait "$s" 30 || it_fail "$s exited $? (it should see a clean end)"
  cmp -s "$IT_TMP/want.txt" "$IT_TMP/$s.out" || it_fail "$s: output differs from first 1..20 + second 1..20"
done
grep -q "broadcast ended 'room/b'" "$IT_TMP/relay.err" || it_fail "the broadcast never ended cleanly"
[ "$(grep -c "broadcast announced 'room/b'" "$IT_TMP/relay.err")" = 1 ] ||
  it_fail "the takeover was visible as a re-announcement"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

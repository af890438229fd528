#!/usr/bin/env bash
# A line of three relays A <- B <- C (B dials A, C dials B): a publisher on A
# reaches subscribers on every node, every frame; each node subscribes upstream
# once per track however many subscribers it has; no announcement loops (one
# broadcast everywhere); SIGKILL of the middle node B: C keeps the broadcast
# for --cluster-linger, B restarts on its port and rejoins, and C's
# subscribers carry on without a new SUBSCRIBE, losing only what was published
# while B was down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
it_init

PA=$(cl_port) PB=$(cl_port) PC=$(cl_port)
cl_start A "$PA" --cluster-id 1
cl_start B "$PB" --cluster-id 2 --cluster-connect "http://127.0.0.1:$PA/" --cluster-linger 15s
cl_start C "$PC" --cluster-id 3 --cluster-connect "http://127.0.0.1:$PB/?cost=1" --cluster-linger 15s
for n in B C; do
  cl_wait_metric "$n" moqc_relay_cluster_peers_up 1 20 || it_fail "$n: cluster peer not up"
done

cl_sub a1 A room/b; cl_sub b1 B room/b; cl_sub b2 B room/b
cl_sub c1 C room/b; cl_sub c2 C room/b; cl_sub c3 C room/b
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "$MOQC_BIN" --tls-fingerprint "$FP_A" publish \
  --url "$(cl_url A)" --broadcast room/b --wait-subscriber
for n in A B C; do
  cl_wait_metric "$n" moqc_relay_broadcasts 1 20 || it_fail "$n: broadcast not announced"
done
sleep 1 # the subscribers find it (they poll the announcement)
for i in $(seq 1 20); do echo "line $i" >&7; sleep 0.02; done
for s in a1 b1 b2 c1 c2 c3; do
  it_wait_lines "$IT_TMP/$s.out" 20 20 || it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 20 lines"
  cl_check_lines "$IT_TMP/$s.out" 1 20 || it_fail "$s: wrong frames: $(head -c 300 "$IT_TMP/$s.out")"
done
for n in A B C; do
  [ "$(cl_upstream $n)" = 1 ] || it_fail "$n subscribes upstream $(cl_upstream $n) times, not once"
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 1 ] || it_fail "$n: broadcasts $(cl_metric $n moqc_relay_broadcasts) (loop?)"
done
it_log "20 frames on 6 subscribers over 3 nodes; one upstream subscription per node"
cl_nodes C | grep -q '"hops":\["[0-9]*","1","2"\]' || it_fail "C's route is not [publisher,A,B]: $(cl_nodes C)"

# SIGKILL the middle node; restart it on the same port while C lingers.
kill -KILL "$(it_pid B)"
for i in $(seq 21 30); do echo "line $i" >&7; sleep 0.1; done
cl_start B "$PB" --cluster-id 2 --cluster-connect "http://127.0.0.1:$PA/" --cluster-linger 15s
cl_wait_metric B moqc_relay_cluster_peers_up 1 20 || it_fail "restarted B did not rejoin A"
# C notices the dead session after its idle timeout (2 s), then redials
it_wait_for "$IT_TMP/C.err" 'connected \(conn 2' 20 || it_fail "C did not redial B"
cl_wait_metric C moqc_relay_cluster_upstream_tracks 1 20 || it_fail "C did not re-subscribe through B"
[ "$(cl_metric C moqc_relay_broadcasts)" = 1 ] || it_fail "C dropped the broadcast within the linger"
for i in $(seq 31 40); do echo "line $i" >&7; sleep 0.05; done
for s in c1 c2 c3; do
  it_wait_for "$IT_TMP/$s.out" '^line 40$' 20 || it_fail "$s did not get line 40 after B rejoined: $(tail -3 "$IT_TMP/$s.out")"
  # in order, no duplicates, nothing invented; only lines published while B was down may be missing
  sort -t' ' -k2n -c "$IT_TMP/$s.out" || it_fail "$s: out of order"
  [ "$(sort -u "$IT_TMP/$s.out" | wc -l)" = "$(wc -l <"$IT_TMP/$s.out")" ] || it_fail "$s: duplicates"
  grep -q '^line 31$' "$IT_TMP/$s.out" || it_fail "$s lost line 31 (after the rejoin)"
  it_log "$s: $(wc -l <"$IT_TMP/$s.out") of 40 lines (missing: $(comm -13 <(sort "$IT_TMP/$s.out") <(seq 1 40 | sed 's/^/line /' | sort) | tr '\n' ' '))"
done
kill -0 "$(it_pid c1)" || it_fail "c1 exited: the subscription was not carried over"
for n in A B C; do
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 1 ] || it_fail "$n: broadcasts $(cl_metric $n moqc_relay_broadcasts) after the rejoin"
done
exec 7>&-
it_wait p 20 || it_fail "publisher exited $?"
for s in a1 b1 b2 c1 c2 c3; do it_wait "$s" 20; done
it_clients_clean
for n in C B A; do it_relay_stop "$n"; done
echo "PASS $IT_NAME"

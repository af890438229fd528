#!/usr/bin/env bash
# A star around a passive rendezvous R (--cluster-node + --cluster-mesh, no
# peers): A, B and C dial only R, with --cluster-mesh. Each registers at
# .internal/origins/<its URL>; the others see it through R and the one whose
# URL sorts first dials (moq-relay's tiebreak), so the star becomes a mesh with
# exactly one session per pair. A publisher on A reaches subscribers on R, B
# and C, every frame; one upstream subscription per node; the broadcast count
# settles to the truth (the 4 registrations + 1). SIGKILL of R (the hub): the
# gossiped links carry on; R restarts and everyone redials it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
it_init

PR=$(cl_port) PA=$(cl_port) PB=$(cl_port) PC=$(cl_port)
U() { echo "http://127.0.0.1:$1/"; }
cl_start R "$PR" --cluster-node "$(U "$PR")" --cluster-mesh
for n in A B C; do
  v="P$n"
  cl_start "$n" "${!v}" --cluster-node "$(U "${!v}")" --cluster-mesh --cluster-connect "$(U "$PR")"
done
# every pair linked once: A,B,C each dial R; among A,B,C the smaller URL dials
dials=0
for n in A B C; do
  v="P$n"
  want=1
  for m in A B C; do
    w="P$m"
    [[ "$(U "${!w}")" > "$(U "${!v}")" ]] && want=$((want + 1))
  done
  cl_wait_metric "$n" moqc_relay_cluster_peers_up "$want" 20 ||
    it_fail "$n: $(cl_metric "$n" moqc_relay_cluster_peers_up) peers up, want $want: $(cl_nodes "$n")"
  dials=$((dials + want))
done
[ "$dials" = 6 ] || it_fail "$dials sessions for 4 nodes (want 6: one per pair)"
# everyone knows every node
for n in R A B C; do
  cl_wait_metric "$n" moqc_relay_broadcasts 4 20 || it_fail "$n: $(cl_metric "$n" moqc_relay_broadcasts) registrations, want 4"
  [ "$(cl_nodes "$n" | grep -o '"node":' | wc -l)" -ge 4 ] || it_fail "$n: /nodes lists too few: $(cl_nodes "$n")"
done

for s in r1 b1 b2 c1 c2; do cl_sub "$s" "$(echo "${s:0:1}" | tr a-r A-R)" s/b; done
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "$MOQC_BIN" --tls-fingerprint "$FP_A" publish \
  --url "$(cl_url A)" --broadcast s/b --wait-subscriber
for n in R A B C; do
  cl_wait_metric "$n" moqc_relay_broadcasts 5 20 || it_fail "$n: broadcast not announced"
done
sleep 1
for i in $(seq 1 20); do echo "line $i" >&7; sleep 0.02; done
for s in r1 b1 b2 c1 c2; do
  it_wait_lines "$IT_TMP/$s.out" 20 20 || it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 20 lines"
  cl_check_lines "$IT_TMP/$s.out" 1 20 || it_fail "$s: wrong frames"
done
sleep 0.5
for n in R A B C; do
  [ "$(cl_upstream $n)" = 1 ] || it_fail "$n subscribes upstream $(cl_upstream $n) times, not once"
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 5 ] || it_fail "$n: broadcasts $(cl_metric $n moqc_relay_broadcasts), want 5 (loop?)"
done
it_log "star of 4 gossiped into a mesh; every frame everywhere; one upstream per node"

kill -KILL "$(it_pid R)"
for i in $(seq 21 30); do echo "line $i" >&7; sleep 0.05; done
for s in b1 b2 c1 c2; do
  it_wait_for "$IT_TMP/$s.out" '^line 30$' 20 || it_fail "$s lost the stream with the hub: $(tail -2 "$IT_TMP/$s.out")"
  cl_check_lines "$IT_TMP/$s.out" 1 30 || it_fail "$s lost frames when the hub died"
done
cl_start R "$PR" --cluster-node "$(U "$PR")" --cluster-mesh
for n in A B C; do
  it_wait_for "$IT_TMP/$n.err" "peer $(U "$PR") connected \\(conn [2-9]" 20 || it_fail "$n did not redial the restarted hub"
done
cl_wait_metric R moqc_relay_broadcasts 5 20 || it_fail "restarted R sees $(cl_metric R moqc_relay_broadcasts) broadcasts, want 5"
exec 7>&-
it_wait p 20 || it_fail "publisher exited $?"
for s in b1 b2 c1 c2; do it_wait "$s" 20; done
it_clients_clean
for n in C B A R; do it_relay_stop "$n"; done
echo "PASS $IT_NAME"

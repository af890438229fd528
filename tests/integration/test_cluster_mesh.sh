#!/usr/bin/env bash
# A full mesh of four relays (B dials A; C dials A and B; D dials A, B and C).
# C prices its links: ?cost=10 to A, ?cost=0 to B, so C pulls A's broadcast
# through B (2 hops, cost 0) rather than directly (1 hop, cost 10).
# - a publisher on A reaches subscribers on B, C and D, every frame;
# - every node subscribes upstream once per track; no announcement loops;
# - SIGKILL of B (C's middle hop): C fails over to its direct route to A
#   within the idle timeout (well inside --cluster-linger) and its subscribers
#   carry on without a new SUBSCRIBE; B restarts, rejoins, and C moves back.
# (C's routes: via B [P,A,B] cost 0, via D [P,A,D] cost 1 -- D dialed C, an
# unpriced link --, direct [P,A] cost 10: cost ranks first, as in moq-relay.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
it_init

PA=$(cl_port) PB=$(cl_port) PC=$(cl_port) PD=$(cl_port)
U() { echo "http://127.0.0.1:$1/"; }
cl_start A "$PA" --cluster-id 11
cl_start B "$PB" --cluster-id 12 --cluster-connect "$(U "$PA")"
cl_start C "$PC" --cluster-id 13 --cluster-connect "$(U "$PA")?cost=10" --cluster-connect "$(U "$PB")?cost=0"
cl_start D "$PD" --cluster-id 14 --cluster-connect "$(U "$PA"),$(U "$PB"),$(U "$PC")"
cl_wait_metric B moqc_relay_cluster_peers_up 1 20 || it_fail "B: peers not up"
cl_wait_metric C moqc_relay_cluster_peers_up 2 20 || it_fail "C: peers not up"
cl_wait_metric D moqc_relay_cluster_peers_up 3 20 || it_fail "D: peers not up"

for s in b1 b2 c1 c2 d1 d2; do cl_sub "$s" "$(echo "${s:0:1}" | tr a-d A-D)" m/b; done
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "$MOQC_BIN" --tls-fingerprint "$FP_A" publish \
  --url "$(cl_url A)" --broadcast m/b --wait-subscriber
for n in A B C D; do
  cl_wait_metric "$n" moqc_relay_broadcasts 1 20 || it_fail "$n: broadcast not announced"
done
sleep 1
for i in $(seq 1 20); do echo "line $i" >&7; sleep 0.02; done
for s in b1 b2 c1 c2 d1 d2; do
  it_wait_lines "$IT_TMP/$s.out" 20 20 || it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 20 lines"
  cl_check_lines "$IT_TMP/$s.out" 1 20 || it_fail "$s: wrong frames"
done
sleep 0.5 # every restart (route change) has settled
for n in A B C D; do
  [ "$(cl_upstream $n)" = 1 ] || it_fail "$n subscribes upstream $(cl_upstream $n) times, not once"
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 1 ] || it_fail "$n: broadcasts $(cl_metric $n moqc_relay_broadcasts) (loop?)"
done
cl_nodes C | grep -q '"path":"m/b","route":{"hops":\["[0-9]*","11","12"\],"hop_count":3,"cost":0}' ||
  it_fail "C does not pull through B (cost 0): $(cl_nodes C)"
cl_nodes D | grep -q '"path":"m/b","route":{"hops":\["[0-9]*","11"\],"hop_count":2' ||
  it_fail "D does not pull directly from A: $(cl_nodes D)"
it_log "mesh of 4: every frame everywhere, one upstream per node, C routes by cost through B"

kill -KILL "$(it_pid B)"
killed=$(date +%s%N)
for i in $(seq 21 40); do echo "line $i" >&7; sleep 0.2; done &
feeder=$!
# C notices after its 2 s idle timeout and serves its next best route at once:
# through D (D dialed C: an unpriced link, cost 1) rather than directly from A
# (cost 10)
i=0
until cl_nodes C | grep -q '"path":"m/b","route":{"hops":\["[0-9]*","11","14"\],"hop_count":3,"cost":1}'; do
  i=$((i + 1)); [ "$i" -gt 100 ] && it_fail "C did not fail over through D: $(cl_nodes C)"; sleep 0.1
done
ms=$((($(date +%s%N) - killed) / 1000000))
it_log "C re-routed through D ${ms} ms after B was killed (linger 5 s)"
[ "$ms" -lt 5000 ] || it_fail "re-route took longer than the linger"
wait "$feeder"
for s in c1 c2 d1 d2; do
  it_wait_for "$IT_TMP/$s.out" '^line 40$' 20 || it_fail "$s did not get line 40: $(tail -3 "$IT_TMP/$s.out")"
  sort -t' ' -k2n -c "$IT_TMP/$s.out" || it_fail "$s: out of order"
  missing=$(comm -13 <(sort "$IT_TMP/$s.out") <(seq 1 40 | sed 's/^/line /' | sort) | wc -l)
  it_log "$s: $missing of 40 lines lost"
  [ "$missing" -le 13 ] || it_fail "$s lost $missing lines (more than the 2 s idle timeout holds)"
done
for s in d1 d2; do cl_check_lines "$IT_TMP/$s.out" 1 40 || it_fail "$s (direct route) lost frames"; done

cl_start B "$PB" --cluster-id 12 --cluster-connect "$(U "$PA")"
cl_wait_metric B moqc_relay_cluster_peers_up 1 20 || it_fail "restarted B did not rejoin A"
i=0
until cl_nodes C | grep -q '"path":"m/b","route":{"hops":\["[0-9]*","11","12"\],"hop_count":3,"cost":0}'; do
  i=$((i + 1)); [ "$i" -gt 200 ] && it_fail "C did not move back through B: $(cl_nodes C)"; sleep 0.1
done
for i in $(seq 41 50); do echo "line $i" >&7; sleep 0.05; done
for s in c1 c2; do
  it_wait_for "$IT_TMP/$s.out" '^line 50$' 20 || it_fail "$s did not get line 50 through B"
  for i in $(seq 41 50); do grep -q "^line $i\$" "$IT_TMP/$s.out" || it_fail "$s lost line $i after B rejoined"; done
done
sleep 0.5
for n in A B C D; do
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 1 ] || it_fail "$n: broadcasts $(cl_metric $n moqc_relay_broadcasts) after the rejoin"
  [ "$(cl_upstream $n)" -le 1 ] || it_fail "$n subscribes upstream $(cl_upstream $n) times after the rejoin"
done
exec 7>&-
it_wait p 20 || it_fail "publisher exited $?"
for s in b1 b2 c1 c2 d1 d2; do it_wait "$s" 20; done
it_clients_clean
for n in D C B A; do it_relay_stop "$n"; done
echo "PASS $IT_NAME"

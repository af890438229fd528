#!/usr/bin/env bash
# Two routes from A to D, one link degraded (issue 16's partition test):
#
#        B  (D -> B through udpfwd: 5% loss each way + 40 ms delay each way, priced ?cost=10)
#      /   \
#     A     D        B and C dial A; D dials B (degraded) and C (healthy, ?cost=1)
#      \   /
#        C
#
# This kernel has no sch_netem (`tc qdisc add ... netem` fails with "Specified qdisc kind is
# unknown", also inside a network namespace), so the degraded link is the project's userspace
# forwarder (udpfwd --drop --delay) between D and B, on loopback. B's HTTP listener is bound to
# the forwarder's port number (TCP), so D's http:// peer URL fetches B's certificate there and
# its QUIC datagrams (UDP, same number) go through the forwarder.
#
# moq-lite up to lite-05 carries no cost on the wire; a node prices its own links (?cost=N on
# --cluster-connect), which is where routing can prefer the healthy path. Checked:
# - D learns the broadcast over both links (one route per peer) but serves it from C, the healthy
#   one: /nodes route [publisher, A, C], cost 1; one upstream subscription on D;
# - D's subscribers get every frame, in order;
# - the degraded link works: udpfwd dropped datagrams and D's session through it stays up; when
#   C is SIGKILLed, D moves to the route through B without a new SUBSCRIBE, and its subscribers
#   get the frames published after the failover.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
it_init

PA=$(cl_port) PB=$(cl_port) PC=$(cl_port) PD=$(cl_port) X=$(cl_port)
fwd=$(it_helper udpfwd) || it_fail "cannot build udpfwd"
it_bg fwd "$fwd" --listen "127.0.0.1:$X" --to "127.0.0.1:$PB" --drop 0.05 --delay 40 --seed 16 \
  --max-seconds 250
it_wait_for "$IT_TMP/fwd.out" '^port ' 10 || it_fail "udpfwd did not start"

cl_start A "$PA" --cluster-id 21
cl_start B "$PB" --cluster-id 22 --cluster-connect "http://127.0.0.1:$PA/" --http-bind "127.0.0.1:$X"
PORT_B=$X # B's HTTP (metrics, /nodes, certificate) is on the forwarder's port number
cl_start C "$PC" --cluster-id 23 --cluster-connect "http://127.0.0.1:$PA/"
cl_start D "$PD" --cluster-id 24 --cluster-linger 20s \
  --cluster-connect "http://127.0.0.1:$X/?cost=10" --cluster-connect "http://127.0.0.1:$PC/?cost=1"
for n in B C; do
  cl_wait_metric "$n" moqc_relay_cluster_peers_up 1 20 || it_fail "$n: peer A not up"
done
cl_wait_metric D moqc_relay_cluster_peers_up 2 30 || it_fail "D: peers not up: $(cl_nodes D)"

# cl_sub with a 3 s reorder window: after the failover the groups come through the lossy link,
# where a retransmitted group can take longer than cl_sub's 300 ms (moqc subscribe prints a group
# that arrives after its turn when it arrives: that would be out of order).
for s in d1 d2; do
  it_bg "$s" "$MOQC_BIN" --tls-fingerprint "$(cl_fp D)" subscribe --url "$(cl_url D)" \
    --broadcast p/b --start-group 0 --wait 40s --reorder 3s
done
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "$MOQC_BIN" --tls-fingerprint "$FP_A" publish \
  --url "$(cl_url A)" --broadcast p/b --wait-subscriber
cl_wait_metric D moqc_relay_broadcasts 1 30 || it_fail "D: broadcast not announced"
# D hears of p/b from both peers: one route over each link
peer_routes() {
  cl_metrics D | awk -v p="moqc_relay_cluster_peer_routes{peer=\"http://127.0.0.1:$1/\"}" '$1 == p { print $2 }'
}
i=0
until [ "$(peer_routes "$X")" = 1 ] && [ "$(peer_routes "$PC")" = 1 ]; do
  i=$((i + 1))
  [ "$i" -gt 200 ] && it_fail "D does not know both routes: via B $(peer_routes "$X"), via C $(peer_routes "$PC")"
  sleep 0.1
done
sleep 1 # the subscribers find it
for i in $(seq 1 30); do echo "line $i" >&7; sleep 0.03; done
for s in d1 d2; do
  it_wait_lines "$IT_TMP/$s.out" 30 30 ||
    it_fail "$s got $(wc -l <"$IT_TMP/$s.out") of 30 lines (d1 $(wc -l <"$IT_TMP/d1.out"), d2 $(wc -l <"$IT_TMP/d2.out")); D upstream $(cl_upstream D); D: $(cl_nodes D)"
  cl_check_lines "$IT_TMP/$s.out" 1 30 || it_fail "$s: wrong frames: $(head -c 300 "$IT_TMP/$s.out")"
done
route=$(cl_nodes D)
echo "$route" | grep -q '"path":"p/b","route":{"hops":\["[0-9]*","21","23"\],"hop_count":3,"cost":1}' ||
  it_fail "D does not serve p/b from the healthy link through C (cost 1): $route"
[ "$(cl_upstream D)" = 1 ] || it_fail "D subscribes upstream $(cl_upstream D) times, not once"
[ "$(cl_metric D moqc_relay_broadcasts)" = 1 ] || it_fail "D: broadcasts $(cl_metric D moqc_relay_broadcasts)"
it_log "D serves p/b through C (healthy, cost 1), not through B (5% loss + 40 ms, cost 10): 30/30 lines"

# The degraded route is a real one: kill C, D moves to B through the forwarder.
kill -KILL "$(it_pid C)"
i=0
until cl_nodes D | grep -q '"path":"p/b","route":{"hops":\["[0-9]*","21","22"\],"hop_count":3,"cost":10}'; do
  i=$((i + 1))
  [ "$i" -gt 200 ] && it_fail "D did not fail over to the route through B: $(cl_nodes D)"
  sleep 0.1
done
it_log "C killed: D serves p/b through B (the degraded link, cost 10)"
sleep 1
for i in $(seq 31 50); do echo "line $i" >&7; sleep 0.05; done
for s in d1 d2; do
  it_wait_for "$IT_TMP/$s.out" '^line 50$' 30 || it_fail "$s did not get line 50 through B: $(tail -3 "$IT_TMP/$s.out")"
  sort -t' ' -k2n -c "$IT_TMP/$s.out" || it_fail "$s: out of order"
  [ "$(sort -u "$IT_TMP/$s.out" | wc -l)" = "$(wc -l <"$IT_TMP/$s.out")" ] || it_fail "$s: duplicates"
  grep -q '^line 31$' "$IT_TMP/$s.out" || it_fail "$s lost line 31 (published after the failover)"
done
kill -0 "$(it_pid d1)" || it_fail "d1 exited: the subscription was not carried over"
exec 7>&-
it_wait p 20 || it_fail "publisher exited $?"
for s in d1 d2; do it_wait "$s" 20; done
it_clients_clean
for n in D B A; do it_relay_stop "$n"; done
kill -TERM "$(it_pid fwd)"
it_wait fwd 10
it_log "$(cat "$IT_TMP/fwd.err")"
dropped=$(sed -n 's/.* dropped \([0-9]*\) .*/\1/p' "$IT_TMP/fwd.err")
[ "${dropped:-0}" -gt 0 ] || it_fail "the forwarder dropped nothing: $(cat "$IT_TMP/fwd.err")"
echo "PASS $IT_NAME"

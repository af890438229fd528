#!/usr/bin/env bash
# @moq/net in headless Chromium across a line of three moqc-relays (issue 16):
#
#   A <- B <- C          (B dials A, C dials B: http:// peer URLs, certificate bootstrap)
#
# For each of lite-04 and lite-05 (the versions that carry hop lists):
#   browsers  a browser publishes 300 mixed frames (UTF-8, binary, empty, 30000 bytes) in 12
#             groups to node A and closes the track; a second browser (another run.mjs, its own
#             Chromium) subscribes on node C and must get every frame byte for byte (base64
#             compare) and the track's end.
#   one page  the same browser, two connections: publish on A, subscribe on C (run.mjs pubsub
#             --sub-url), 60 x 3000-byte generated frames compared by SHA-256, then the end.
# After each case: node C's route for the broadcast is [publisher, A, B] (/nodes), so the frames
# really crossed two relay hops, and no node holds more than one broadcast per case (no loop).
# Every relay is an ASan build that must exit 0 on SIGTERM with a clean stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
[ -x "$bdir/moqc-relay" ] || { echo "FAIL: $bdir/moqc-relay not built" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
N=300
interop_gen_frames "$N" 11 "$T"
FRAMES_B64=$(cat "$T/frames.b64")
T0=$(date +%s)
secs() { echo $(($(date +%s) - T0)); }

# node_start NAME ID [flags]: a relay in $T/NAME -> PORT_NAME FP_NAME PID_NAME URL_NAME
node_start() {
  local name=$1 id=$2
  shift 2
  mkdir -p "$T/$name"
  interop_relay_start "$T/$name" --log-level info --cluster-id "$id" "$@" || exit 1
  eval "PORT_$name=$RELAY_PORT FP_$name=$RELAY_FP PID_$name=$RELAY_PID URL_$name=$RELAY_URL"
  INTEROP_PIDS+=("$RELAY_PID")
  RELAY_PID=
}
node_stop() {
  local v="PID_$1" d="T"
  RELAY_PID=${!v} RELAY_DIR=${!d}/$1
  interop_relay_stop || INTEROP_FAILURES+=("relay $1 did not stop cleanly")
}
metric() { local v="PORT_$1"; curl -s --max-time 5 "http://127.0.0.1:${!v}/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
nodes() { local v="PORT_$1"; curl -s --max-time 5 "http://127.0.0.1:${!v}/nodes"; }
wait_metric() {
  local i=0
  until [ "$(metric "$1" "$2")" = "$3" ]; do
    i=$((i + 1))
    [ "$i" -gt $(($4 * 10)) ] && return 1
    sleep 0.1
  done
}

node_start A 1
node_start B 2 --cluster-connect "http://127.0.0.1:$PORT_A/"
node_start C 3 --cluster-connect "http://127.0.0.1:$PORT_B/"
for n in B C; do
  wait_metric "$n" moqc_relay_cluster_peers_up 1 30 || { echo "FAIL: $n: cluster peer not up" >&2; tail -n 20 "$T/$n/relay.err" >&2; exit 1; }
done
echo "[$(secs)s] line A($PORT_A) <- B($PORT_B) <- C($PORT_C) up"

# route_ok BROADCAST: C serves anon/BROADCAST from a route through A (id 1) then B (id 2).
route_ok() {
  local json
  json=$(nodes C)
  node -e '
    const j = JSON.parse(process.argv[1]);
    const b = (j.broadcasts || []).find((x) => x.path === process.argv[2] || x.broadcast === process.argv[2] || x.name === process.argv[2]);
    const hops = b && (b.hops || (b.route && b.route.hops));
    process.exit(hops && hops.length === 3 && hops[1] === "1" && hops[2] === "2" ? 0 : 1);
  ' "$json" "anon/$1"
}
# route_watch BROADCAST: in the background, poll C's /nodes (bounded) while the case runs; the
# route is gone once the publisher leaves, so it is sampled live. route_seen BROADCAST after.
route_watch() {
  (for _ in $(seq 1 400); do
    route_ok "$1" && { touch "$T/route-${1//\//_}"; exit 0; }
    sleep 0.1
  done; nodes C >"$T/nodes-${1//\//_}.json") 6>&- 7>&- 8>&- 9>&- &
  INTEROP_PIDS+=("$!")
}
route_seen() {
  [ -e "$T/route-${1//\//_}" ] && return 0
  echo "C's route for anon/$1 was never [publisher,A,B]: $(nodes C)" >&2
  return 1
}

case_browsers() {
  local v=$1 b="cl-$1/two" rc=0
  interop_bg "pub-$v" node "$INTEROP_DIR/run.mjs" --lib net --version "lite-$v" --mode publish \
    --url "$URL_A/anon" --fingerprint "$FP_A" --broadcast "$b" --track t --encoding base64 \
    --frames "$FRAMES_B64" --group-frames 25 --finish-track --expect-version "moq-lite-$v" --timeout 60
  local pub=$BG_PID
  route_watch "$b"
  interop_run --lib net --version "lite-$v" --mode subscribe --url "$URL_C/anon" --fingerprint "$FP_C" \
    --broadcast "$b" --track t --encoding base64 --count 0 --expect-frames "$FRAMES_B64" \
    --expect-version "moq-lite-$v" --timeout 50 >"$T/sub-$v.json" 2>"$T/sub-$v.err" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "browsers lite-$v: the subscriber on C failed (exit $rc)" "$T/sub-$v.json"
  elif ! route_seen "$b"; then
    interop_case_fail "browsers lite-$v: C did not receive through B and A"
  else
    echo "[$(secs)s] ok browsers lite-$v: Chromium on A -> A -> B -> C -> Chromium on C: $N frames byte for byte + end"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "browsers lite-$v: the publisher on A failed (exit $rc)" "$T/pub-$v.out"
}

case_one_page() {
  local v=$1 b="cl-$1/one" rc=0
  route_watch "$b"
  interop_run --lib net --version "lite-$v" --mode pubsub --url "$URL_A/anon" --fingerprint "$FP_A" \
    --sub-url "$URL_C/anon" --sub-fingerprint "$FP_C" --broadcast "$b" --track t --gen 60:3000 --group-frames 6 \
    --finish-track --count 0 --summary --expect-gen 60:3000 --expect-version "moq-lite-$v" \
    --timeout 50 >"$T/pubsub-$v.json" 2>"$T/pubsub-$v.err" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "one page lite-$v: pubsub A -> C failed (exit $rc)" "$T/pubsub-$v.json"
  elif ! route_seen "$b"; then
    interop_case_fail "one page lite-$v: C did not receive through B and A"
  else
    echo "[$(secs)s] ok one page lite-$v: publish on A, subscribe on C, 60 x 3000 bytes (digests) + end"
  fi
}

for v in 04 05; do
  case_browsers "$v"
  case_one_page "$v"
done

# No announcement loop: every node counts what is live, nothing more (the JS publishers are gone,
# so the broadcasts end or linger; none may be duplicated).
for n in A B C; do
  c=$(metric "$n" moqc_relay_broadcasts)
  [ "${c:-0}" -le 4 ] || interop_case_fail "$n holds $c broadcasts (4 were published): a loop?"
done

for n in C B A; do node_stop "$n"; done
interop_done

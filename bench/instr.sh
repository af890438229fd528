#!/usr/bin/env bash
# bench/instr.sh — instructions the relay executes per delivered frame / byte
# (valgrind callgrind), for comparing builds on machines that are too busy,
# or too virtual, for CPU time or hardware counters.
#
#   bench/instr.sh s5|s5max|s2 [LABEL]
#   RELAY=/other/build/moqc-relay bench/instr.sh s5   measure another build's relay
#   FPS=10 DUR=8 WARM=2 SUBS=10                        workload knobs (defaults shown)
#   VERSION=moqt-16 bench/instr.sh s5                  every client speaks this version
#                                                      (IETF: frames are counted as
#                                                      object headers encoded)
#
#   s5     10 publishers x 10 subscribers, 100-byte frames, 100 per group, paced at
#          FPS frames/s per publisher (low enough that the relay under callgrind
#          keeps up, so batching depends little on the machine's load)
#   s5max  the same at max rate (window 256, like bench/run.sh s5): the relay under
#          callgrind saturates, batches are large; per-frame work dominates
#   s2     1 publisher of 2 Mbit/s video to SUBS subscribers (bench/run.sh uses 100;
#          under callgrind 10)
#
# The relay runs under callgrind; its counters are zeroed when moqc_bench's
# window opens and dumped when it closes, so connection setup is not counted.
# Frames are counted in the relay itself (calls of the frame header encoder,
# one per frame per subscriber), so the window edges need not line up with the
# bench's. Prints Ir per frame and per delivered byte, split by shared object,
# and the sendmsg calls per frame (a different packetisation changes the
# transport's share: compare the moqc column across builds). Loopback only;
# the relay and the bench are stopped on exit. Raw data: $BUILD_DIR/bench-instr/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build/bench}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SC=${1:-s5}; LABEL=${2:-$SC}
FPS=${FPS:-10}; DUR=${DUR:-8}; WARM=${WARM:-2}; SUBS=${SUBS:-10}
OUT=$BUILD/bench-instr/$(date -u +%Y%m%d-%H%M%S)-$LABEL
mkdir -p "$OUT"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOQC_BUILD_TESTS=OFF > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" --target moqc-relay moqc_bench >> "$OUT/build.log" 2>&1 ||
  { tail -20 "$OUT/build.log"; exit 1; }
RBIN=${RELAY:-$BUILD/moqc-relay}
case "$SC" in
  s5) ARGS=(--profile chat --pubs 10 --subs 10 --window 256 --fps "$FPS") ;;
  s5max) ARGS=(--profile chat --pubs 10 --subs 10 --window 256) ;;
  s2) ARGS=(--profile video --bitrate 2000000 --subs "$SUBS") ;;
  *) echo "usage: bench/instr.sh s5|s5max|s2 [LABEL]"; exit 2 ;;
esac
[ -n "${VERSION:-}" ] && ARGS+=(--version "$VERSION")
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; sleep 0.5;
            for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

PORT=$(( 40000 + RANDOM % 10000 ))
FLAGS=(--bind 127.0.0.1:$PORT --http-bind none --log-level warn --cache-budget 32M)
# Every bench client comes from 127.0.0.1: lift the per-address limits (older
# relays have none).
"$RBIN" --help 2>&1 | grep -q -- --max-conns-per-addr &&
  FLAGS+=(--max-conns-per-addr 0 --max-handshakes-per-addr 0 --new-conns-per-addr 0 --http-max-conns-per-addr 0)
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$RBIN" "${FLAGS[@]}" \
  > "$OUT/relay.log" 2>&1 &
RP=$!; PIDS+=($RP)
for _ in $(seq 150); do
  grep -q '^ready' "$OUT/relay.log" && break
  kill -0 $RP 2>/dev/null || { tail -3 "$OUT/relay.log"; exit 1; }
  sleep 0.2
done
timeout -k 5 300 "$BUILD/moqc_bench" --url "moqt://127.0.0.1:$PORT/bench" "${ARGS[@]}" \
  --duration "$DUR" --warmup "$WARM" --relay-pid $RP --label "instr-$LABEL" --json "$OUT/bench.json" \
  > "$OUT/bench.txt" 2> "$OUT/bench.err" &
BP=$!; PIDS+=($BP)
for _ in $(seq 1200); do grep -q 'window opens' "$OUT/bench.err" && break; sleep 0.05; done
sleep "$WARM"; callgrind_control -z $RP > /dev/null 2>&1
sleep "$DUR"; callgrind_control -d $RP > /dev/null 2>&1
wait $BP
kill -TERM $RP; for _ in $(seq 100); do kill -0 $RP 2>/dev/null || break; sleep 0.1; done
DUMP=$(ls "$OUT"/callgrind.out.* 2>/dev/null | head -1)
[ -n "$DUMP" ] || { echo "no callgrind dump (see $OUT)"; exit 1; }
callgrind_annotate --auto=no --threshold=100 --inclusive=no "$DUMP" > "$OUT/self.txt" 2>/dev/null
python3 - "$DUMP" "$OUT/self.txt" "$OUT/bench.json" "$LABEL" <<'EOF' | tee "$OUT/summary.txt"
import collections, json, re, sys
dump, selftxt, bench, label = sys.argv[1:5]
names, calls, cfn, tot = {}, collections.Counter(), None, 0
for line in open(dump, errors="replace"):
    if line.startswith(("fn=", "cfn=")):
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if m.group(2): names[m.group(1)] = m.group(2)
        if line.startswith("cfn="): cfn = names.get(m.group(1), m.group(1))
    elif line.startswith("calls=") and cfn:
        calls[cfn] += int(line.split()[0][6:])
    elif line.startswith(("summary:", "totals:")):
        tot = int(line.split()[1])
obj = collections.Counter()
for line in open(selftxt):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?):(.*) \[(.*)\]$", line)
    if not m or m.group(3) in ("main", "(below main)") or "libc_start" in m.group(3): continue
    o = m.group(4).rsplit("/", 1)[-1]
    if o.startswith("ld-linux"): continue
    k = "libc" if o.startswith("libc.") else "libuv" if o.startswith("libuv") else \
        "ngtcp2+tls" if o.startswith(("libngtcp2", "libgnutls", "libnettle", "libhogweed", "libgmp")) else "moqc"
    obj[k] += int(m.group(1).replace(",", ""))
# one frame header per frame per subscriber (sess_frame_hdr before issue 11);
# IETF sessions: one object header per object per subscriber
fr = calls.get("moqc__lite_frame_hdr", 0) + calls.get("sess_frame_hdr", 0) + \
    calls.get("moqc__ietf_object_encode", 0) + calls.get("moqc__ietf_obj_hdr", 0)
j = json.load(open(bench))
fsz = j["bytes_rx"] / max(1, j["frames_rx"])
if not fr or not j.get("ok"):
    print(f"{label}: no frames counted (bench ok={j.get('ok')}, error={j.get('error')})"); sys.exit(1)
print(f"{label}: {tot:,} Ir in the window, {fr:,} frames written ({fsz:.0f} B average)")
print(f"  Ir per frame {tot/fr:.0f}, per delivered byte {tot/fr/fsz:.2f}; "
      f"sendmsg per frame {calls.get('sendmsg', 0)/fr:.3f}, malloc+calloc per frame "
      f"{(calls.get('malloc', 0) + calls.get('calloc', 0))/fr:.3f}")
print("  per frame: " + ", ".join(f"{k} {obj[k]/fr:.0f}" for k in ("moqc", "libc", "ngtcp2+tls", "libuv")))
print(f"  bench: groups lost {j['groups_lost']}, p50 {j['lat_p50_ms']:.1f} ms")
EOF
echo "raw data: $OUT"

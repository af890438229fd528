#!/usr/bin/env bash
# bench/profile.sh — where the relay's time goes in one scenario.
#
#   bench/profile.sh s2|s3|s5|s8 [N]     (N: subscribers for s3, default 500)
#   BUILD_DIR=build/x bench/profile.sh s2
#   TOOL=callgrind bench/profile.sh s2   instruction counts (valgrind) instead of perf
#   STATIC=1 bench/profile.sh s2         profile a relay linked with Debian's static
#                                        libngtcp2.a / libuv_a.a (the shared ones are
#                                        stripped, so their functions show as addresses)
#
# Runs the scenario's load (moqc_bench, same parameters as bench/run.sh, a
# shorter window) against a relay that is sampled by `perf record -e cpu-clock
# -g` (these VMs expose no hardware counters, so cycles are not available:
# the samples are CPU time), or run under callgrind. Prints the top functions
# by self time, the top shared objects, and the top call chains into the
# library; raw data stays in $BUILD_DIR/bench-profiles/<stamp>/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build/bench}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SC=${1:-s2}; N=${2:-500}; TOOL=${TOOL:-perf}
OUT=$BUILD/bench-profiles/$(date -u +%Y%m%d-%H%M%S)-$SC
mkdir -p "$OUT"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOQC_BUILD_TESTS=OFF > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" --target moqc-relay moqc_bench >> "$OUT/build.log" 2>&1 ||
  { tail -20 "$OUT/build.log"; exit 1; }
RBIN=$BUILD/moqc-relay
if [ "${STATIC:-0}" = 1 ]; then
  L=/usr/lib/$(gcc -print-multiarch)
  RBIN=$BUILD/moqc-relay-static
  gcc -O2 -g -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" "$ROOT"/tools/relay/*.c -o "$RBIN" \
    "$BUILD/libmoqc.a" "$L/libngtcp2_crypto_gnutls.a" "$L/libngtcp2.a" "$L/libnghttp3.a" \
    $(pkg-config --libs gnutls) "$L/libuv_a.a" -lpthread -ldl -lm \
    $(pkg-config --exists inih && pkg-config --libs inih) || exit 1
fi
PORT=$(( 40000 + RANDOM % 10000 ))
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; sleep 0.5;
            for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

RELAY=("$RBIN" --bind 127.0.0.1:$PORT --http-bind none --log-level warn --cache-budget 32M)
if [ "$TOOL" = callgrind ]; then
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "${RELAY[@]}" > "$OUT/relay.log" 2>&1 &
  RP=$!; PIDS+=($RP); sleep 3
else
  "${RELAY[@]}" > "$OUT/relay.log" 2>&1 &
  RP=$!; PIDS+=($RP); sleep 0.5
  perf record -e cpu-clock -F 1999 -g -p $RP -o "$OUT/relay.perf" > "$OUT/perf.log" 2>&1 &
  PP=$!; PIDS+=($PP); sleep 0.5
fi
URL=moqt://127.0.0.1:$PORT/bench
case "$SC" in
  s2) ARGS=(--profile video --bitrate 2000000 --subs 100 --duration 8 --warmup 2) ;;
  s3) ARGS=(--profile video --bitrate 1000000 --subs "$N" --duration 6 --warmup 2) ;;
  s5) ARGS=(--profile chat --pubs 10 --subs 10 --window 256 --duration 6 --warmup 2) ;;
  s8) ARGS=(--role connect --connect-total 2000 --concurrency 64) ;;
  *) echo "usage: bench/profile.sh s2|s3|s5|s8 [N]"; exit 2 ;;
esac
timeout -k 5 180 "$BUILD/moqc_bench" --url "$URL" "${ARGS[@]}" --relay-pid $RP --label "profile-$SC" \
  > "$OUT/bench.txt" 2>&1
grep -E '^ +(delivered|latency|groups|cpu|sessions)' "$OUT/bench.txt"
if [ "$TOOL" = callgrind ]; then
  kill -TERM $RP; for i in $(seq 100); do kill -0 $RP 2>/dev/null || break; sleep 0.1; done
  callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | head -40 | tee "$OUT/top.txt"
else
  kill -INT $PP; for i in $(seq 100); do kill -0 $PP 2>/dev/null || break; sleep 0.1; done
  echo "== top shared objects (self)"
  perf report -i "$OUT/relay.perf" --no-children --sort dso --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | head -10 | tee "$OUT/dso.txt"
  echo "== top functions (self)"
  perf report -i "$OUT/relay.perf" --no-children --sort sym --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -30 | tee "$OUT/top.txt"
  echo "== top functions (with children)"
  perf report -i "$OUT/relay.perf" --children --sort sym --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | grep -v '\[k\]' | head -30 | tee "$OUT/children.txt"
fi
echo "raw data: $OUT"

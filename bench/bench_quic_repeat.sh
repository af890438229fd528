#!/usr/bin/env bash
# Run bench_quic several times and print the median of every figure.
# The VMs are shared and noisy; medians over runs are what to report.
#   bench/bench_quic_repeat.sh [runs (default 5)] [bench_quic args...]
#   BENCH_QUIC=/path/to/bench_quic overrides the binary (default: build/h3-rel).
set -euo pipefail
runs=${1:-5}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_QUIC:-$here/build/h3-rel/bench_quic}
[ -x "$bin" ] || { echo "no $bin (build it: cmake --build build/h3-rel --target bench_quic)"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$runs"); do
  "$bin" "$@" | tee -a "$out" | grep -E '^(quic|tcp\+tls|ratio)' | sed "s/^/run $i: /"
done
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
for name in quic tcp+tls; do
  grep -q "^$name " "$out" || continue
  mbs=$(grep "^$name " "$out" | awk '{print $2}' | median)
  tx=$(grep "^$name " "$out" | awk '{print $7}' | median)
  rx=$(grep "^$name " "$out" | awk '{print $10}' | median)
  cap=$(grep "^$name " "$out" | awk '{print $13}' | median)
  printf 'median %-8s %8s MB/s  sender %s ns/B  receiver %s ns/B  cpu-bound %s MB/s\n' \
    "$name" "$mbs" "$tx" "$rx" "$cap"
done
if grep -q '^ratio' "$out"; then
  printf 'median ratio quic/tcp %s (goodput), %s (cpu-bound)\n' \
    "$(grep '^ratio' "$out" | awk '{print $3}' | median)" \
    "$(grep '^ratio' "$out" | awk '{print $5}' | median)"
fi

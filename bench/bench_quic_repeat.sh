#!/usr/bin/env bash
# Run bench_quic several times and print the median of every figure.
# The VMs are shared and noisy; medians over runs are what to report.
#   bench/bench_quic_repeat.sh [runs (default 5)] [bench_quic args...]
#   BENCH_QUIC=/path/to/bench_quic overrides the binary (default: build/bench).
# When openssl and curl are installed, each run also measures the TCP + TLS 1.3
# reference that /work/shared/protocol/quic-stack.md quotes (~740 MB/s here):
# `openssl s_server -WWW` sending a file from tmpfs to `curl -o /dev/null`,
# the same number of bytes, right after bench_quic; OPENSSL_REF=0 skips it.
set -euo pipefail
runs=${1:-5}
shift || true
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_QUIC:-$here/build/bench/bench_quic}
[ -x "$bin" ] || { echo "no $bin (build it: cmake --build build/bench --target bench_quic)"; exit 1; }
out=$(mktemp)
ref=""
srv=0
cleanup() { [ "$srv" != 0 ] && kill "$srv" 2>/dev/null; rm -f "$out"; [ -n "$ref" ] && rm -rf "$ref"; }
trap cleanup EXIT

# bytes moved by bench_quic (its --bytes, default 1 GiB)
bytes=1073741824
prev=""
for a in "$@"; do
  if [ "$prev" = --bytes ]; then
    case $a in
      *G) bytes=$(( ${a%G} * 1073741824 )) ;; *M) bytes=$(( ${a%M} * 1048576 )) ;;
      *K) bytes=$(( ${a%K} * 1024 )) ;; *) bytes=$a ;;
    esac
  fi
  prev=$a
done

# openssl s_server -WWW + curl: start once, measure per run.
if [ "${OPENSSL_REF:-1}" = 1 ] && command -v openssl > /dev/null && command -v curl > /dev/null; then
  ref=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/bench_quic_ref.XXXXXX")
  truncate -s "$bytes" "$ref/blob"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ref/key.pem" \
    -out "$ref/cert.pem" -days 2 -subj /CN=localhost > /dev/null 2>&1
  port=$(( 30000 + RANDOM % 20000 ))
  (cd "$ref" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$port" -cert cert.pem \
    -key key.pem -ciphersuites TLS_AES_128_GCM_SHA256 > /dev/null 2>&1) &
  srv=$!
  for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$port/blob" -r 0-0 && break; sleep 0.1; done
fi
ticks=$(getconf CLK_TCK)
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
openssl_ref() { # one transfer; prints an "openssl" line in bench_quic's format
  local c0 c1 t tm
  c0=$(proc_cpu "$srv")
  tm=$( { TIMEFORMAT='%R %U %S'; time curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$port/blob"; } 2>&1 )
  c1=$(proc_cpu "$srv")
  awk -v b="$bytes" -v tm="$tm" -v dc="$((c1 - c0))" -v hz="$ticks" 'BEGIN {
    split(tm, x, " "); wall = x[1]; rx = (x[2] + x[3]) * 1e9 / b; tx = dc / hz * 1e9 / b;
    busy = tx > rx ? tx : rx;
    printf "openssl   %9.1f MB/s  %7.3f s  sender %6.2f ns/B  receiver %6.2f ns/B  cpu-bound %6.0f MB/s\n",
      b / 1048576 / wall, wall, tx, rx, 1e9 / busy / 1048576 }'
}
for i in $(seq "$runs"); do
  "$bin" "$@" | tee -a "$out" | grep -E '^(quic|tcp\+tls|ratio)' | sed "s/^/run $i: /"
  if [ "$srv" != 0 ]; then
    openssl_ref | tee -a "$out" | sed "s/^/run $i: /"
    q=$(grep '^quic ' "$out" | tail -1 | awk '{print $2}')
    o=$(grep '^openssl ' "$out" | tail -1 | awk '{print $2}')
    qc=$(grep '^quic ' "$out" | tail -1 | awk '{print $13}')
    oc=$(grep '^openssl ' "$out" | tail -1 | awk '{print $13}')
    [ -n "$q" ] && awk -v q="$q" -v o="$o" -v qc="$qc" -v oc="$oc" \
      'BEGIN { printf "ratio_openssl %.2f (goodput), %.2f (cpu-bound)\n", q / o, qc / oc }' |
      tee -a "$out" | sed "s/^/run $i: /"
  fi
done
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
for name in quic tcp+tls openssl; do
  grep -q "^$name " "$out" || continue
  mbs=$(grep "^$name " "$out" | awk '{print $2}' | median)
  tx=$(grep "^$name " "$out" | awk '{print $7}' | median)
  rx=$(grep "^$name " "$out" | awk '{print $10}' | median)
  cap=$(grep "^$name " "$out" | awk '{print $13}' | median)
  printf 'median %-8s %8s MB/s  sender %s ns/B  receiver %s ns/B  cpu-bound %s MB/s\n' \
    "$name" "$mbs" "$tx" "$rx" "$cap"
done
if grep -q '^ratio ' "$out"; then
  printf 'median ratio quic/tcp %s (goodput), %s (cpu-bound)\n' \
    "$(grep '^ratio ' "$out" | awk '{print $3}' | median)" \
    "$(grep '^ratio ' "$out" | awk '{print $5}' | median)"
fi
if grep -q '^ratio_openssl' "$out"; then
  printf 'median ratio quic/openssl-s_server+curl %s (goodput), %s (cpu-bound)\n' \
    "$(grep '^ratio_openssl' "$out" | awk '{print $2}' | median)" \
    "$(grep '^ratio_openssl' "$out" | awk '{print $4}' | median)"
fi

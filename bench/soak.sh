#!/usr/bin/env bash
# bench/soak.sh — a relay soak (issue 17): is the relay's RSS flat while
# subscribers keep reconnecting?
#
#   bench/soak.sh                      30 minutes, release build in build/bench
#   bench/soak.sh --duration 600       10 minutes
#   bench/soak.sh --build build/asan --duration 180 --subs 8 --min 2 --max 5 \
#                 --warmup 60 --bound 2   (the CI version: tests/adversarial/test_adv_soak.sh)
#
# What runs (loopback only, every process killed on exit, every wait bounded):
#   - moqc-relay with its default flags (ephemeral port);
#   - one publisher (moqc_bench --role pub, video profile at --bitrate, 1 Mbit/s);
#   - --subs subscribers (`moqc subscribe`), each one reconnecting: it runs for a
#     bounded random time in [--min, --max] seconds, is stopped (SIGTERM: a clean
#     close; one in four SIGKILL: an abrupt end the relay times out) and a new
#     one starts at once;
#   - the relay's VmRSS sampled every --sample seconds.
# Output: the RSS curve (one line per sample in OUT/rss.txt, a summary every
# ~1/15 of the run on stdout), the least-squares slope of RSS over the samples
# after --warmup, in KiB per minute and in KiB per reconnect (slope ÷ the
# measured reconnect rate), and a verdict: "flat" when the growth per reconnect
# is below --bound KiB (default 1: a retained 6.7 KB per reconnect is "growing").
# Exit 0 flat, 1 growing, 2 usage or set-up failure.
#
# Options: --duration S [1800]  --subs N [6]  --min S [20]  --max S [60]
#          --sample S [5]  --warmup S [duration/6, at least 60]  --bitrate BPS [1000000]
#          --bound KIB [1]  --build DIR [build/bench, built with the `bench` target if
#          its binaries are missing]  --out DIR [BUILD/soak-results/STAMP]  --seed N [1]
#          --relay-env VAR=VALUE (repeatable: environment of the relay, e.g. ASAN_OPTIONS)
#          --heap: judge the relay's live heap instead of its RSS (a sanitizer build:
#          __sanitizer_get_current_allocated_bytes() read with gdb at each sample), for
#          ASan, whose allocator does not give freed memory back the way glibc does
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DUR=1800 SUBS=6 MIN=20 MAX=60 SAMPLE=5 WARM= BITRATE=1000000 BOUND=1 BUILD= OUT= SEED=1 HEAP=0
RELAY_ENV=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DUR=$2 ;;
    --subs) SUBS=$2 ;;
    --min) MIN=$2 ;;
    --max) MAX=$2 ;;
    --sample) SAMPLE=$2 ;;
    --warmup) WARM=$2 ;;
    --bitrate) BITRATE=$2 ;;
    --bound) BOUND=$2 ;;
    --build) BUILD=$2 ;;
    --out) OUT=$2 ;;
    --seed) SEED=$2 ;;
    --relay-env) RELAY_ENV+=("$2") ;;
    --heap) HEAP=1; shift; continue ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift 2 || { echo "soak.sh: $1 needs a value" >&2; exit 2; }
done
for v in "$DUR" "$SUBS" "$MIN" "$MAX" "$SAMPLE" "$BITRATE" "$SEED" ${WARM:+"$WARM"}; do
  case "$v" in '' | *[!0-9]*) echo "soak.sh: '$v' is not a whole number" >&2; exit 2 ;; esac
done
[ "$MIN" -ge 1 ] && [ "$MAX" -ge "$MIN" ] && [ "$SUBS" -ge 1 ] && [ "$SAMPLE" -ge 1 ] ||
  { echo "soak.sh: need 1 <= --min <= --max, --subs >= 1, --sample >= 1" >&2; exit 2; }
[ -n "$WARM" ] || WARM=$((DUR / 6 > 60 ? DUR / 6 : 60))
[ "$WARM" -lt "$DUR" ] || { echo "soak.sh: --warmup must be shorter than --duration" >&2; exit 2; }
RANDOM=$SEED

BUILD=${BUILD:-$ROOT/build/bench}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=${OUT:-$BUILD/soak-results/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 2
T0=$(date +%s)
log() { printf '[%5ds] %s\n' $(($(date +%s) - T0)) "$*" | tee -a "$OUT/soak.log" >&2; }

if [ ! -x "$BUILD/moqc-relay" ] || [ ! -x "$BUILD/moqc" ] || [ ! -x "$BUILD/moqc_bench" ]; then
  log "building release binaries in $BUILD"
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOQC_BUILD_TESTS=OFF &&
    cmake --build "$BUILD" -j"$(nproc)" --target bench; } >"$OUT/build.log" 2>&1 ||
    { tail -20 "$OUT/build.log"; log "build failed"; exit 2; }
fi

# ---- processes: every one started here is killed on exit ------------------------------
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}" "${SUB_PID[@]}"; do [ "$p" != 0 ] && kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
trap 'log "interrupted"; exit 2' INT TERM

# ---- relay (default flags, ephemeral port) ---------------------------------------------
RELAY_PID=0 PORT= FP=
for try in 1 2 3; do
  env "${RELAY_ENV[@]}" "$BUILD/moqc-relay" --bind 127.0.0.1:0 --log-level warn \
    >"$OUT/relay.out" 2>"$OUT/relay.err" &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  for i in $(seq 200); do
    grep -q '^ready$' "$OUT/relay.out" 2>/dev/null && break
    kill -0 "$RELAY_PID" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ready$' "$OUT/relay.out" && break
  kill -KILL "$RELAY_PID" 2>/dev/null # the TCP twin of the UDP port may be taken: retry
done
PORT=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$OUT/relay.out")
FP=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$OUT/relay.out")
[ -n "$PORT" ] && [ -n "$FP" ] || { log "relay did not start: $(tail -3 "$OUT/relay.err")"; exit 2; }
URL=moqt://127.0.0.1:$PORT/soak
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$RELAY_PID/status" 2>/dev/null; }
heap() { # live heap in KiB (sanitizer builds), through gdb
  gdb -batch -p "$RELAY_PID" -ex 'print (unsigned long)__sanitizer_get_current_allocated_bytes()' \
    2>/dev/null | sed -n 's/^\$1 = \([0-9]*\).*/\1/p' | awk '{ print int($1 / 1024) }'
}
if [ "$HEAP" = 1 ] && [ -z "$(heap)" ]; then
  log "--heap: cannot read the relay's heap (needs gdb and a sanitizer build)"; exit 2
fi

# ---- publisher ---------------------------------------------------------------------------
"$BUILD/moqc_bench" --role pub --url "$URL" --profile video --bitrate "$BITRATE" \
  --duration "$((DUR + 30))" --warmup 0 --tail 1 --max-time "$((DUR + 90))" --quiet \
  >"$OUT/pub.out" 2>"$OUT/pub.err" &
PIDS+=($!)
PUB_PID=$!
log "relay pid $RELAY_PID on udp $PORT; publisher at $BITRATE bit/s; $SUBS subscribers" \
  "reconnecting every $MIN-$MAX s; $DUR s, warm-up $WARM s, sample every $SAMPLE s"

# ---- reconnecting subscribers ------------------------------------------------------------
SUB_PID=() SUB_END=() RECONNECTS=0 RECONNECTS_WARM=0 ABRUPT=0
sub_start() { # sub_start I
  "$BUILD/moqc" --tls-fingerprint "$FP" subscribe --url "$URL" --broadcast p0 --track t0 \
    >/dev/null 2>>"$OUT/sub.err" &
  SUB_PID[$1]=$!
  SUB_END[$1]=$(($(date +%s) + MIN + RANDOM % (MAX - MIN + 1)))
}
sub_stop() { # sub_stop I: SIGTERM (clean close), one in four SIGKILL (abrupt)
  local p=${SUB_PID[$1]} i
  if [ $((RANDOM % 4)) = 0 ]; then
    kill -KILL "$p" 2>/dev/null
    ABRUPT=$((ABRUPT + 1))
  else
    kill -TERM "$p" 2>/dev/null
    for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null
  SUB_PID[$1]=0
}
for i in $(seq 0 $((SUBS - 1))); do sub_start "$i"; done

# ---- run and sample ------------------------------------------------------------------------
: >"$OUT/rss.txt"
next_sample=0 every=$((DUR / 15 > SAMPLE ? DUR / 15 : SAMPLE)) next_print=0
while :; do
  now=$(($(date +%s) - T0))
  [ "$now" -ge "$DUR" ] && break
  kill -0 "$RELAY_PID" 2>/dev/null || { log "the relay died: $(tail -3 "$OUT/relay.err")"; exit 2; }
  kill -0 "$PUB_PID" 2>/dev/null || { log "the publisher died: $(tail -3 "$OUT/pub.err")"; exit 2; }
  for i in $(seq 0 $((SUBS - 1))); do
    if [ "$(date +%s)" -ge "${SUB_END[$i]}" ] || ! kill -0 "${SUB_PID[$i]}" 2>/dev/null; then
      sub_stop "$i"
      sub_start "$i"
      RECONNECTS=$((RECONNECTS + 1))
      [ "$now" -ge "$WARM" ] && RECONNECTS_WARM=$((RECONNECTS_WARM + 1))
    fi
  done
  if [ "$now" -ge "$next_sample" ]; then
    r=$(rss)
    h=
    [ "$HEAP" = 1 ] && h=$(heap)
    echo "$now $r $RECONNECTS $h" >>"$OUT/rss.txt"
    next_sample=$((next_sample + SAMPLE))
    if [ "$now" -ge "$next_print" ]; then
      log "t=${now}s relay RSS ${r} KiB${h:+, live heap $h KiB}, reconnects $RECONNECTS"
      next_print=$((next_print + every))
    fi
  fi
  sleep 0.2
done
log "relay RSS at the end $(rss) KiB; $RECONNECTS reconnects ($ABRUPT abrupt)," \
  "$RECONNECTS_WARM after the warm-up"
cp "$OUT/rss.txt" "$OUT/rss.csv" 2>/dev/null

# ---- verdict: least-squares slope after the warm-up --------------------------------------
# The relay must still be alive and serving at the end.
kill -0 "$RELAY_PID" 2>/dev/null || { log "the relay died"; exit 2; }
what=RSS
[ "$HEAP" = 1 ] && what="live heap"
awk -v warm="$WARM" -v bound="$BOUND" -v heap="$HEAP" -v what="$what" '
  heap == 1 { $2 = $4 }
  $1 >= warm && $2 != "" { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2;
    if (n == 1) { t0 = $1; r0 = $2; c0 = $3 } t1 = $1; r1 = $2; c1 = $3;
    if ($2 > max) max = $2; if (min == "" || $2 < min) min = $2 }
  END {
    if (n < 3 || t1 == t0) { print "verdict: too few samples after the warm-up"; exit 2 }
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)          # KiB per second
    rate = (c1 - c0) / (t1 - t0)                                 # reconnects per second
    per = rate > 0 ? slope / rate : 0
    printf "after warm-up (%d s .. %d s, %d samples): %s %d -> %d KiB (min %d, max %d)\n",
      t0, t1, n, what, r0, r1, min, max
    printf "slope %.1f KiB/min; %d reconnects (%.2f/min): %.2f KiB per reconnect (bound %s)\n",
      slope * 60, c1 - c0, rate * 60, per, bound
    if (rate <= 0) { print "verdict: no reconnects after the warm-up"; exit 2 }
    if (per < bound) { print "verdict: flat"; exit 0 }
    print "verdict: GROWING"; exit 1
  }' "$OUT/rss.txt" | tee -a "$OUT/soak.log"
rc=${PIPESTATUS[0]}
log "samples: $OUT/rss.txt (seconds, RSS KiB, reconnects so far, live heap KiB with --heap)"
exit "$rc"

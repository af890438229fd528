#!/usr/bin/env bash
# bench/run.sh — run every benchmark scenario of issue 6 (loopback, < 10 min plus ~3.5 for the IETF rounds),
# print the figures against their targets, and write docs/benchmarks.md.
#
#   bench/run.sh                 everything (builds a release build first)
#   bench/run.sh s1 s5           only these scenarios (s1..s8; s2ws: s2 over WebSocket;
#                                s2hop: s2 through a two-relay chain; s2ietf / s5ietf:
#                                s2 / s5 with IETF moq-transport clients, which also run
#                                with s2 / s5)
#   IETF_VERSIONS="moqt-16 moqt-18"  the IETF drafts of the s2ietf / s5ietf rows
#   IETF_ROUNDS=3                rounds of (lite, each IETF draft), alternated; the IETF
#                                rows report the median of the rounds' ratios [3; QUICK: 1]
#   QUICK=1 bench/run.sh         shorter windows (smoke test, ~3 min)
#   BUILD_DIR=build/x bench/run.sh   build directory [build/bench]
#   NO_DOCS=1 bench/run.sh       do not rewrite docs/benchmarks.md
#   RELAY=/x/moqc-relay bench/run.sh   run another build's relay (a before/after pair; the
#                                load tools are still this tree's)
#   QUIET_BUDGET=90              seconds the run may wait, in total, for other work to
#                                leave the CPUs before a scenario (0: never wait)
#
# The machine is shared and noisy: every figure is a ratio against a baseline
# measured in the same run (raw QUIC from bench_quic, nginx-rtmp, nats-server),
# printed next to the absolute numbers. Peers (nginx-rtmp, ffmpeg, nats-server)
# come from bench/install-bench-deps.sh; missing ones are skipped and reported.
# Every process started here is killed on exit; every wait is bounded.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build/bench}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$BUILD/bench-results/$STAMP
mkdir -p "$OUT"
QUICK=${QUICK:-0}
T0=$(date +%s)
SCEN=("$@")
[ ${#SCEN[@]} -eq 0 ] && SCEN=(s1 s2 s3 s4 s5 s6 s7 s8)
want() { local s; for s in "${SCEN[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
log() { printf '[%4ds] %s\n' $(( $(date +%s) - T0 )) "$*" | tee -a "$OUT/run.log" >&2; }
# The machine is shared: keep the load average next to every scenario, so a
# run done while something else was busy can be recognised.
loadavg() { echo "$(date +%s) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/loadavg.txt"; }
# Busy share of all CPUs over 0.5 s (/proc/stat), while none of ours runs.
cpu_busy() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ < /proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  sleep 0.5
  read -r _ a b c d e f g h _ < /proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
  echo $(( t2 > t1 ? 100 - 100 * (i2 - i1) / (t2 - t1) : 0 ))
}
# Before each scenario, wait (at most QUIET_BUDGET seconds over the whole run)
# until other work leaves the CPUs mostly idle; record what was found.
QUIET_LEFT=$(( ${QUIET_BUDGET:-90} * 2 ))
wait_quiet() {
  local b waited=0
  b=$(cpu_busy)
  while [ "$b" -ge 30 ] && [ $QUIET_LEFT -gt 0 ]; do
    QUIET_LEFT=$((QUIET_LEFT - 1)); waited=$((waited + 1)); b=$(cpu_busy)
  done
  echo "$(date +%s) $1 busy=$b waited_half_s=$waited" >> "$OUT/quiet.txt"
  [ $waited -gt 0 ] && log "$1: waited $((waited / 2)) s for other work to leave the CPUs (now ${b}% busy)"
  return 0
}

# Durations (seconds): measurement window per scenario.
if [ "$QUICK" = 1 ]; then DUR=4; WARM=1; STALL=20; CONNS=1000; else DUR=8; WARM=2; STALL=60; CONNS=3000; fi

# ---- processes: every one we start is registered and killed on exit ------------------
PIDS=()
reg() { PIDS+=("$1"); }
stop_pid() { # stop_pid PID [signal]: TERM, wait <= 5 s, then KILL
  local p=$1 i
  kill -"${2:-TERM}" "$p" 2>/dev/null || return 0
  kill -CONT "$p" 2>/dev/null
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
descendants() { local c; for c in $(pgrep -P "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }
cleanup() {
  local p all=()
  for p in "${PIDS[@]}"; do all+=($(descendants "$p") "$p"); done
  for p in "${all[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---- build ---------------------------------------------------------------------------
# The `bench` target (CMakeLists.txt) is moqc-relay, moqc and every bench/*.c
# program: whatever a scenario runs is built, also on a fresh clone.
log "building release binaries in $BUILD"
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOQC_BUILD_TESTS=OFF \
         > "$OUT/build.log" 2>&1 &&
       cmake --build "$BUILD" -j"$(nproc)" --target bench >> "$OUT/build.log" 2>&1; }; then
  tail -30 "$OUT/build.log"; log "build failed"; exit 1
fi
RELAY=${RELAY:-$BUILD/moqc-relay}
MB=$BUILD/moqc_bench

# ---- ports ----------------------------------------------------------------------------
BASE=$(( 20000 + (RANDOM % 2000) * 10 ))
RPORT=$BASE; NGXPORT=$((BASE + 1)); NATSPORT=$((BASE + 2)); NATSTLS=$((BASE + 3))
FBPORT=$((BASE + 4)); DIRECT=$((BASE + 5))

# ---- relay ------------------------------------------------------------------------------
RELAY_PID=0
CACHE_BUDGET=32M
relay_start() { # relay_start NAME [extra flags]: sets RELAY_PID; waits for "ready"
  local name=$1; shift
  local try i
  wait_quiet "$name"
  for try in 1 2 3; do
    # Every bench client comes from 127.0.0.1: lift the per-address limits
    # (docs/relay.md "Limits"), which would refuse the 100-1000 subscribers.
    "$RELAY" --bind 127.0.0.1:$RPORT --http-bind none --log-level warn \
      --cache-budget $CACHE_BUDGET --max-conns-per-addr 0 --max-handshakes-per-addr 0 --new-conns-per-addr 0 --http-max-conns-per-addr 0 \
      "$@" > "$OUT/$name.relay.log" 2>&1 &
    RELAY_PID=$!; reg $RELAY_PID
    for i in $(seq 50); do
      grep -q '^ready' "$OUT/$name.relay.log" 2>/dev/null && { sleep 0.2; return 0; }
      kill -0 $RELAY_PID 2>/dev/null || break
      sleep 0.1
    done
    stop_pid $RELAY_PID KILL
    RPORT=$((RPORT + 7))
  done
  log "relay did not start: $(tail -2 "$OUT/$name.relay.log")"
  return 1
}
relay_stop() { [ "$RELAY_PID" != 0 ] && stop_pid $RELAY_PID; RELAY_PID=0; }
URL() { echo "moqt://127.0.0.1:$RPORT/bench"; }

# run_bench LABEL LIMIT_S cmd...: stdout -> OUT/LABEL.txt, JSON -> OUT/LABEL.json
run_bench() {
  local label=$1 limit=$2; shift 2
  loadavg "$label"
  timeout -k 5 "$limit" "$@" --label "$label" --json "$OUT/$label.json" \
    > "$OUT/$label.txt" 2> "$OUT/$label.err"
  local rc=$?
  [ -s "$OUT/$label.json" ] || echo "{\"label\":\"$label\",\"ok\":false,\"error\":\"rc $rc\"}" > "$OUT/$label.json"
  grep -E '^ +(delivered|latency|groups|cpu|sessions|relay RSS)' "$OUT/$label.txt" | sed "s/^/    [$label] /" >&2
  return 0
}

have() { command -v "$1" > /dev/null 2>&1; }
echo "{}" > "$OUT/skipped.json"
skip() { log "SKIP $1: $2"; python3 - "$OUT/skipped.json" "$1" "$2" <<'EOF'
import json, sys
p, k, v = sys.argv[1:4]
d = json.load(open(p)); d[k] = v; json.dump(d, open(p, "w"))
EOF
}

# ---- machine --------------------------------------------------------------------------
{
  echo "{\"nproc\": $(nproc), \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\","
  echo " \"kernel\": \"$(uname -r)\", \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo " \"mem_mb\": $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo), \"quick\": $QUICK,"
  echo " \"commit\": \"$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo +dirty)\"}"
} > "$OUT/machine.json"

# =========================================================================================
# 1. pub -> relay -> 1 sub, 64 KB frames: goodput / raw QUIC goodput
# =========================================================================================
if want s1 || want s2; then
  log "baseline: bench_quic (raw QUIC point-to-point, and TCP+TLS for reference)"
  wait_quiet bench_quic
  timeout -k 5 120 "$BUILD/bench_quic" --bytes $([ "$QUICK" = 1 ] && echo 256M || echo 512M) \
    > "$OUT/quic.txt" 2>&1 || log "bench_quic failed"
  # The same transfer in the packets any non-loopback path gets (<= 1,452 B),
  # for comparison with the 16,200-byte packets loopback peers get by default.
  timeout -k 5 120 "$BUILD/bench_quic" --bytes $([ "$QUICK" = 1 ] && echo 256M || echo 512M) \
    --loopback-pkt off --quic-only > "$OUT/quic1452.txt" 2>&1 || log "bench_quic (1452) failed"
  grep -E '^(quic|tcp)' "$OUT/quic.txt" | sed 's/^/    /' >&2
  grep -E '^quic' "$OUT/quic1452.txt" | sed 's/^quic /quic(1452)/; s/^/    /' >&2
fi
if want s1; then
  log "s1: publisher -> relay -> 1 subscriber, 64 KiB frames, max rate (3 processes)"
  relay_start s1 && {
    # One group for the whole run: one QUIC stream, like bench_quic (the baseline).
    run_bench s1_sub $((DUR + 60)) "$MB" --role sub --url "$(URL)" --profile bulk --subs 1 \
      --duration $DUR --feedback-port $FBPORT &
    SP=$!; reg $SP; sleep 0.5
    run_bench s1_pub $((DUR + 60)) "$MB" --role pub --url "$(URL)" --profile bulk --window 64 \
      --group-frames 1000000 \
      --duration $DUR --warmup $WARM --feedback-port $FBPORT --relay-pid $RELAY_PID
    wait $SP
    relay_stop
  }
fi

# =========================================================================================
# 2. 1 pub -> relay -> 100 subs, video 2 Mbit/s: relay CPU per GB vs raw QUIC sender
# =========================================================================================
FLV2=$OUT/test_2M.flv; FLV1=$OUT/test_1M.flv
ngx_ok=0
if have nginx && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] && have ffmpeg; then ngx_ok=1; fi
make_flv() { # make_flv FILE BITRATE
  [ -f "$1" ] || ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 \
    -t 10 -c:v libx264 -preset ultrafast -b:v "$2" -minrate "$2" -maxrate "$2" -bufsize "$2" \
    -x264-params nal-hrd=cbr:force-cfr=1 -g 60 -pix_fmt yuv420p -an -f flv "$1"
}
NGX_PID=0; FF_PID=0
ngx_start() { # ngx_start FLV
  local d=$OUT/nginx
  wait_quiet nginx
  mkdir -p "$d"
  cat > "$d/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
rtmp {
  server {
    listen 127.0.0.1:$NGXPORT;
    chunk_size 4096;
    application live { live on; record off; }
  }
}
EOF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" > "$d/stdout.log" 2>&1 &
  NGX_PID=$!; reg $NGX_PID
  sleep 0.5
  ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$1" -c copy -f flv \
    "rtmp://127.0.0.1:$NGXPORT/live/s" > "$d/ffmpeg.log" 2>&1 &
  FF_PID=$!; reg $FF_PID
  sleep 1
}
ngx_stop() { [ $FF_PID != 0 ] && stop_pid $FF_PID; [ $NGX_PID != 0 ] && stop_pid $NGX_PID; FF_PID=0; NGX_PID=0; }

# The IETF rows (issue 12): the same scenario with every client (publisher and
# subscribers) speaking IETF moq-transport, one row per draft in IETF_VERSIONS, right
# after the moq-lite row, each reported as a ratio against that lite row.
IETF_VERSIONS=${IETF_VERSIONS:-moqt-16 moqt-18}
# One round's CPU figure swings by ±20% on this kind of machine (batching follows the
# load): the lite and IETF runs alternate for IETF_ROUNDS rounds, and the report takes
# the median of the rounds' ratios (round 1 is the scenario's own lite row).
IETF_ROUNDS=${IETF_ROUNDS:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
ietf_label() { echo "$1ietf${2#moqt-}"; } # ietf_label s2 moqt-16 -> s2ietf16
# ietf_rounds SCEN RUNFN: round 1 runs the IETF drafts after SCEN's lite row; rounds
# 2.. run SCEN_rK (lite) then each draft's LABEL_rK.
ietf_rounds() {
  local scen=$1 fn=$2 r v
  for ((r = 1; r <= IETF_ROUNDS; r++)); do
    local sfx=""
    if [ $r -gt 1 ]; then
      sfx=_r$r
      log "$scen lite, round $r of $IETF_ROUNDS"
      $fn "$scen$sfx"
    fi
    for v in $IETF_VERSIONS; do
      log "${scen}ietf: the same over IETF $v (publishers and subscribers), round $r of $IETF_ROUNDS"
      $fn "$(ietf_label "$scen" "$v")$sfx" --version "$v"
    done
  done
}
s2_run() { # s2_run LABEL [moqc_bench flags]
  local label=$1; shift
  relay_start "$label" && {
    run_bench "$label" $((DUR + 90)) "$MB" --url "$(URL)" --profile video --bitrate 2000000 --subs 100 \
      --duration $((DUR + 2)) --warmup $WARM --relay-pid $RELAY_PID "$@"
    relay_stop
  }
}
if want s2 || want s2ietf; then
  log "s2: 1 publisher -> relay -> 100 subscribers, video 2 Mbit/s"
  s2_run s2
  ietf_rounds s2 s2_run
fi
if want s2; then
  # The transports alone on the same traffic (no MoQ, no relay): the floor
  # under the relay's figure, QUIC next to TCP+TLS and plain TCP.
  log "s2 floor: bench_fanout (raw QUIC / TCP+TLS / TCP fan-out to 100, 2 Mbit/s video)"
  wait_quiet s2_fanout
  loadavg s2_fanout
  timeout -k 5 $((3 * (DUR + WARM) + 120)) "$BUILD/bench_fanout" --subs 100 --bitrate 2000000 \
    --seconds $DUR --warmup $WARM > "$OUT/s2_fanout.txt" 2>&1 || log "bench_fanout failed"
  grep -E '^(quic|tcp)' "$OUT/s2_fanout.txt" | sed 's/^/    /' >&2
  if [ $ngx_ok = 1 ]; then
    log "s2 peer: nginx-rtmp, ffmpeg publishing a 2 Mbit/s FLV, 100 RTMP players"
    make_flv "$FLV2" 2M
    ngx_start "$FLV2"
    run_bench s2_nginx $((DUR + 60)) "$BUILD/bench_rtmp_sub" --port $NGXPORT --subs 100 \
      --warmup $WARM --duration $((DUR + 2)) --server-pid $NGX_PID
    ngx_stop
  else skip s2_nginx "nginx-light/libnginx-mod-rtmp/ffmpeg not installed (bench/install-bench-deps.sh)"; fi
fi
# s2 over WebSocket: the same traffic, the publisher over QUIC, the 100 subscribers over
# ws:// (QMux on the relay's TCP listener, the library's own client): relay CPU per
# delivered byte next to s2's QUIC figure and nginx-rtmp's. Runs with s2, or alone (s2ws).
if want s2 || want s2ws; then
  log "s2ws: 1 publisher (QUIC) -> relay -> 100 WebSocket subscribers, video 2 Mbit/s"
  relay_start s2ws --http-bind 127.0.0.1:$RPORT && {
    run_bench s2ws $((DUR + 90)) "$MB" --url "$(URL)" --sub-url "ws://127.0.0.1:$RPORT/bench" \
      --profile video --bitrate 2000000 --subs 100 --duration $((DUR + 2)) --warmup $WARM \
      --relay-pid $RELAY_PID
    relay_stop
  }
fi

# s2hop (issue 16): the same traffic through a two-relay chain, publisher -> A -> B -> 100
# subscribers (B dials A with --cluster-connect, as a cluster peer): both relays' CPU per
# delivered byte next to s2's single-relay figure of the same run. Runs with s2, or alone.
if want s2 || want s2hop; then
  log "s2hop: 1 publisher -> relay A -> relay B (cluster peer) -> 100 subscribers, video 2 Mbit/s"
  relay_start s2hop_a --http-bind 127.0.0.1:$RPORT --cluster-id 1 && {
    A_PID=$RELAY_PID A_PORT=$RPORT
    RPORT=$((BASE + 6))
    if relay_start s2hop_b --http-bind 127.0.0.1:$((BASE + 6)) --cluster-id 2 \
      --cluster-connect "http://127.0.0.1:$A_PORT/"; then
      B_PID=$RELAY_PID B_PORT=$RPORT
      for i in $(seq 100); do
        curl -s --max-time 2 "http://127.0.0.1:$((BASE + 6))/metrics" | grep -q '^moqc_relay_cluster_peers_up 1$' && break
        sleep 0.1
      done
      run_bench s2hop $((DUR + 90)) "$MB" --url "moqt://127.0.0.1:$A_PORT/bench" \
        --sub-url "moqt://127.0.0.1:$B_PORT/bench" --profile video --bitrate 2000000 --subs 100 \
        --duration $((DUR + 2)) --warmup $WARM --relay-pid $B_PID --relay-pid2 $A_PID
      relay_stop
    fi
    RPORT=$A_PORT RELAY_PID=$A_PID
    relay_stop
  }
fi

# =========================================================================================
# 3. 1 pub at 1 Mbit/s -> N subs: largest N with 0 lost groups and p99 < 50 ms
# =========================================================================================
if want s3; then
  for n in 10 100 500 1000; do
    log "s3: 1 Mbit/s video -> $n subscribers"
    relay_start s3_$n && {
      run_bench s3_$n $((DUR + 120)) "$MB" --url "$(URL)" --profile video --bitrate 1000000 \
        --subs $n --duration $DUR --warmup $WARM --relay-pid $RELAY_PID
      relay_stop
    }
  done
  for n in 10 100 500; do
    log "s3 lossy: 1 Mbit/s video -> $n subscribers through a 2% loss forwarder"
    relay_start s3l_$n && {
      "$BUILD/udpfwd" --to 127.0.0.1:$RPORT --drop 0.02 --seed 6 --max-seconds 300 \
        > "$OUT/s3l_$n.fwd.out" 2> "$OUT/s3l_$n.fwd.err" &
      FWD=$!; reg $FWD
      for i in $(seq 30); do grep -q '^port' "$OUT/s3l_$n.fwd.out" && break; sleep 0.1; done
      FPORT=$(awk '/^port/{print $2}' "$OUT/s3l_$n.fwd.out")
      run_bench s3l_$n $((DUR + 120)) "$MB" --url "$(URL)" --sub-url "moqt://127.0.0.1:$FPORT/bench" \
        --profile video --bitrate 1000000 --subs $n --duration $DUR --warmup $WARM --relay-pid $RELAY_PID
      stop_pid $FWD
      relay_stop
    }
  done
  if [ $ngx_ok = 1 ]; then
    make_flv "$FLV1" 1M
    for n in 10 100 500 1000; do
      log "s3 peer: nginx-rtmp, 1 Mbit/s FLV -> $n RTMP players"
      ngx_start "$FLV1"
      run_bench s3_nginx_$n $((DUR + 60)) "$BUILD/bench_rtmp_sub" --port $NGXPORT --subs $n \
        --warmup $WARM --duration $DUR --server-pid $NGX_PID
      ngx_stop
    done
  else skip s3_nginx "nginx-rtmp/ffmpeg not installed"; fi
fi

# =========================================================================================
# 4. light load (audio profile), 100 subs: p99 via relay minus p99 direct
# =========================================================================================
s4_run() { # s4_run LABEL PUB_ARGS...: publisher in one process (started first), subscribers in another
  local label=$1; shift
  run_bench ${label}_pub $((DUR + 60)) "$MB" --role pub --profile audio --duration $DUR \
    --warmup $((WARM + 2)) "$@" &
  local pp=$!; reg $pp; sleep 0.5
  run_bench ${label}_sub $((DUR + 60)) "$MB" --role sub --url "$S4URL" --profile audio --subs 100 \
    --duration $DUR
  wait $pp
}
if want s4; then
  # Three interleaved rounds (relay, direct, relay, direct, ...): a p99 from one
  # 8 s run on a shared machine moves by about a millisecond between identical
  # runs, so the figure is the median of the three per-round differences.
  S4ROUNDS=${S4ROUNDS:-3}
  for r in $(seq "$S4ROUNDS"); do
    log "s4 round $r/$S4ROUNDS: audio profile (64 kbit/s, 20 ms), 100 subscribers, through the relay"
    relay_start s4_$r && {
      S4URL=$(URL)
      s4_run s4_relay_$r --url "$(URL)" --relay-pid $RELAY_PID
      relay_stop
    }
    log "s4 round $r/$S4ROUNDS: same, subscribers connected directly to the publisher (no relay)"
    S4URL="moqt://127.0.0.1:$DIRECT/bench"
    s4_run s4_direct_$r --listen 127.0.0.1:$DIRECT
  done
fi

# =========================================================================================
# 5. chat bus: 100-byte frames, 10 pubs x 10 subs: frames/s delivered; NATS side by side
# =========================================================================================
s5_run() { # s5_run LABEL [moqc_bench flags]
  local label=$1; shift
  relay_start "$label" && {
    run_bench "$label" $((DUR + 60)) "$MB" --url "$(URL)" --profile chat --pubs 10 --subs 10 \
      --window 256 --duration $DUR --warmup $WARM --relay-pid $RELAY_PID "$@"
    relay_stop
  }
}
if want s5 || want s5ietf; then
  log "s5: chat bus 10 publishers x 10 subscribers, 100-byte frames, max rate"
  s5_run s5
  ietf_rounds s5 s5_run
fi
if want s5; then
  if have nats-server; then
    d=$OUT/nats; mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/key.pem" \
      -out "$d/cert.pem" -days 2 -subj /CN=localhost > /dev/null 2>&1
    printf 'listen: 127.0.0.1:%s\n' $NATSPORT > "$d/plain.conf"
    printf 'listen: 127.0.0.1:%s\ntls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' $NATSTLS \
      "$d/cert.pem" "$d/key.pem" > "$d/tls.conf"
    for mode in plain tls; do
      log "s5 peer: nats-server ($mode)"
      wait_quiet nats_$mode
      nats-server -c "$d/$mode.conf" > "$d/$mode.log" 2>&1 &
      NP=$!; reg $NP; sleep 0.7
      port=$NATSPORT; flag=""; [ $mode = tls ] && { port=$NATSTLS; flag=--tls; }
      run_bench s5_nats_$mode $((DUR + 60)) "$BUILD/bench_nats" --port $port $flag --pubs 10 \
        --subs 10 --size 100 --window 256 --warmup $WARM --duration $DUR --server-pid $NP
      stop_pid $NP
    done
  else skip s5_nats "nats-server not installed"; fi
fi

# =========================================================================================
# 6. 1000 idle subscriber sessions: relay RSS per session
# =========================================================================================
if want s6; then
  log "s6: 1000 idle subscriber sessions"
  relay_start s6 && {
    run_bench s6 120 "$MB" --role idle --url "$(URL)" --subs 1000 --hold 3 --relay-pid $RELAY_PID
    relay_stop
  }
fi

# =========================================================================================
# 7. one subscriber stalls (SIGSTOP) while 100 read: relay RSS over the stall
# =========================================================================================
if want s7; then
  log "s7: 100 readers + 1 stalled subscriber (SIGSTOP) for ${STALL}s, video 4 Mbit/s"
  relay_start s7 && {
    "$MB" --role sub --url "$(URL)" --profile video --bitrate 4000000 --subs 1 \
      --duration $STALL --label s7_stalled --json "$OUT/s7_stalled.json" --quiet \
      > "$OUT/s7_stalled.txt" 2>&1 &
    STP=$!; reg $STP
    sleep 0.5
    echo "t_s rss_kb" > "$OUT/s7_rss.txt"
    run_bench s7 $((STALL + 120)) "$MB" --url "$(URL)" --profile video --bitrate 4000000 \
      --subs 100 --duration $STALL --warmup $WARM --relay-pid $RELAY_PID &
    BP=$!; reg $BP
    # stall the lone subscriber once everyone is flowing; sample the relay's RSS each second
    sleep $((WARM + 3))
    kill -STOP $STP 2>/dev/null
    log "s7: subscriber $STP stopped (SIGSTOP)"
    for i in $(seq $((STALL + 10))); do
      kill -0 $BP 2>/dev/null || break
      echo "$i $(awk '/VmRSS/{print $2}' /proc/$RELAY_PID/status 2>/dev/null)" >> "$OUT/s7_rss.txt"
      sleep 1
    done
    wait $BP
    kill -CONT $STP 2>/dev/null; stop_pid $STP
    relay_stop
  }
fi

# =========================================================================================
# 8. connection setup: handshakes + sessions per second
# =========================================================================================
if want s8; then
  log "s8: connection setup rate ($CONNS sessions, 64 concurrent)"
  relay_start s8 && {
    run_bench s8 120 "$MB" --role connect --url "$(URL)" --connect-total $CONNS --concurrency 64 \
      --relay-pid $RELAY_PID
    relay_stop
  }
fi

# ---- report -------------------------------------------------------------------------------
log "all scenarios done in $(( $(date +%s) - T0 )) s; results in $OUT"
DOCS_ARG=""
[ "${NO_DOCS:-0}" = 1 ] || DOCS_ARG="--docs $ROOT/docs/benchmarks.md"
python3 "$ROOT/bench/report.py" "$OUT" --elapsed $(( $(date +%s) - T0 )) $DOCS_ARG | tee "$OUT/report.txt"

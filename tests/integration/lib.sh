# Helpers for tests/integration/test_*.sh (source it; bash only).
#
#   . "$(dirname "$0")/lib.sh"
#   it_init                         # binaries, temp dir, cleanup trap
#   it_relay_start [relay flags]    # -> RELAY_PID RELAY_PORT HTTP_PORT FP (loopback, ephemeral)
#   it_bg NAME cmd...               # background process, output in $IT_TMP/NAME.{out,err}
#   it_wait NAME SECONDS            # bounded wait; returns the exit code (124 = timeout, killed)
#   it_relay_stop                   # SIGTERM, expect exit 0 and no sanitizer report
#   it_fail "message"               # print logs, exit 1
#
# Everything is bounded: every wait has a deadline, every process we start is
# killed (by PID) at exit. Only loopback addresses and ephemeral ports are used.
# Set MOQC_IT_KEEP=1 to keep the temp dir.

set -u

IT_SRC=${MOQC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IT_BUILD=${MOQC_BUILD_DIR:-$IT_SRC/build}
RELAY_BIN=$IT_BUILD/moqc-relay
MOQC_BIN=$IT_BUILD/moqc
IT_NAME=$(basename "$0" .sh)
IT_PIDS=()
declare -A IT_PID_OF=()

it_log() { echo "[$IT_NAME $(date +%H:%M:%S.%N | cut -c1-12)] $*" >&2; }

it_dump() {
  local f n=0
  if [ -n "${HTTP_PORT:-}" ] && [ -n "${RELAY_PID:-}" ] && kill -0 "$RELAY_PID" 2>/dev/null; then
    echo "---- relay /metrics (non-zero)" >&2
    it_http /metrics | grep -E '^moqc' | grep -vE ' 0$' >&2
  fi
  for f in "$IT_TMP"/relay*.err "$IT_TMP"/*.err "$IT_TMP"/relay*.out; do
    [ -s "$f" ] || continue
    case " ${seen:-} " in *" $f "*) continue ;; esac
    local seen="${seen:-} $f"
    n=$((n + 1))
    [ "$n" -gt 25 ] && { echo "---- (more logs in $IT_TMP; MOQC_IT_KEEP=1 keeps them)" >&2; break; }
    echo "---- $(basename "$f") (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
}

it_fail() {
  echo "FAIL [$IT_NAME]: $*" >&2
  it_dump
  exit 1
}

it_cleanup() {
  local pid
  for pid in "${IT_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${IT_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ "${MOQC_IT_KEEP:-0}" = 1 ]; then echo "kept $IT_TMP" >&2; else rm -rf "$IT_TMP"; fi
}

it_init() {
  [ -x "$RELAY_BIN" ] || it_fail_early "missing $RELAY_BIN (build the tools first)"
  [ -x "$MOQC_BIN" ] || it_fail_early "missing $MOQC_BIN (build the tools first)"
  command -v timeout >/dev/null || it_fail_early "coreutils timeout missing"
  IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/moqc-it.XXXXXX")
  trap it_cleanup EXIT
  trap 'exit 130' INT TERM
  # Sanitizer reports go to stderr; make them unmistakable and fatal.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=66}
}

it_fail_early() {
  echo "FAIL [$IT_NAME]: $*" >&2
  exit 1
}

# it_bg NAME cmd... : start in the background; stdin from /dev/null unless
# IT_STDIN is set to a file.
it_bg() {
  local name=$1
  shift
  # FDs 6-9 are the test's FIFO writers (it_fifo): children must not hold them.
  "$@" <"${IT_STDIN:-/dev/null}" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err" 6>&- 7>&- 8>&- 9>&- &
  local pid=$!
  IT_PIDS+=("$pid")
  IT_PID_OF[$name]=$pid
}

it_pid() { echo "${IT_PID_OF[$1]}"; }

# it_wait NAME SECONDS : wait for a background process; echo nothing, return its
# exit code, or 124 after killing it if it is still running at the deadline.
it_wait() {
  local name=$1 secs=$2 pid=${IT_PID_OF[$1]} i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt $((secs * 20)) ]; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.05
  done
  wait "$pid"
}

# it_wait_for FILE PATTERN SECONDS : until grep -q PATTERN FILE.
it_wait_for() {
  local file=$1 pat=$2 secs=$3 i=0
  until grep -qE -- "$pat" "$file" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && return 1
    sleep 0.05
  done
  return 0
}

# it_wait_lines FILE N SECONDS : until FILE has at least N lines.
it_wait_lines() {
  local file=$1 n=$2 secs=$3 i=0
  while [ "$(wc -l <"$file" 2>/dev/null || echo 0)" -lt "$n" ]; do
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && return 1
    sleep 0.05
  done
  return 0
}

# Any sanitizer report in FILE?
it_sanitizer_clean() {
  ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$1"
}

# it_relay_start [flags]: a relay on 127.0.0.1, ephemeral port (UDP and TCP on
# the same number unless --http-bind is given).
it_relay_start() {
  local name=${IT_RELAY_NAME:-relay} try
  for try in 1 2 3; do
    # A restart under the same name: the previous run's "ready" must not be
    # read before the new process truncates the file (kept as NAME.prev.*).
    [ -e "$IT_TMP/$name.out" ] && mv -f "$IT_TMP/$name.out" "$IT_TMP/$name.prev.out"
    [ -e "$IT_TMP/$name.err" ] && mv -f "$IT_TMP/$name.err" "$IT_TMP/$name.prev.err"
    it_bg "$name" "$RELAY_BIN" --bind 127.0.0.1:0 --log-level "${IT_RELAY_LOG:-info}" "$@"
    RELAY_PID=$(it_pid "$name")
    local i=0
    until grep -q '^ready$' "$IT_TMP/$name.out" 2>/dev/null; do
      kill -0 "$RELAY_PID" 2>/dev/null || break
      i=$((i + 1))
      [ "$i" -gt 400 ] && it_fail "relay did not start within 20 s"
      sleep 0.05
    done
    grep -q '^ready$' "$IT_TMP/$name.out" 2>/dev/null && break
    # The TCP twin of an ephemeral UDP port can be taken: retry.
    if grep -q 'cannot serve HTTP' "$IT_TMP/$name.err"; then
      it_log "TCP port of the ephemeral UDP port taken; retrying"
      continue
    fi
    it_fail "relay did not start"
  done
  RELAY_PORT=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$IT_TMP/$name.out")
  HTTP_PORT=$(sed -n 's/^http: .*:\([0-9]*\)$/\1/p' "$IT_TMP/$name.out")
  FP=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$IT_TMP/$name.out")
  [ -n "$RELAY_PORT" ] && [ -n "$FP" ] || it_fail "cannot parse the relay banner"
  # moqc pinned to this relay's certificate, as an array usable with it_bg (so
  # the background PID is moqc itself, not a subshell: kill -9 must hit it).
  MOQC=("$MOQC_BIN" --tls-fingerprint "$FP")
  [ -n "${IT_VERSION:-}" ] && MOQC+=(--version "$IT_VERSION")
  it_log "relay pid $RELAY_PID udp $RELAY_PORT http ${HTTP_PORT:-none}"
  CLIENT_PORT=$RELAY_PORT
  [ "${IT_LOSSY:-0}" = 1 ] && it_lossy_start
}

# IT_LOSSY=1: every client reaches the relay through a UDP forwarder that drops
# IT_DROP (5%) and reorders IT_REORDER (5%) of the datagrams in both
# directions (seeded, so a failure replays); it_url points at the forwarder.
# ctest runs the delivery tests a second time this way (integration-lossy.*).
it_lossy_start() {
  local fwd
  fwd=$(it_helper udpfwd) || it_fail "cannot build udpfwd"
  it_bg lossyfwd "$fwd" --to "127.0.0.1:$RELAY_PORT" --drop "${IT_DROP:-0.05}" \
    --reorder "${IT_REORDER:-0.05}" --seed "${IT_SEED:-7}" --max-seconds 280
  it_wait_for "$IT_TMP/lossyfwd.out" '^port ' 10 || it_fail "lossy forwarder did not start"
  CLIENT_PORT=$(sed -n 's/^port //p' "$IT_TMP/lossyfwd.out")
  it_log "clients go through a lossy forwarder on udp $CLIENT_PORT (drop ${IT_DROP:-0.05}, reorder ${IT_REORDER:-0.05})"
}

# it_relay_stop [NAME]: SIGTERM; the relay must exit 0 within 10 s, ASan-clean.
it_relay_stop() {
  local name=${1:-${IT_RELAY_NAME:-relay}} pid=${IT_PID_OF[${1:-${IT_RELAY_NAME:-relay}}]} rc
  kill -TERM "$pid" 2>/dev/null
  it_wait "$name" 10
  rc=$?
  [ "$rc" = 0 ] || it_fail "relay exited with $rc after SIGTERM"
  it_sanitizer_clean "$IT_TMP/$name.err" || it_fail "sanitizer report in the relay's stderr"
}

# Check every client's stderr for sanitizer reports.
it_clients_clean() {
  local f
  for f in "$IT_TMP"/*.err; do
    it_sanitizer_clean "$f" || it_fail "sanitizer report in $(basename "$f")"
  done
}

it_url() { echo "https://127.0.0.1:${CLIENT_PORT:-$RELAY_PORT}/${1:-}"; }

# moqc with TLS pinned to the relay's certificate (foreground use; it_bg takes
# "${MOQC[@]}" instead).
it_moqc() { "$MOQC_BIN" "$@" --tls-fingerprint "$FP" ${IT_VERSION:+--version $IT_VERSION}; }

# it_free_udp_port: a port nothing listens on (best effort).
# A port below the kernel's ephemeral range (32768-60999 by default), so no
# outgoing connection of another test can hold it as its local port when a
# relay binds it (or re-binds it after a restart).
it_free_port() { echo $((10000 + (RANDOM * 32768 + RANDOM) % 22000)); }

# Helper binaries (udpfwd, quicprobe, fetchprobe): from the build tree when CMake built
# them (tests/integration/CMakeLists.txt), else compiled here.
it_helper() {
  local name=$1 bin
  for bin in "$IT_BUILD/$name" "$IT_BUILD/tests/integration/$name"; do
    [ -x "$bin" ] && { echo "$bin"; return 0; }
  done
  bin=$IT_TMP/$name
  local cc flags="" libs=""
  cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$IT_BUILD/CMakeCache.txt" 2>/dev/null)
  [ -n "$cc" ] || cc=cc
  grep -q '^MOQC_SANITIZE:BOOL=ON' "$IT_BUILD/CMakeCache.txt" 2>/dev/null &&
    flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
  if [ "$name" = quicprobe ] || [ "$name" = fetchprobe ]; then
    flags="$flags -I$IT_SRC/include"
    libs="$IT_BUILD/libmoqc.a $(pkg-config --libs libngtcp2 libngtcp2_crypto_gnutls gnutls libnghttp3 libuv) -lm -lpthread"
  fi
  # shellcheck disable=SC2086
  "$cc" -std=gnu11 -O1 -g $flags -o "$bin" "$IT_SRC/tests/integration/$name.c" $libs >&2 ||
    return 1
  echo "$bin"
}

# it_fifo NAME FD (6-9): a FIFO at $IT_TMP/NAME.fifo, opened read-write on FD (never
# blocks); write lines with `echo x >&FD`, close with `exec FD>&-` for EOF.
it_fifo() {
  mkfifo "$IT_TMP/$1.fifo" || it_fail "mkfifo"
  eval "exec $2<>\"\$IT_TMP/$1.fifo\""
}

# it_http PATH [curl args]: GET from the relay's HTTP port (bounded).
it_http() {
  local path=$1
  shift
  curl -s --max-time 5 "$@" "http://127.0.0.1:$HTTP_PORT$path"
}

# it_check_fail "message": record a failure and go on (so one run shows every
# broken case); it_done fails the test if any was recorded, else prints PASS.
IT_FAILURES=()
it_check_fail() {
  echo "FAIL [$IT_NAME]: $*" >&2
  IT_FAILURES+=("$*")
}
it_done() {
  if [ "${#IT_FAILURES[@]}" -gt 0 ]; then
    it_dump
    echo "FAILED [$IT_NAME]: ${#IT_FAILURES[@]} case(s):" >&2
    printf '  - %s\n' "${IT_FAILURES[@]}" >&2
    exit 1
  fi
  echo "PASS $IT_NAME"
}

# it_sessions_total: sessions the relay accepted so far (monotonic).
it_sessions_total() { it_http /metrics | sed -n 's/^moqc_relay_connections_total //p'; }

# it_wait_sessions_total N [SECONDS]: until the relay accepted >= N sessions in all.
it_wait_sessions_total() {
  local n=$1 secs=${2:-30} i=0 c
  while :; do
    c=$(it_sessions_total)
    [ -n "$c" ] && [ "$c" -ge "$n" ] && return 0
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && it_fail "the relay accepted only ${c:-?} of $n sessions"
    sleep 0.05
  done
}

# it_metric NAME: one value from the relay's /metrics.
it_metric() { it_http /metrics | sed -n "s/^$1 //p"; }

# it_wait_metric_eq NAME VALUE [SECONDS]: until the metric is exactly VALUE.
it_wait_metric_eq() {
  local name=$1 want=$2 secs=${3:-20} i=0
  until [ "$(it_metric "$name")" = "$want" ]; do
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && return 1
    sleep 0.05
  done
}

# it_wait_metric NAME MIN [SECONDS]: until the metric is >= MIN.
it_wait_metric() {
  local name=$1 min=$2 secs=${3:-20} i=0 v
  while :; do
    v=$(it_metric "$name")
    [ -n "$v" ] && [ "$v" -ge "$min" ] && return 0
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && return 1
    sleep 0.05
  done
}

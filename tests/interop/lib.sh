# Helpers for tests/interop/test_*.sh (source this file; bash only).
#
#   . "$(dirname "$0")/lib.sh"
#   interop_require                       # exit 77 (ctest SKIP) if node/chromium/bundles are unusable
#   interop_cert "$tmp"                   # -> $tmp/cert.pem $tmp/key.pem (ECDSA P-256, 10 days)
#   fp=$(interop_fingerprint "$tmp/cert.pem")
#   interop_run --lib net --mode subscribe --url "https://localhost:$port/anon" \
#               --fingerprint "$fp" --broadcast b --count 3 --expect-frames a,b,c
#
# INTEROP_RELAY_FLAGS="--quic-retry always" adds flags to every relay interop_relay_start
# starts (e.g. to run the browser tests through QUIC Retry).
#
# interop_run prints run.mjs's JSON line and returns its exit code (0 ok, 1 failed,
# 2 timeout, 3 usage, 4 harness). Background publishers: use --ready-file and interop_wait_file.

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MOQC_CHROMIUM=${MOQC_CHROMIUM:-/usr/bin/chromium}
export MOQC_CHROMIUM

interop_skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# Make sure node, the browser and the bundles exist (runs install.sh, which is a no-op when
# everything is up to date). Skips the test (exit 77) rather than failing when they cannot.
interop_require() {
  command -v node >/dev/null 2>&1 || interop_skip "node not installed"
  [ -x "$MOQC_CHROMIUM" ] || interop_skip "no browser at $MOQC_CHROMIUM"
  if ! "$INTEROP_DIR/install.sh" >/dev/null 2>&1; then
    interop_skip "tests/interop/install.sh failed (npm registry unreachable?)"
  fi
}

interop_run() {
  node "$INTEROP_DIR/run.mjs" "$@"
}

# Extract a field from a JSON line: interop_field '<json>' frames.0
interop_field() {
  node -e '
    let v = JSON.parse(process.argv[1]);
    for (const k of (process.argv[2] || "").split(".").filter(Boolean)) v = v == null ? undefined : v[k];
    process.stdout.write(v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

# A certificate Chromium accepts through serverCertificateHashes: ECDSA P-256, valid < 14 days.
interop_cert() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 10 -nodes \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
}

# Lower-case hex SHA-256 of the DER certificate (what --fingerprint and /certificate.sha256 carry).
interop_fingerprint() {
  node -e '
    const { X509Certificate, createHash } = require("node:crypto");
    const cert = new X509Certificate(require("node:fs").readFileSync(process.argv[1]));
    process.stdout.write(createHash("sha256").update(cert.raw).digest("hex"));
  ' "$1"
}

# Wait until a file exists (e.g. a publisher's --ready-file): interop_wait_file PATH SECONDS
interop_wait_file() {
  local path=$1 secs=${2:-10} i=0
  while [ ! -s "$path" ]; do
    i=$((i + 1))
    if [ "$i" -gt $((secs * 10)) ]; then
      echo "timeout waiting for $path" >&2
      return 1
    fi
    sleep 0.1
  done
}

# A free UDP port on loopback (best effort).
interop_free_udp_port() {
  node -e '
    const s = require("node:dgram").createSocket("udp6");
    s.bind(0, "::1", () => { process.stdout.write(String(s.address().port)); s.close(); });
  '
}

# ---------------------------------------------------------------------------------------------
# moqc-relay in the middle (test_interop_*.sh). Everything below is bounded and loopback-only.
#
#   interop_relay_start DIR [relay flags]   # -> RELAY_PID RELAY_PORT RELAY_FP RELAY_URL
#                                           #    (https://127.0.0.1:PORT), logs DIR/relay.{out,err}
#   interop_relay_stop                      # SIGTERM: exit 0 within 10 s, no sanitizer report
#   interop_gen_frames N SEED DIR           # DIR/frames.b64 (comma list), DIR/frames.bin (lines)
#   interop_wait_grep FILE REGEX SECS [PID] # until FILE matches (fails early if PID exits)
#   interop_wait_pid PID SECS               # bounded wait; echoes nothing, returns the exit code
#                                           # (124 after SIGKILL at the deadline)
#   interop_sanitizer_clean FILE            # no ASan/LSan/UBSan report in FILE
# ---------------------------------------------------------------------------------------------

# ASan/UBSan builds: make a sanitizer report unmistakable (and a non-zero exit).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=66}

interop_sanitizer_clean() {
  ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$1" 2>/dev/null
}

interop_wait_pid() {
  local pid=$1 secs=$2 i=0
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

interop_wait_grep() {
  local file=$1 re=$2 secs=$3 pid=${4:-} i=0
  until grep -qE -- "$re" "$file" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE -- "$re" "$file" 2>/dev/null && return 0
      return 1
    fi
    i=$((i + 1))
    [ "$i" -gt $((secs * 20)) ] && return 1
    sleep 0.05
  done
}

interop_relay_start() {
  local dir=$1 bin=${MOQC_BUILD_DIR:?}/moqc-relay try
  shift
  [ -x "$bin" ] || { echo "FAIL: $bin not built" >&2; return 1; }
  for try in 1 2 3; do
    # shellcheck disable=SC2086 # INTEROP_RELAY_FLAGS: extra flags, split on spaces
    "$bin" --bind 127.0.0.1:0 "$@" ${INTEROP_RELAY_FLAGS:-} >"$dir/relay.out" 2>"$dir/relay.err" &
    RELAY_PID=$!
    interop_wait_grep "$dir/relay.out" '^ready$' 20 "$RELAY_PID" && break
    kill "$RELAY_PID" 2>/dev/null
    wait "$RELAY_PID" 2>/dev/null
    RELAY_PID=
    # The TCP twin of an ephemeral UDP port can be taken: retry.
    grep -q 'cannot serve HTTP' "$dir/relay.err" 2>/dev/null && continue
    echo "FAIL: moqc-relay did not start:" >&2
    tail -n 20 "$dir/relay.err" >&2
    return 1
  done
  [ -n "$RELAY_PID" ] || { echo "FAIL: moqc-relay did not start (port clashes)" >&2; return 1; }
  RELAY_PORT=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$dir/relay.out")
  RELAY_FP=$(sed -n 's/^certificate sha256: \([0-9a-f]*\)$/\1/p' "$dir/relay.out")
  RELAY_DIR=$dir
  # The certificate covers 127.0.0.1 too; the relay listens on IPv4 only (Chromium resolves
  # "localhost" to ::1).
  RELAY_URL=https://127.0.0.1:$RELAY_PORT
  [ -n "$RELAY_PORT" ] && [ -n "$RELAY_FP" ] || { echo "FAIL: cannot parse the relay banner" >&2; return 1; }
}

interop_relay_stop() {
  local pid=$RELAY_PID rc=0
  [ -n "$pid" ] || return 0
  RELAY_PID=
  kill -TERM "$pid" 2>/dev/null
  interop_wait_pid "$pid" 10 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "FAIL: moqc-relay exited with $rc after SIGTERM" >&2
    tail -n 30 "$RELAY_DIR/relay.err" >&2
    return 1
  fi
  if ! interop_sanitizer_clean "$RELAY_DIR/relay.err"; then
    echo "FAIL: sanitizer report in moqc-relay's stderr:" >&2
    grep -A 30 -E 'ERROR: |runtime error:' "$RELAY_DIR/relay.err" | head -n 60 >&2
    return 1
  fi
}

# N frames mixing UTF-8 text (multi-byte, markup, tabs), binary bytes (0x00-0xff except the
# 0x0a line separator moqc uses), one empty frame and one 30000-byte frame. Deterministic (SEED).
interop_gen_frames() {
  node -e '
    const [n, seed, dir] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
    const fs = require("node:fs");
    const texts = ["grüße ✓", "日本語テキスト", "emoji 🎉🚀", "<b>&amp;</b> \"q\" \u0027x\u0027", "tab\there\r", "ñ"];
    let x = (seed >>> 0) || 1;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8);
    const bin = (len) => { const b = Buffer.alloc(len); for (let j = 0; j < len; j++) { const v = rnd() & 0xff; b[j] = v === 10 ? 0 : v; } return b; };
    const out = [];
    for (let i = 0; i < n; i++) {
      if (i === 5) out.push(Buffer.alloc(0));
      else if (i === Math.floor(n / 2)) out.push(bin(30000));
      else if (i % 3 === 0) out.push(Buffer.from(`#${i} ${texts[Math.floor(i / 3) % texts.length]}`, "utf8"));
      else if (i % 3 === 1) out.push(bin(1 + (rnd() % 300)));
      else out.push(Buffer.concat([Buffer.from(`#${i}:`), Buffer.from([0, 1, 0x7f, 0xfe, 0xff, 0xc3]), Buffer.from("ü✓")]));
    }
    fs.writeFileSync(`${dir}/frames.b64`, out.map((b) => b.toString("base64")).join(","));
    fs.writeFileSync(`${dir}/frames.bin`, Buffer.concat(out.flatMap((b) => [b, Buffer.from("\n")])));
  ' "$1" "$2" "$3"
}

# Background processes and collected failures (test_interop_*.sh):
#   interop_init                        # INTEROP_TMP, cleanup trap (kills every interop_bg PID)
#   interop_bg NAME cmd...              # -> BG_PID; output in $INTEROP_TMP/NAME.{out,err};
#                                       #    stdin from $INTEROP_STDIN (default /dev/null)
#   interop_case_fail "what" [FILE]     # record a failure: prints FILE (run.mjs's JSON line, cut
#                                       #    at 6000 chars) and the relay's stderr tail; goes on
#   interop_done                        # exit 1 listing the failures, else print PASS
INTEROP_PIDS=()
INTEROP_FAILURES=()

interop_cleanup() {
  local p
  exec 6>&- 7>&- 8>&- 9>&- 2>/dev/null || true
  local live=()
  # Only processes that are still our children (a reaped PID may have been reused).
  for p in "${INTEROP_PIDS[@]}" ${RELAY_PID:-}; do
    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] && live+=("$p")
  done
  for p in "${live[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${live[@]}"; do interop_wait_pid "$p" 5 >/dev/null 2>&1 || true; done
  if [ "${MOQC_INTEROP_KEEP:-0}" = 1 ]; then echo "kept $INTEROP_TMP" >&2; else rm -rf "$INTEROP_TMP"; fi
}

interop_init() {
  INTEROP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/moqc-interop.XXXXXX")
  trap interop_cleanup EXIT
  trap 'exit 130' INT TERM
}

interop_bg() {
  local name=$1
  shift
  # FDs 6-9 are the test's FIFO writers: children must not hold them (or EOF never comes).
  "$@" <"${INTEROP_STDIN:-/dev/null}" >"$INTEROP_TMP/$name.out" 2>"$INTEROP_TMP/$name.err" 6>&- 7>&- 8>&- 9>&- &
  BG_PID=$!
  INTEROP_PIDS+=("$BG_PID")
}

interop_case_fail() {
  local what=$1 file=${2:-}
  echo "FAIL: $what" >&2
  if [ -n "$file" ] && [ -s "$file" ]; then
    echo "--- $(basename "$file"):" >&2
    head -c 6000 "$file" >&2
    echo >&2
  fi
  if [ -n "${RELAY_DIR:-}" ] && [ -s "$RELAY_DIR/relay.err" ]; then
    echo "--- relay stderr (tail):" >&2
    tail -n 25 "$RELAY_DIR/relay.err" >&2
  fi
  INTEROP_FAILURES+=("$what")
}

interop_done() {
  if [ "${#INTEROP_FAILURES[@]}" -gt 0 ]; then
    echo "FAILED: ${#INTEROP_FAILURES[@]} case(s):" >&2
    printf '  - %s\n' "${INTEROP_FAILURES[@]}" >&2
    exit 1
  fi
  echo "PASS"
}

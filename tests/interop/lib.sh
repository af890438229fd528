# Helpers for tests/interop/test_*.sh (source this file; bash only).
#
#   . "$(dirname "$0")/lib.sh"
#   interop_require                       # exit 77 (ctest SKIP) if node/chromium/bundles are unusable
#   interop_cert "$tmp"                   # -> $tmp/cert.pem $tmp/key.pem (ECDSA P-256, 10 days)
#   fp=$(interop_fingerprint "$tmp/cert.pem")
#   interop_run --lib net --mode subscribe --url "https://localhost:$port/anon" \
#               --fingerprint "$fp" --broadcast b --count 3 --expect-frames a,b,c
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

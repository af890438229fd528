#!/usr/bin/env bash
# Transport test with a real browser: headless Chromium opens a WebTransport session to our
# C server (tests/tools/wt_echo_server: ngtcp2 + our HTTP/3/WebTransport adapter), exchanges
# bidi, uni and datagram data (checked byte for byte by run.mjs), and checks the negotiated
# sub-protocol for two different offers. The server must exit cleanly (ASan/UBSan clean).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

bin=${MOQC_BUILD_DIR:?}/tests/wt_echo_server
[ -x "$bin" ] || { echo "FAIL: $bin not built" >&2; exit 1; }
tmp=$(mktemp -d)
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" --host :: --seconds 120 >"$tmp/out" 2>"$tmp/err" &
srv_pid=$!
interop_wait_file "$tmp/out" 10
port=$(sed -n 's/port=\([0-9]*\).*/\1/p' "$tmp/out")
fp=$(sed -n 's/.*fingerprint=\([0-9a-f]*\)/\1/p' "$tmp/out")

fail() { echo "FAIL: $*" >&2; echo "--- server stderr:" >&2; cat "$tmp/err" >&2; exit 1; }

# 1. Default offer (moq-lite-05 first): we pick the client's first supported protocol.
out=$(interop_run --mode wt-echo --url "https://localhost:$port/echo" --fingerprint "$fp" \
      --expect-protocol moq-lite-05 --timeout 30 2>/dev/null) || fail "wt-echo default offer: $out"
echo "default offer: protocol=$(interop_field "$out" protocol) bidi=$(interop_field "$out" bidi.ok) uni=$(interop_field "$out" uni.ok) datagram=$(interop_field "$out" datagram.ok)"

# 2. Offer only lite-03 over IPv4: must negotiate exactly that.
out=$(interop_run --mode wt-echo --url "https://127.0.0.1:$port/echo?x=1" --fingerprint "$fp" \
      --protocols moq-lite-03 --expect-protocol moq-lite-03 --timeout 30 2>/dev/null) \
  || fail "wt-echo lite-03 offer: $out"
echo "lite-03 offer: protocol=$(interop_field "$out" protocol)"

# 3. A wrong pin must be refused by the browser (proves the fingerprint is really checked).
rc=0
out=$(interop_run --mode wt-echo --url "https://localhost:$port/echo" \
      --fingerprint 0000000000000000000000000000000000000000000000000000000000000000 \
      --timeout 20 2>/dev/null) || rc=$?
[ "$rc" = 1 ] || fail "wrong fingerprint accepted (rc=$rc): $out"
echo "wrong pin refused: $(interop_field "$out" error | head -c 120)"

kill -TERM "$srv_pid"
wait "$srv_pid" || fail "server exited with status $?"
srv_pid=
grep -q "session protocol=moq-lite-03 path=/echo?x=1" "$tmp/err" || fail "server did not see the lite-03 session with its query"
if grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$tmp/err"; then fail "sanitizer report"; fi
echo "PASS"

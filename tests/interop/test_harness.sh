#!/usr/bin/env bash
# Self-test of the interop harness itself (no moqc binaries involved):
#   1. both libraries run publish/subscribe/announced over their in-page mock transport
#      for every moq-lite version they speak (checks src/*.js adapters + the patched hops);
#   2. a connect to a closed UDP port FAILS, quickly and with a clear error (the harness can fail);
#   3. usage errors exit 3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

for lib in lite net; do
  out=$(interop_run --lib "$lib" --mode selftest --timeout 30 2>/dev/null) || fail "selftest $lib: $out"
  echo "selftest $lib: $(interop_field "$out" runs | head -c 300)"
done

port=$(interop_free_udp_port)
for lib in lite net; do
  start=$(date +%s)
  rc=0
  out=$(interop_run --lib "$lib" --mode connect --url "https://localhost:$port/anon" \
        --fingerprint 0000000000000000000000000000000000000000000000000000000000000000 --timeout 15 2>/dev/null) || rc=$?
  took=$(( $(date +%s) - start ))
  [ "$rc" = 1 ] || fail "closed port with $lib: expected exit 1, got $rc: $out"
  [ "$(interop_field "$out" ok)" = false ] || fail "closed port with $lib: ok is not false: $out"
  [ -n "$(interop_field "$out" error)" ] || fail "closed port with $lib: no error message: $out"
  [ "$took" -lt 15 ] || fail "closed port with $lib took ${took}s"
  echo "closed port $lib: exit $rc after ${took}s: $(interop_field "$out" error)"
done

# --expect-error turns the same failure into a pass, and a mismatch into a failure.
interop_run --mode connect --url "https://localhost:$port/" --expect-error 'handshake failed' --timeout 15 >/dev/null 2>&1 \
  || fail "--expect-error did not accept the expected failure"
if interop_run --mode connect --url "https://localhost:$port/" --expect-error 'no such text' --timeout 15 >/dev/null 2>&1; then
  fail "--expect-error accepted a non-matching failure"
fi

rc=0
interop_run --mode subscribe >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "usage error: expected exit 3, got $rc"

echo "PASS"

#!/usr/bin/env bash
# Node.js 20 (no WebTransport: WebSocket is its only path) with @moq/net 0.3.4 over
# QMux/WebSocket through moqc-relay: per version (a relay restricted to moq-lite-0N, since
# the library's WebSocket offer is fixed, newest first), one Node process publishes 200
# mixed frames (empty, small, 20000 bytes) in groups of 10 and subscribes to them on a second
# connection; every frame is compared byte for byte, and the negotiated version is checked.
# Also: the relay's URL path is the session's root on WebSocket too (both connect to /anon).
# The same over IETF moq-transport: moqt-16, moqt-18 and moql (draft-14 through the in-band
# SETUP), each on a relay restricted to it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 || interop_skip "node not installed"
"$INTEROP_DIR/install.sh" >/dev/null 2>&1 || interop_skip "tests/interop/install.sh failed"
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
interop_init
T=$INTEROP_TMP
fail=0
for v in 05 04 03 moqt-16 moqt-18 moql; do
  case $v in
    moql) alpn=moql want=moq-transport-14 ;;
    moqt-*) alpn=$v want=moq-transport-${v#moqt-} ;;
    *) alpn=moq-lite-$v want=moq-lite-$v ;;
  esac
  mkdir -p "$T/$v"
  interop_relay_start "$T/$v" --log-level info --version "$alpn" || exit 1
  out=$(timeout 60 node --experimental-websocket "$INTEROP_DIR/node_ws.mjs" \
    "http://127.0.0.1:$RELAY_PORT/anon" "" 200 2>&1) || true
  if ! grep -q "^ok: 200 frames over websocket ($want)$" <<<"$out"; then
    echo "FAIL: $alpn over WebSocket from Node:" >&2
    tail -n 15 <<<"$out" >&2
    tail -n 15 "$T/$v/relay.err" >&2
    fail=1
  else
    echo "ok: node ws $alpn"
  fi
  grep -q "root '/anon'" "$T/$v/relay.err" || { echo "FAIL: the session root is not /anon" >&2; fail=1; }
  interop_relay_stop || fail=1
done
[ "$fail" = 0 ] && echo "PASS: node websocket lite-05/04/03, moqt-16, moqt-18, moql"
exit "$fail"

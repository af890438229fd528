#!/usr/bin/env bash
# Headless Chromium with WebTransport hidden from @moq/net 0.3.4 (run.mjs --transport
# websocket: the JS client's WebSocket-only path, QMux over ws://) against WebTransport peers,
# through moqc-relay, per version lite-05, lite-04, lite-03 (a relay restricted to moq-lite-0N,
# since the library's WebSocket offer is fixed, newest first):
#   ws->wt  a WebSocket publisher -> the relay -> a WebTransport subscriber: 120 mixed frames
#           (UTF-8, binary, empty, 30000 bytes) in groups of 10, byte for byte, then the end;
#   wt->ws  a WebTransport publisher -> the relay -> a WebSocket subscriber, the same frames.
#           On lite-03/04 @moq/qmux 0.3.3 surfaces a subscribe stream's FIN only while a read
#           is pending (pull-based receive streams), so the WebSocket subscriber never sees the
#           track's end there: it stops at the frame count (--count N), still byte for byte.
# Each run checks the transport it really used and the negotiated version.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
[ -x "$bdir/moqc-relay" ] || { echo "FAIL: $bdir/moqc-relay not built" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
N=120
interop_gen_frames "$N" 11 "$T"
FRAMES_B64=$(cat "$T/frames.b64")

# check_transport NAME WANT: run.mjs's JSON in $T/NAME.json names the transport it connected on.
check_transport() {
  local got
  got=$(grep -o '"transport":"[a-z]*"' "$T/$1.json" | head -n 1 | cut -d'"' -f4)
  [ "$got" = "$2" ] || { interop_case_fail "$1: connected over '${got:-?}', expected $2" "$T/$1.json"; return 1; }
}

# one_case V DIR: PUB_TRANSPORT -> SUB_TRANSPORT through the relay on version lite-V.
one_case() {
  local v=$1 ptr=$2 str=$3 name b purl surl count=0 rc=0
  name="$ptr-$str-$v"
  b="bws-$v/$ptr-$str"
  purl=$RELAY_URL/anon surl=$RELAY_URL/anon
  # WebSocket clients use the plain-HTTP URL (ws://), WebTransport ones https:// + the pin.
  [ "$ptr" = websocket ] && purl=http://127.0.0.1:$RELAY_PORT/anon
  [ "$str" = websocket ] && surl=http://127.0.0.1:$RELAY_PORT/anon
  [ "$str" = websocket ] && [ "$v" != 05 ] && count=$N
  interop_bg "$name-pub" node "$INTEROP_DIR/run.mjs" --lib net --version "lite-$v" --transport "$ptr" --mode publish \
    --url "$purl" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --encoding base64 --frames "$FRAMES_B64" \
    --group-frames 10 --finish-track --expect-version "moq-lite-$v" --timeout 40
  local pub=$BG_PID
  interop_run --lib net --version "lite-$v" --transport "$str" --mode subscribe --url "$surl" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --encoding base64 --count "$count" --expect-frames "$FRAMES_B64" \
    --expect-version "moq-lite-$v" --timeout 35 >"$T/$name-sub.json" 2>"$T/$name-sub.jserr" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "$ptr -> $str lite-$v: subscriber failed (exit $rc)" "$T/$name-sub.json"
  elif check_transport "$name-sub" "$str"; then
    echo "ok $ptr -> $str lite-$v: $N frames byte for byte$([ "$count" = 0 ] && echo ", then the track's end" || echo " (counted; see header)")"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  cp "$INTEROP_TMP/$name-pub.out" "$T/$name-pub.json" 2>/dev/null || true
  if [ "$rc" != 0 ]; then
    interop_case_fail "$ptr -> $str lite-$v: publisher failed (exit $rc)" "$T/$name-pub.json"
  else
    check_transport "$name-pub" "$ptr" || true
  fi
}

for v in ${MOQC_BWS_VERSIONS:-05 04 03}; do
  mkdir -p "$T/r$v"
  interop_relay_start "$T/r$v" --log-level ${MOQC_BWS_LOG:-info} --version "moq-lite-$v" || { interop_case_fail "relay lite-$v did not start"; continue; }
  one_case "$v" websocket webtransport
  one_case "$v" webtransport websocket
  interop_relay_stop || interop_case_fail "moqc-relay (lite-$v) did not stop cleanly"
done
interop_done

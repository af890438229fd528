#!/usr/bin/env bash
# IETF moq-transport against @moq/net 0.3.4 in headless Chromium, through moqc-relay, with
# the JS client's WebTransport protocols restricted to one draft per run (--protocols moqt-NN):
#   js->c   JS publishes N frames in one group and closes the track; `moqc subscribe
#           --version moqt-NN` (started first) prints them byte for byte and exits at the end.
#   c->js   `moqc publish --version moqt-NN --wait-subscriber` (groups of 10); the JS
#           subscriber (connected first) gets every frame and the track's end.
#   js<->js JS publisher and subscriber (two connections) through the relay.
#   lite<->ietf  JS on moq-lite-05 publishes, JS on moqt-NN subscribes, and the reverse.
# Drafts: moqt-15 to moqt-19 and moql (draft-14 through the in-band SETUP): what moqc speaks
# that @moq/net offers over WebTransport (@moq/net reaches draft-14 only through `moql`). @moq/net before
# draft-20 ignores SUBSCRIBE filters and serves from the live edge, so JS publishers here write
# one group (see docs/interop.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

DRAFTS=(${MOQC_INTEROP_DRAFTS:-15 16 17 18 19 moql})
# moqt-NN, or moql (draft-14 through the in-band SETUP version list)
proto() { if [ "$1" = moql ]; then echo moql; else echo "moqt-$1"; fi; }
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
MOQC_BIN=$bdir/moqc
[ -x "$MOQC_BIN" ] || { echo "FAIL: $MOQC_BIN not built" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
N=120
interop_gen_frames "$N" 11 "$T"
FRAMES_B64=$(cat "$T/frames.b64")
interop_relay_start "$T" --log-level info || exit 1
echo "relay on $RELAY_URL, @moq/net, drafts ${DRAFTS[*]}"
T0=$(date +%s)
secs() { echo $(($(date +%s) - T0)); }

case_js_to_c() {
  local d=$1 p b="ietf-$1/js2c" rc=0
  p=$(proto "$d")
  interop_bg "sub-$d" timeout 60 "$MOQC_BIN" subscribe --url "$RELAY_URL/anon" --tls-fingerprint "$RELAY_FP" \
    --version "$p" --broadcast "$b" --track t --start-group 0 --wait 40s
  local sub=$BG_PID
  interop_run --lib net --protocols "$p" --mode publish --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --encoding base64 --frames "$FRAMES_B64" --finish-track \
    --expect-protocol "$p" --timeout 40 >"$T/pub-$d.json" 2>"$T/pub-$d.jserr" || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "js->c $p: JS publisher failed (exit $rc)" "$T/pub-$d.json"
  rc=0
  interop_wait_pid "$sub" 30 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "js->c $p: moqc subscribe exited $rc: $(tail -n 3 "$T/sub-$d.err" | tr '\n' ' ')" "$T/pub-$d.json"
  elif ! cmp -s "$T/sub-$d.out" "$T/frames.bin"; then
    interop_case_fail "js->c $p: moqc subscribe printed other bytes ($(wc -c <"$T/sub-$d.out") of $(wc -c <"$T/frames.bin") bytes)" "$T/pub-$d.json"
  else
    echo "[$(secs)s] ok js->c   $p: $N frames byte for byte, then the track's end"
  fi
}

case_c_to_js() {
  local d=$1 p b="ietf-$1/c2js" rc=0
  p=$(proto "$d")
  interop_bg "jsub-$d" node "$INTEROP_DIR/run.mjs" --lib net --protocols "$p" --mode subscribe \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --encoding base64 --count 0 \
    --expect-frames "$FRAMES_B64" --expect-protocol "$p" --timeout 50
  local js=$BG_PID
  if ! interop_wait_grep "$T/jsub-$d.err" '"event":"connected"' 30 "$js"; then
    interop_wait_pid "$js" 5 || true
    interop_case_fail "c->js $p: the JS subscriber never connected" "$T/jsub-$d.out"
    return
  fi
  INTEROP_STDIN=$T/frames.bin interop_bg "pub-c-$d" timeout 60 "$MOQC_BIN" publish --url "$RELAY_URL/anon" \
    --tls-fingerprint "$RELAY_FP" --version "$p" --broadcast "$b" --track t --group-frames 10 --wait-subscriber
  local pub=$BG_PID
  interop_wait_pid "$js" 50 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "c->js $p: JS subscriber failed (exit $rc)" "$T/jsub-$d.out"
  else
    echo "[$(secs)s] ok c->js   $p: $N frames byte for byte + end"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "c->js $p: moqc publish exited $rc: $(tail -n 3 "$T/pub-c-$d.err" | tr '\n' ' ')"
}

case_pubsub() {
  local d=$1 p rc=0
  p=$(proto "$d")
  interop_run --lib net --protocols "$p" --mode pubsub --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "ietf-$d/jsjs" --track t --encoding base64 --frames "$FRAMES_B64" \
    --finish-track --count 0 --expect-frames "$FRAMES_B64" --expect-protocol "$p" --timeout 40 \
    >"$T/pubsub-$d.json" 2>"$T/pubsub-$d.jserr" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "js<->js $p: pubsub failed (exit $rc)" "$T/pubsub-$d.json"
  else
    echo "[$(secs)s] ok js<->js $p: $N frames byte for byte + end, through the relay"
  fi
}

# JS publisher on protocol PP -> JS subscriber on SP (the relay translates).
case_cross() {
  local pp=$1 sp=$2 b="x-$1-$2" rc=0 name="x-$1-$2"
  interop_bg "$name-pub" node "$INTEROP_DIR/run.mjs" --lib net --protocols "$pp" --mode publish \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --gen 60:3000 \
    --finish-track --expect-protocol "$pp" --timeout 40
  local pub=$BG_PID
  interop_run --lib net --protocols "$sp" --mode subscribe --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --count 0 --summary --expect-gen 60:3000 --expect-protocol "$sp" --timeout 35 \
    >"$T/$name-sub.json" 2>"$T/$name-sub.jserr" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "cross $pp -> $sp: subscriber failed (exit $rc)" "$T/$name-sub.json"
  else
    echo "[$(secs)s] ok cross   $pp -> $sp: 60 x 3000-byte frames (digests) + end"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "cross $pp -> $sp: publisher failed (exit $rc)" "$T/$name-pub.out"
}

for d in "${DRAFTS[@]}"; do
  case_js_to_c "$d"
  case_c_to_js "$d"
  case_pubsub "$d"
done
case_cross moq-lite-05 "$(proto "${DRAFTS[-1]}")"
case_cross "$(proto "${DRAFTS[0]}")" moq-lite-04

metrics=$(curl -s --max-time 5 "http://127.0.0.1:$RELAY_PORT/metrics" || true)
echo "[$(secs)s] relay sessions per version: $(grep '^moqc_relay_sessions_total' <<<"$metrics" | tr '\n' ' ')"
interop_relay_stop || interop_case_fail "moqc-relay did not stop cleanly"
for f in "$T"/*.err; do
  case $f in *.jserr) continue ;; esac
  interop_sanitizer_clean "$f" || interop_case_fail "sanitizer report in $(basename "$f")"
done
echo "[$(secs)s] done"
interop_done

#!/usr/bin/env bash
# Our relay in the middle of the moq-dev JS clients, one library per run:
#   @moq/net 0.3.4 x {lite-03, lite-04, lite-05}   (this file, MOQC_INTEROP_LIB unset)
#   @moq/lite 0.2.2 x {lite-03, lite-04}           (test_interop_relay_lite.sh runs this file
#                                                   with MOQC_INTEROP_LIB=lite)
#
# One moqc-relay (ASan build: it must exit 0 on SIGTERM with a clean stderr), and per version:
#   js->c   JS publishes 300 mixed frames (UTF-8, binary, empty, 30000 bytes) in 12 groups and
#           closes the track; `moqc subscribe` (started first) must print them byte for byte and
#           exit at the track's clean end.
#   c->js   `moqc publish --wait-subscriber` publishes the same frames (groups of 10), then EOF;
#           the JS subscriber (connected first) must get them byte for byte (base64 compare) and
#           then the track's end.
#           @moq/lite: the subscriber idles 3 s after connecting, then the publisher pauses 3 s
#           after half the frames, so the connection must stay usable > 6 s: the relay's
#           handling of its Probe stream is exercised (a reset kills the whole connection).
#   js<->js JS publisher and JS subscriber (two connections, same browser) through the relay,
#           frames then the track's end.
# Every JS run forces the version (--version lite-0N) and checks what was negotiated
# (--expect-version and --expect-protocol), and so does the relay's /metrics per version.
# Then across libraries and versions (the relay translates):
#   net: @moq/lite publisher -> @moq/net subscriber on lite-03 and lite-04, and
#        @moq/lite lite-03 publisher -> @moq/net lite-05 subscriber;
#   lite: @moq/net publisher -> @moq/lite subscriber on lite-03 and lite-04, and
#        @moq/net lite-05 publisher -> @moq/lite lite-04 subscriber.
# Also `moqc publish` over raw QUIC (moqt://) -> JS over WebTransport. Last, a relay restricted
# with `--version moq-lite-04`: the library's default offer (http:// URL: certificate fetched
# from /certificate.sha256) must negotiate lite-04 and work; an offer without lite-04 must fail.
#
# Order matters because moq delivers from the latest group on: subscribers start first, and
# publishers write only once subscribed (the harness publisher serves every subscription with
# all frames on demand; `moqc publish --wait-subscriber` reads stdin once subscribed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

LIB=${MOQC_INTEROP_LIB:-net}
case $LIB in
  net) VERSIONS=(03 04 05) ;;
  lite) VERSIONS=(03 04) ;; # @moq/lite 0.2.2 has no lite-05
  *) echo "FAIL: MOQC_INTEROP_LIB must be lite or net" >&2; exit 1 ;;
esac
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
MOQC_BIN=$bdir/moqc
[ -x "$MOQC_BIN" ] || { echo "FAIL: $MOQC_BIN not built" >&2; exit 1; }
[ -x "$bdir/moqc-relay" ] || { echo "FAIL: $bdir/moqc-relay not built" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
N=300
interop_gen_frames "$N" 7 "$T"
FRAMES_B64=$(cat "$T/frames.b64")
interop_relay_start "$T" --log-level info || exit 1
echo "relay on $RELAY_URL, library @moq/$LIB, versions ${VERSIONS[*]}"
T0=$(date +%s)
secs() { echo $(($(date +%s) - T0)); }

# js_run NAME run.mjs-args... : foreground run.mjs; JSON in $T/NAME.json; returns its exit code.
js_run() {
  local name=$1
  shift
  local rc=0
  interop_run "$@" >"$T/$name.json" 2>"$T/$name.jserr" || rc=$?
  return "$rc"
}

# ---- js->c: JS publishes, moqc subscribes ------------------------------------------------
case_js_to_c() {
  local lib=$1 v=$2 b="$1-$2/js2c" rc=0
  # No --count: moqc subscribe must also see the track's clean end.
  interop_bg "sub-$lib-$v" timeout 60 "$MOQC_BIN" subscribe --url "$RELAY_URL/anon" --tls-fingerprint "$RELAY_FP" \
    --version "moq-lite-$v" --broadcast "$b" --track t --start-group 0 --wait 40s
  local sub=$BG_PID
  js_run "pub-$lib-$v" --lib "$lib" --version "lite-$v" --mode publish --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --encoding base64 --frames "$FRAMES_B64" --group-frames 25 --finish-track \
    --expect-version "moq-lite-$v" --expect-protocol "moq-lite-$v" --timeout 40 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "js->c $lib lite-$v: JS publisher failed (exit $rc)" "$T/pub-$lib-$v.json"
  rc=0
  interop_wait_pid "$sub" 30 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "js->c $lib lite-$v: moqc subscribe exited $rc: $(tail -n 3 "$T/sub-$lib-$v.err" | tr '\n' ' ')" "$T/pub-$lib-$v.json"
  elif ! cmp -s "$T/sub-$lib-$v.out" "$T/frames.bin"; then
    interop_case_fail "js->c $lib lite-$v: moqc subscribe printed other bytes ($(cmp "$T/sub-$lib-$v.out" "$T/frames.bin" 2>&1 | head -n 1); $(wc -c <"$T/sub-$lib-$v.out") of $(wc -c <"$T/frames.bin") bytes)" "$T/pub-$lib-$v.json"
  else
    echo "[$(secs)s] ok js->c   $lib lite-$v: $N frames byte for byte, then the track's clean end"
  fi
}

# ---- c->js: moqc publishes, JS subscribes ------------------------------------------------
# TRANSPORT (default wt): quic = `moqc publish` over raw QUIC (moqt://). lite-05 carries the
# URL path in its SETUP; lite-03/04 cannot, so their scope is `/` and the broadcast is named
# `anon/...` to land where the WebTransport client on /anon looks.
case_c_to_js() {
  local lib=$1 v=$2 idle=$3 transport=${4:-wt} b="$1-$2/c2js" rc=0
  local purl=$RELAY_URL/anon pb
  [ "$transport" = quic ] && b="$lib-$v/c2js-quic"
  pb=$b
  if [ "$transport" = quic ]; then
    purl=moqt://127.0.0.1:$RELAY_PORT/anon
    [ "$v" = 05 ] || { purl=moqt://127.0.0.1:$RELAY_PORT/; pb=anon/$b; }
  fi
  interop_bg "jsub-$lib-$v-$transport" node "$INTEROP_DIR/run.mjs" --lib "$lib" --version "lite-$v" --mode subscribe \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --encoding base64 --count 0 \
    --expect-frames "$FRAMES_B64" --expect-version "moq-lite-$v" --expect-protocol "moq-lite-$v" --timeout $((2 * idle + 40))
  local js=$BG_PID
  if ! interop_wait_grep "$T/jsub-$lib-$v-$transport.err" '"event":"connected"' 30 "$js"; then
    interop_wait_pid "$js" 5 || true
    interop_case_fail "c->js ($transport) $lib lite-$v: the JS subscriber never connected" "$T/jsub-$lib-$v-$transport.out"
    return
  fi
  # @moq/lite 0.2.2 opened its Probe stream at connect: idle a while, then (below) pause
  # mid-track as long again, so the connection must stay usable for 2 x idle seconds.
  [ "$idle" -gt 0 ] && sleep "$idle"
  rm -f "$T/c2js.fifo"
  mkfifo "$T/c2js.fifo"
  exec 7<>"$T/c2js.fifo"
  INTEROP_STDIN=$T/c2js.fifo interop_bg "pub-c-$lib-$v-$transport" timeout 60 "$MOQC_BIN" publish --url "$purl" \
    --tls-fingerprint "$RELAY_FP" --version "moq-lite-$v" --broadcast "$pb" --track t --group-frames 10 --wait-subscriber
  local pub=$BG_PID
  if [ "$idle" -gt 0 ]; then
    timeout 30 head -n $((N / 2)) "$T/frames.bin" >&7 || true
    sleep "$idle"
    timeout 30 tail -n +$((N / 2 + 1)) "$T/frames.bin" >&7 || true
  else
    timeout 30 cat "$T/frames.bin" >&7 || true
  fi
  # EOF at once: the track ends right after its last group. The JS subscriber (--count 0) reads
  # until the track's end and must still have every frame (the JS clients stop reading groups
  # the moment the subscribe stream FINs, so the relay holds that FIN back a little).
  exec 7>&-
  interop_wait_pid "$js" $((2 * idle + 45)) || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "c->js ($transport) $lib lite-$v: JS subscriber failed (exit $rc)" "$T/jsub-$lib-$v-$transport.out"
  else
    echo "[$(secs)s] ok c->js   $lib lite-$v: $N frames byte for byte + end$([ "$transport" = quic ] && echo " (moqc over raw QUIC $purl)")$([ "$idle" -gt 0 ] && echo ", connected $((2 * idle))+ s (idle ${idle} s, then ${idle} s pause mid-track): Probe stream kept")"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "c->js ($transport) $lib lite-$v: moqc publish exited $rc: $(tail -n 3 "$T/pub-c-$lib-$v-$transport.err" | tr '\n' ' ')"
}

# ---- js<->js in one browser (two connections) ---------------------------------------------
case_pubsub() {
  local lib=$1 v=$2 rc=0
  js_run "pubsub-$lib-$v" --lib "$lib" --version "lite-$v" --mode pubsub --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$lib-$v/jsjs" --track t --encoding base64 --frames "$FRAMES_B64" --group-frames 30 \
    --finish-track --count 0 --expect-frames "$FRAMES_B64" --expect-version "moq-lite-$v" --expect-protocol "moq-lite-$v" --timeout 40 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "js<->js $lib lite-$v: pubsub failed (exit $rc)" "$T/pubsub-$lib-$v.json"
  else
    echo "[$(secs)s] ok js<->js $lib lite-$v: $N frames byte for byte + end, through the relay"
  fi
}

# ---- JS publisher of one library/version -> JS subscriber of another -----------------------
# Both start at once: the subscriber waits for the announcement, the publisher serves the
# subscription (all frames) on demand.
case_cross() {
  local plib=$1 pv=$2 slib=$3 sv=$4 b="x-$1-$2-$3-$4" rc=0 name="x-$1$2-$3$4"
  interop_bg "$name-pub" node "$INTEROP_DIR/run.mjs" --lib "$plib" --version "lite-$pv" --mode publish \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --gen 60:3000 --group-frames 6 \
    --finish-track --expect-version "moq-lite-$pv" --expect-protocol "moq-lite-$pv" --timeout 40
  local pub=$BG_PID
  js_run "$name-sub" --lib "$slib" --version "lite-$sv" --mode subscribe --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --count 0 --summary --expect-gen 60:3000 --expect-version "moq-lite-$sv" \
    --expect-protocol "moq-lite-$sv" --timeout 35 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "cross $plib lite-$pv -> $slib lite-$sv: subscriber failed (exit $rc)" "$T/$name-sub.json"
  else
    echo "[$(secs)s] ok cross   @moq/$plib lite-$pv -> @moq/$slib lite-$sv: 60 x 3000-byte frames (digests) + end"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "cross $plib lite-$pv -> $slib lite-$sv: publisher failed (exit $rc)" "$T/$name-pub.out"
}

# ---- the matrix -----------------------------------------------------------------------------
idle=0
[ "$LIB" = lite ] && idle=3
for v in "${VERSIONS[@]}"; do
  case_c_to_js "$LIB" "$v" "$idle"
  case_js_to_c "$LIB" "$v"
  case_pubsub "$LIB" "$v"
done

# moqc over raw QUIC -> relay -> JS over WebTransport.
if [ "$LIB" = net ]; then
  case_c_to_js net 05 0 quic
else
  case_c_to_js lite 04 0 quic
fi

if [ "$LIB" = net ]; then
  case_cross lite 03 net 03
  case_cross lite 04 net 04
  case_cross lite 03 net 05
else
  case_cross net 03 lite 03
  case_cross net 04 lite 04
  case_cross net 05 lite 04
fi

# The relay saw every version it was asked for.
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$RELAY_PORT/metrics" || true)
for v in "${VERSIONS[@]}"; do
  n=$(sed -n "s/^moqc_relay_sessions_total{version=\"moq-lite-$v\"} //p" <<<"$metrics")
  # js->c 2 (JS + moqc), c->js 2, pubsub 2, cross >= 1
  if [ "${n:-0}" -lt 6 ]; then
    interop_case_fail "relay metrics: only ${n:-0} moq-lite-$v session(s), expected >= 6"
  fi
done
echo "[$(secs)s] relay sessions per version: $(grep '^moqc_relay_sessions_total' <<<"$metrics" | tr '\n' ' ')"
interop_relay_stop || interop_case_fail "moqc-relay did not stop cleanly"

# ---- a relay that only speaks lite-04 ---------------------------------------------------------
mkdir -p "$T/r04"
if interop_relay_start "$T/r04" --version moq-lite-04; then
  rc=0
  # http:// URL: the library fetches /certificate.sha256 from the relay and pins it.
  js_run "r04-default" --lib "$LIB" --mode pubsub --url "http://127.0.0.1:$RELAY_PORT/anon" \
    --broadcast only04 --frames "a,grüße ✓,c" --expect-frames "a,grüße ✓,c" \
    --expect-version moq-lite-04 --expect-protocol moq-lite-04 --timeout 30 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "relay --version moq-lite-04: $LIB default offer did not negotiate lite-04 (exit $rc)" "$T/r04-default.json"
  else
    echo "[$(secs)s] ok relay --version moq-lite-04: @moq/$LIB default offer via http:// certificate bootstrap ($(interop_field "$(cat "$T/r04-default.json")" offered)) -> $(interop_field "$(cat "$T/r04-default.json")" protocol), frames ok"
  fi
  other=05
  [ "$LIB" = lite ] && other=03
  rc=0
  js_run "r04-other" --lib "$LIB" --version "lite-$other" --mode connect --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --expect-error 'handshake failed' --timeout 20 || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "relay --version moq-lite-04: an offer of only lite-$other was not refused (exit $rc)" "$T/r04-other.json"
  else
    echo "[$(secs)s] ok relay --version moq-lite-04: offer of only lite-$other refused ($(interop_field "$(cat "$T/r04-other.json")" expectedError | head -c 100))"
  fi
  interop_relay_stop || interop_case_fail "moqc-relay (lite-04 only) did not stop cleanly"
else
  interop_case_fail "moqc-relay --version moq-lite-04 did not start"
fi

for f in "$T"/*.err; do
  case $f in *.jserr) continue ;; esac
  interop_sanitizer_clean "$f" || interop_case_fail "sanitizer report in $(basename "$f")"
done
echo "[$(secs)s] done"
interop_done

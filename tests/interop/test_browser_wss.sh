#!/usr/bin/env bash
# Headless Chromium, @moq/net 0.3.4 with WebTransport hidden (run.mjs --transport websocket)
# and an https:// URL, so its WebSocket is wss://: TLS on moqc-relay's HTTP port (the same
# port number as UDP; the relay tells TLS from plain HTTP by the first byte), lite-05:
#   wss->wt  a wss:// publisher -> the relay -> a WebTransport subscriber, 120 mixed frames
#            byte for byte, then the track's end;
#   wt->wss  a WebTransport publisher -> the relay -> a wss:// subscriber, the same frames.
# The browser trusts the relay's self-signed certificate only through
# --ignore-certificate-errors-spki-list=<SHA-256 of its public key> (serverCertificateHashes
# covers WebTransport only). Each run checks the transport it used.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
[ -x "$bdir/moqc-relay" ] || { echo "FAIL: $bdir/moqc-relay not built" >&2; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl is required" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
N=120
interop_gen_frames "$N" 11 "$T"
FRAMES_B64=$(cat "$T/frames.b64")

check_transport() {
  local got
  got=$(grep -o '"transport":"[a-z]*"' "$T/$1.json" | head -n 1 | cut -d'"' -f4)
  [ "$got" = "$2" ] || { interop_case_fail "$1: connected over '${got:-?}', expected $2" "$T/$1.json"; return 1; }
}

one_case() { # PUB_TRANSPORT SUB_TRANSPORT
  local ptr=$1 str=$2 name b rc=0
  name="$ptr-$str" b="bwss/$ptr-$str"
  interop_bg "$name-pub" node "$INTEROP_DIR/run.mjs" --lib net --version lite-05 --transport "$ptr" --mode publish \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --broadcast "$b" --track t --encoding base64 --frames "$FRAMES_B64" \
    --group-frames 10 --finish-track --expect-version moq-lite-05 --timeout 40 --chromium-arg="$SPKI_ARG"
  local pub=$BG_PID
  interop_run --lib net --version lite-05 --transport "$str" --mode subscribe --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$b" --track t --encoding base64 --expect-frames "$FRAMES_B64" \
    --expect-version moq-lite-05 --timeout 35 --chromium-arg="$SPKI_ARG" >"$T/$name-sub.json" 2>"$T/$name-sub.jserr" || rc=$?
  if [ "$rc" != 0 ]; then
    interop_case_fail "$ptr -> $str: subscriber failed (exit $rc)" "$T/$name-sub.json"
  elif check_transport "$name-sub" "$str"; then
    echo "ok $ptr -> $str (wss:// for websocket): $N frames byte for byte, then the track's end"
  fi
  rc=0
  interop_wait_pid "$pub" 20 || rc=$?
  cp "$INTEROP_TMP/$name-pub.out" "$T/$name-pub.json" 2>/dev/null || true
  if [ "$rc" != 0 ]; then
    interop_case_fail "$ptr -> $str: publisher failed (exit $rc)" "$T/$name-pub.json"
  else
    check_transport "$name-pub" "$ptr" || true
  fi
}

mkdir -p "$T/r"
interop_relay_start "$T/r" --log-level info --version moq-lite-05 || { echo "FAIL: relay did not start" >&2; exit 1; }
# The browser's pin: base64 SHA-256 of the certificate's SubjectPublicKeyInfo, read off the
# relay's TLS listener (its https:// port is the same number as RELAY_PORT).
SPKI=$(openssl s_client -connect "127.0.0.1:$RELAY_PORT" </dev/null 2>/dev/null | openssl x509 -pubkey -noout |
  openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64)
[ -n "$SPKI" ] || { echo "FAIL: cannot read the relay's certificate over TLS" >&2; exit 1; }
SPKI_ARG=--ignore-certificate-errors-spki-list=$SPKI
one_case websocket webtransport
one_case webtransport websocket
interop_relay_stop || interop_case_fail "moqc-relay did not stop cleanly"
interop_done

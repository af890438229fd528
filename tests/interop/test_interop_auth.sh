#!/usr/bin/env bash
# JWT auth with the moq-dev JS client (@moq/net, lite-05, WebTransport in headless Chromium)
# through moqc-relay --auth-key (an EdDSA key made by `moqc token generate`); the token rides in
# the URL (?jwt=), as with moq-relay:
#   1. a JS publisher with put "alice" publishes 'alice': `moqc subscribe` (get "") reads it;
#   2. the same token cannot publish 'bob': it is never announced, so moqc gives up on it;
#   3. a JS subscriber with get "alice" reads 'alice' from `moqc publish`, and a JS subscriber
#      with the same token does not get 'carol';
#   4. a JS subscriber without a token is refused (its connection fails);
#   5. no token in the relay's log (debug level).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
MOQC_BIN=$bdir/moqc
interop_init
T=$INTEROP_TMP
"$MOQC_BIN" token generate --algorithm EdDSA --out "$T/key.jwk" --public "$T/pub.jwk"
tok() { "$MOQC_BIN" token sign --key "$T/key.jwk" --root room --expires 1h "$@"; }
T_ALICE=$(tok --put alice --get "")
T_ALL=$(tok --put "" --get "")
T_GET_ALICE=$(tok --get alice)
interop_relay_start "$T" --auth-key "$T/pub.jwk" --log-level debug || exit 1
MOQC=("$MOQC_BIN" --tls-fingerprint "$RELAY_FP" --version moq-lite-05)
js() { node "$INTEROP_DIR/run.mjs" --lib net --version lite-05 --fingerprint "$RELAY_FP" "$@"; }

# ---- 1 + 2. JS publisher with put=alice ----
interop_bg sub-alice timeout 60 "${MOQC[@]}" subscribe --url "$RELAY_URL/room?jwt=$T_ALL" \
  --broadcast alice --track t --count 3 --wait 40s
SUB_ALICE=$BG_PID
interop_bg sub-bob timeout 60 "${MOQC[@]}" subscribe --url "$RELAY_URL/room?jwt=$T_ALL" \
  --broadcast bob --track t --count 1 --wait 15s
SUB_BOB=$BG_PID
interop_bg pub-alice js --mode publish --url "$RELAY_URL/room?jwt=$T_ALICE" --broadcast alice \
  --track t --frames a,b,c --timeout 40
PUB_ALICE=$BG_PID
interop_bg pub-bob js --mode publish --url "$RELAY_URL/room?jwt=$T_ALICE" --broadcast bob \
  --track t --frames x --requests 0 --hold 20 --timeout 40
PUB_BOB=$BG_PID
rc=0
interop_wait_pid "$SUB_ALICE" 45 || rc=$?
[ "$rc" = 0 ] || interop_case_fail "1: moqc could not read the JS publisher's alice (exit $rc)" "$T/sub-alice.err"
[ "$(cat "$T/sub-alice.out")" = "$(printf 'a\nb\nc')" ] ||
  interop_case_fail "1: moqc printed '$(head -c 200 "$T/sub-alice.out")'"
rc=0
interop_wait_pid "$SUB_BOB" 30 || rc=$?
[ "$rc" != 0 ] || interop_case_fail "2: bob was served although the token has put=alice"
interop_wait_pid "$PUB_ALICE" 30 || true
interop_wait_pid "$PUB_BOB" 30 || true
echo "1+2: put=alice publishes alice, bob is refused"

# ---- 3. JS subscriber with get=alice ----
interop_bg jsub js --mode subscribe --url "$RELAY_URL/room?jwt=$T_GET_ALICE" --broadcast alice \
  --track t --count 2 --expect-frames p,q --timeout 40
JSUB=$BG_PID
interop_bg jsub-carol js --mode subscribe --url "$RELAY_URL/room?jwt=$T_GET_ALICE" --broadcast carol \
  --track t --count 1 --timeout 12
JSUB_CAROL=$BG_PID
interop_wait_grep "$T/jsub.err" '"event":"connected"' 30 "$JSUB" ||
  interop_case_fail "3: the JS subscriber never connected" "$T/jsub.out"
rm -f "$T/p.fifo" "$T/c.fifo"
mkfifo "$T/p.fifo" "$T/c.fifo"
exec 7<>"$T/p.fifo" 8<>"$T/c.fifo"
INTEROP_STDIN=$T/p.fifo interop_bg cpub timeout 60 "${MOQC[@]}" publish \
  --url "$RELAY_URL/room?jwt=$T_ALL" --broadcast alice --track t --wait-subscriber
INTEROP_STDIN=$T/c.fifo interop_bg cpub-carol timeout 60 "${MOQC[@]}" publish \
  --url "$RELAY_URL/room?jwt=$T_ALL" --broadcast carol --track t
printf 'p\nq\n' >&7
printf 'c\n' >&8
exec 7>&-
rc=0
interop_wait_pid "$JSUB" 45 || rc=$?
[ "$rc" = 0 ] || interop_case_fail "3: JS subscriber with get=alice failed (exit $rc)" "$T/jsub.out"
rc=0
interop_wait_pid "$JSUB_CAROL" 30 || rc=$?
[ "$rc" != 0 ] || interop_case_fail "3: a JS subscriber with get=alice read carol" "$T/jsub-carol.out"
exec 8>&-
echo "3: get=alice reads alice, not carol"

# ---- 4. no token ----
rc=0
js --mode subscribe --url "$RELAY_URL/room" --broadcast alice --track t --count 1 --timeout 15 \
  >"$T/jnotoken.out" 2>"$T/jnotoken.err" || rc=$?
[ "$rc" != 0 ] || interop_case_fail "4: a JS subscriber without a token was served" "$T/jnotoken.out"
grep -q "refusing .*'/room'.*token required" "$T/relay.err" ||
  interop_case_fail "4: no refusal in the relay's log"
echo "4: no token: refused"

interop_relay_stop || interop_case_fail "relay did not stop cleanly"
# ---- 5. no token in the relay's log ----
for t in "$T_ALICE" "$T_ALL" "$T_GET_ALICE"; do
  grep -qF -e "${t##*.}" "$T/relay.err" "$T/relay.out" && interop_case_fail "5: a token is in the relay's log"
done
interop_done

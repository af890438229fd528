#!/usr/bin/env bash
# IETF SETUP AUTHORIZATION TOKEN through moqc-relay (`moqc --auth-token`, no ?jwt= in the URL):
#   1. a publisher with a put=alice token and a subscriber with a get=alice token exchange
#      broadcast alice (moqt-16 over WebTransport, moqt-18 over raw QUIC);
#   2. the get=alice subscriber cannot read carol (published with a full token): scope kept;
#   3. a token of another root, a garbage token and no token are refused with the draft's
#      UNAUTHORIZED (0x2; moq-lite's Unauthorized 6 is KEY_VALUE_FORMATTING_ERROR there);
#   4. no token appears in any log.
. "$(dirname "$0")/lib.sh"
it_init

K=$IT_TMP/key.jwk
P=$IT_TMP/pub.jwk
"$MOQC_BIN" token generate --algorithm ES256 --out "$K" --public "$P" || it_fail "token generate"
tok() { "$MOQC_BIN" token sign --key "$K" "$@"; }
T_ALL=$(tok --root room --put "" --get "" --expires 1h) || it_fail "token sign"
T_ALICE=$(tok --root room --put alice --expires 1h)
T_GET_ALICE=$(tok --root room --get alice --expires 1h)
T_OTHER=$(tok --root elsewhere --put "" --get "" --expires 1h)
TOKENS=("$T_ALL" "$T_ALICE" "$T_GET_ALICE" "$T_OTHER")

it_relay_start --auth-key "$P" --log-level debug

# check NAME URL VERSION : alice (token put=alice) -> subscriber (token get=alice)
check() {
  local name=$1 url=$2 v=$3 rc
  it_fifo "p-$name" 7
  IT_STDIN=$IT_TMP/p-$name.fifo it_bg "p-$name" "${MOQC[@]}" publish --url "$url" --version "$v" \
    --broadcast alice --auth-token "$T_ALICE"
  it_bg "s-$name" "${MOQC[@]}" subscribe --url "$url" --version "$v" --broadcast alice \
    --auth-token "$T_GET_ALICE" --count 2 --wait 15s
  sleep 1
  echo "a1" >&7
  echo "a2" >&7
  it_wait "s-$name" 20
  rc=$?
  [ "$rc" = 0 ] || it_check_fail "1: $name: subscriber of alice exited $rc"
  [ "$(cat "$IT_TMP/s-$name.out")" = "$(printf 'a1\na2')" ] ||
    it_check_fail "1: $name: printed $(cat "$IT_TMP/s-$name.out")"
  exec 7>&-
  it_wait "p-$name" 10 >/dev/null
  it_log "1: $name: put=alice / get=alice tokens in SETUP: alice delivered"
}
check wt16 "https://127.0.0.1:$RELAY_PORT/room" moqt-16
check quic18 "moqt://127.0.0.1:$RELAY_PORT/room" moqt-18

# ---- 2. scope: get=alice cannot read carol ----
it_fifo pc 9
IT_STDIN=$IT_TMP/pc.fifo it_bg pc "${MOQC[@]}" publish --url "https://127.0.0.1:$RELAY_PORT/room" \
  --version moqt-17 --broadcast carol --auth-token "$T_ALL"
it_bg s2 "${MOQC[@]}" subscribe --url "https://127.0.0.1:$RELAY_PORT/room" --version moqt-17 \
  --broadcast carol --auth-token "$T_GET_ALICE" --count 1 --wait 3s
sleep 1
echo "c1" >&9
it_wait s2 20 && it_check_fail "2: get=alice read carol: $(cat "$IT_TMP/s2.out")"
exec 9>&-
it_log "2: get=alice does not see carol"

# ---- 3. refused: another root, garbage, none ----
it_bg s3a "${MOQC[@]}" subscribe --url "https://127.0.0.1:$RELAY_PORT/room" --version moqt-17 \
  --broadcast alice --auth-token "$T_OTHER" --wait 3s
it_bg s3b "${MOQC[@]}" subscribe --url "moqt://127.0.0.1:$RELAY_PORT/room" --version moqt-16 \
  --broadcast alice --auth-token "not.a.jwt" --wait 3s
it_bg s3c "${MOQC[@]}" subscribe --url "https://127.0.0.1:$RELAY_PORT/room" --version moqt-18 \
  --broadcast alice --wait 3s
for s in s3a s3b s3c; do
  it_wait "$s" 20 && it_check_fail "3: $s was served"
  grep -q "(code 2 UNAUTHORIZED)" "$IT_TMP/$s.err" ||
    it_check_fail "3: $s: not refused as UNAUTHORIZED (0x2)"
done
n=$(grep -c "refusing moqt-1[678] session" "$IT_TMP/relay.err")
[ "$n" -ge 3 ] || it_check_fail "3: $n refusals logged (want 3)"
it_log "3: another root, garbage, no token: refused"

it_relay_stop
it_clients_clean
# ---- 4. no token in any log ----
for t in "${TOKENS[@]}"; do
  sig=${t##*.}
  hits=$(grep -rlF --exclude='*.jwk' --exclude='*.fifo' -e "$sig" "$IT_TMP")
  rc=$?
  [ "$rc" -le 1 ] || it_check_fail "4: grep failed ($rc)"
  [ -z "$hits" ] || it_check_fail "4: a token is in $hits"
done
it_log "4: no token in any log"
it_done

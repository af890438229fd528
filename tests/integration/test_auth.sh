#!/usr/bin/env bash
# JWT auth through moqc-relay with moqc (tokens made by `moqc token`, moq-token's
# format; the jose-made vectors for every algorithm are in tests/unit/test_auth.c):
#   1. no token on a non-public path, or a token for another root: the session is
#      refused (Unauthorized, with the reason, told to the client over WebTransport
#      and over WebSocket), the log shows the URL with the jwt value replaced;
#   2. put "alice": publishes 'alice', and 'bob' is refused (never announced),
#      while the same session's 'alice' keeps working;
#   3. get "alice": sees and reads 'alice' only ('carol' is not announced to it,
#      and subscribing to it fails);
#   4. a public prefix (--auth-public anon) works without a token;
#   5. a token that expires mid-stream closes that session at expiry while
#      another subscriber of the same track goes on;
#   6. no token appears in any log the relay or the clients wrote;
#   and the HTTP endpoints check ?jwt=; SIGHUP rotates the key without dropping sessions.
. "$(dirname "$0")/lib.sh"
it_init
K=$IT_TMP/key.jwk
P=$IT_TMP/pub.jwk
"$MOQC_BIN" token generate --algorithm ES256 --out "$K" --public "$P" || it_fail "token generate"
tok() { "$MOQC_BIN" token sign --key "$K" --root room "$@"; }
T_ALL=$(tok --put "" --get "" --expires 1h) || it_fail "token sign"
T_ALICE=$(tok --put alice --get "" --expires 1h)
T_GET_ALICE=$(tok --get alice --expires 1h)
TOKENS=("$T_ALL" "$T_ALICE" "$T_GET_ALICE")
it_relay_start --auth-key "$P" --auth-public anon --auth-leeway 1s --log-level debug
grep -q "anyone can publish" "$IT_TMP/relay.err" && it_fail "open-relay warning with a key configured"
url() { echo "$(it_url "$1")?jwt=$2"; }

# ---- 1. no token ----
it_bg s0 "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast alice --count 1 --wait 3s
it_wait s0 20 && it_fail "a subscriber without a token was served"
it_wait_for "$IT_TMP/relay.err" "refusing .*'/room'.*token required" 5 || it_fail "1: no refusal logged"
# The client is told why, with the MoQ code, over WebTransport and over WebSocket
# (where QMux's CONNECTION_CLOSE must go out ahead of the WebSocket Close).
grep -q 'token required (code 6 Unauthorized)' "$IT_TMP/s0.err" ||
  it_fail "1: the WebTransport client was not told why: $(tail -2 "$IT_TMP/s0.err")"
it_bg s0w "$MOQC_BIN" subscribe --url "ws://127.0.0.1:$HTTP_PORT/room" --broadcast alice --count 1 --wait 3s
it_wait s0w 20 && it_fail "a WebSocket subscriber without a token was served"
grep -q 'token required (code 6 Unauthorized)' "$IT_TMP/s0w.err" ||
  it_fail "1: the WebSocket client was not told why: $(tail -2 "$IT_TMP/s0w.err")"
it_bg s1 "${MOQC[@]}" subscribe --url "$(url elsewhere "$T_ALL")" --broadcast alice --count 1 --wait 3s
it_wait s1 20 && it_fail "a token for another root was served"
it_wait_for "$IT_TMP/relay.err" "refusing .*'/elsewhere\?jwt=<redacted>'.*outside the token root" 5 ||
  it_fail "1: other root: no refusal logged"
it_log "1: no token, or a token for another root: refused"

# ---- 2. put alice ----
it_fifo pa 7
IT_STDIN=$IT_TMP/pa.fifo it_bg pa "${MOQC[@]}" publish --url "$(url room "$T_ALICE")" --broadcast alice
it_fifo pb 8
IT_STDIN=$IT_TMP/pb.fifo it_bg pb "${MOQC[@]}" publish --url "$(url room "$T_ALICE")" --broadcast bob
for i in $(seq 1 100); do it_http "/announced?jwt=$T_ALL" | grep -qx 'room/alice' && break; sleep 0.05; done
it_http "/announced?jwt=$T_ALL" | grep -qx 'room/alice' || it_fail "2: alice not announced: $(it_http "/announced?jwt=$T_ALL")"
sleep 0.5
it_http "/announced?jwt=$T_ALL" | grep -q 'bob' && it_fail "2: bob announced with put=alice"
it_bg s2 "${MOQC[@]}" subscribe --url "$(url room "$T_ALL")" --broadcast alice --count 2 --wait 10s
sleep 1
echo "a1" >&7
echo "a2" >&7
it_wait s2 20 || it_fail "2: subscriber of alice exited $?"
[ "$(cat "$IT_TMP/s2.out")" = "$(printf 'a1\na2')" ] || it_fail "2: s2 printed $(cat "$IT_TMP/s2.out")"
kill -0 "$(it_pid pb)" 2>/dev/null || it_fail "2: the bob publisher's session did not stay up"
# moq-lite cannot refuse one announcement (as moq-relay, it is ignored): counted
n=$(it_metric moqc_relay_announces_unauthorized_total)
[ "${n:-0}" -ge 1 ] || it_fail "2: bob's announcement not counted as unauthorized ('${n:-?}')"
it_log "2: put=alice publishes alice, bob refused, session stays"

# ---- 3. get alice ----
it_fifo pc 9
IT_STDIN=$IT_TMP/pc.fifo it_bg pc "${MOQC[@]}" publish --url "$(url room "$T_ALL")" --broadcast carol
for i in $(seq 1 100); do it_http "/announced?jwt=$T_ALL" | grep -qx 'room/carol' && break; sleep 0.05; done
it_bg an "${MOQC[@]}" announced --url "$(url room "$T_GET_ALICE")"
it_bg s3 "${MOQC[@]}" subscribe --url "$(url room "$T_GET_ALICE")" --broadcast alice --count 1 --wait 10s
it_bg s3c "${MOQC[@]}" subscribe --url "$(url room "$T_GET_ALICE")" --broadcast carol --count 1 --wait 3s
sleep 1
echo "a3" >&7
echo "c1" >&9
it_wait s3 20 || it_fail "3: get=alice could not read alice ($?)"
it_wait s3c 20 && it_fail "3: get=alice read carol: $(cat "$IT_TMP/s3c.out")"
sleep 1
kill -INT "$(it_pid an)" 2>/dev/null
it_wait an 10
grep -q alice "$IT_TMP/an.out" || it_fail "3: alice not announced to get=alice: $(cat "$IT_TMP/an.out")"
grep -q carol "$IT_TMP/an.out" && it_fail "3: carol announced to get=alice"
it_log "3: get=alice sees and reads alice only"

# ---- 4. public prefix ----
it_fifo pp 6
IT_STDIN=$IT_TMP/pp.fifo it_bg pp "${MOQC[@]}" publish --url "$(it_url anon)" --broadcast open
it_bg s4 "${MOQC[@]}" subscribe --url "$(it_url anon)" --broadcast open --count 1 --wait 10s
sleep 1
echo "o1" >&6
it_wait s4 20 || it_fail "4: public subscriber exited $?"
it_log "4: public prefix without a token"

# ---- 5. expiry mid-stream ----
T_SHORT=$(tok --get "" --expires 3s)
TOKENS+=("$T_SHORT")
it_bg s5 "${MOQC[@]}" subscribe --url "$(url room "$T_SHORT")" --broadcast alice --wait 10s
it_bg s6 "${MOQC[@]}" subscribe --url "$(url room "$T_ALL")" --broadcast alice --count 12 --wait 10s
sleep 0.5
for i in $(seq 1 12); do echo "e$i" >&7; sleep 0.5; done
it_wait s6 20 || it_fail "5: the long-token subscriber exited $?"
it_wait s5 10
rc=$?
[ "$rc" = 124 ] && it_fail "5: the expired session was not closed"
[ "$(wc -l <"$IT_TMP/s5.out")" -lt 12 ] || it_fail "5: expired subscriber got every line"
grep -q "token expired" "$IT_TMP/relay.err" || it_fail "5: no expiry logged"
it_log "5: expiry closed one session (exit $rc, $(wc -l <"$IT_TMP/s5.out") lines), the other got 12"

# ---- HTTP endpoints take ?jwt= too ----
[ "$(it_http /announced/room -o /dev/null -w '%{http_code}')" = 401 ] || it_fail "http: /announced without a token"
[ "$(it_http "/announced/room?jwt=$T_GET_ALICE")" = alice ] ||
  it_fail "http: /announced with get=alice: $(it_http "/announced/room?jwt=$T_GET_ALICE")"
it_http "/announced/room?jwt=$T_ALL" | grep -qx carol || it_fail "http: /announced with get=all"
[ "$(it_http "/fetch/room/carol/data?jwt=$T_GET_ALICE" -o /dev/null -w '%{http_code}')" = 401 ] ||
  it_fail "http: /fetch of carol with get=alice"
it_http /metrics | grep -qE '^moqc_relay_auth_refused_total [1-9]' || it_fail "http: no auth refusals counted"
it_log "http: /announced and /fetch check ?jwt="

# ---- SIGHUP re-reads the key file; live sessions stay ----
K2=$IT_TMP/key2.jwk
"$MOQC_BIN" token generate --algorithm ES256 --out "$K2" --public "$IT_TMP/pub2.jwk" || it_fail "generate 2"
T_NEW=$("$MOQC_BIN" token sign --key "$K2" --root room --get "" --expires 1h)
TOKENS+=("$T_NEW")
it_bg s7 "${MOQC[@]}" subscribe --url "$(url room "$T_ALL")" --broadcast alice --count 1 --wait 20s
sleep 1
cp "$IT_TMP/pub2.jwk" "$P"
kill -HUP "$RELAY_PID"
it_wait_for "$IT_TMP/relay.err" "SIGHUP: auth keys re-read" 5 || it_fail "sighup: no reload logged"
it_bg s8 "${MOQC[@]}" subscribe --url "$(url room "$T_NEW")" --broadcast alice --count 1 --wait 10s
it_bg s9 "${MOQC[@]}" subscribe --url "$(url room "$T_ALL")" --broadcast alice --count 1 --wait 3s
sleep 1
echo "h1" >&7
it_wait s8 20 || it_fail "sighup: a token of the new key was refused ($?)"
it_wait s7 20 || it_fail "sighup: a live session of the old key did not go on ($?)"
it_wait s9 20 && it_fail "sighup: a token of the old key was still accepted"
grep -q "bad signature" "$IT_TMP/s9.err" || it_fail "sighup: s9: $(cat "$IT_TMP/s9.err")"
it_log "sighup: new key accepted, old key refused, the live session went on"

exec 6>&- 7>&- 8>&- 9>&-
it_relay_stop
it_clients_clean
# the bob publisher's ignored announcement was logged when its session ended
grep -q "announcement(s) outside the token's put were ignored" "$IT_TMP/relay.err" ||
  it_fail "2: the ignored announcement was not logged"

# ---- 6. no token in any log ----
for t in "${TOKENS[@]}"; do
  sig=${t##*.}
  hits=$(grep -rlF --exclude='*.jwk' --exclude='*.fifo' -e "$sig" "$IT_TMP")
  rc=$?
  [ "$rc" -le 1 ] || it_fail "6: grep failed ($rc)"
  [ -z "$hits" ] || it_fail "6: a token is in $hits"
done
it_log "6: no token in $(ls "$IT_TMP" | wc -l) files"
echo PASS

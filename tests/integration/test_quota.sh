#!/usr/bin/env bash
# Quotas with auth: --max-sessions-per-root 2. Two sessions on tenant 'room' are
# served, a third is refused with BoundsExceeded ("too many sessions for this
# root") and counted in /metrics, while tenant 'other' streams 20 lines through
# the relay without losing one; after one 'room' session leaves, a new one is
# served again.
. "$(dirname "$0")/lib.sh"
it_init
K=$IT_TMP/key.jwk
"$MOQC_BIN" token generate --algorithm HS256 --out "$K" || it_fail "token generate"
tok() { "$MOQC_BIN" token sign --key "$K" --expires 1h "$@"; }
T_ROOM=$(tok --root room --put "" --get "")
T_OTHER=$(tok --root other --put "" --get "")
it_relay_start --auth-key "$K" --max-sessions-per-root 2
url() { echo "$(it_url "$1")?jwt=$2"; }

# tenant 'other': a stream that must not lose a line
it_bg osub "${MOQC[@]}" subscribe --url "$(url other "$T_OTHER")" --broadcast b --count 20 --wait 20s
it_fifo op 7
IT_STDIN=$IT_TMP/op.fifo it_bg opub "${MOQC[@]}" publish --url "$(url other "$T_OTHER")" \
  --broadcast b --wait-subscriber

# tenant 'room': two sessions held open (subscribers waiting for a broadcast)
it_bg r1 "${MOQC[@]}" subscribe --url "$(url room "$T_ROOM")" --broadcast x --count 1 --wait 30s
it_bg r2 "${MOQC[@]}" subscribe --url "$(url room/sub "$T_ROOM")" --broadcast x --count 1 --wait 30s
it_wait_for "$IT_TMP/relay.err" "session 2:" 10 || it_fail "two room sessions did not start"
it_wait_for "$IT_TMP/relay.err" "session [34]:.*root '/room" 10 || it_fail "the second room session did not start"
for i in 1 2 3 4 5 6 7 8 9 10; do echo "o$i" >&7; sleep 0.05; done
# the third is refused (another path under the same token root is the same tenant)
it_bg r3 "${MOQC[@]}" subscribe --url "$(url room/x "$T_ROOM")" --broadcast x --count 1 --wait 5s
it_wait r3 20 && it_fail "a third session on tenant room was served"
grep -q "too many sessions for this root" "$IT_TMP/r3.err" || it_fail "r3: $(cat "$IT_TMP/r3.err")"
it_http /metrics | grep -q 'moqc_relay_quota_refused_total{cause="sessions_per_root"} 1' ||
  it_fail "refusal not counted: $(it_http /metrics | grep quota)"
for i in 11 12 13 14 15 16 17 18 19 20; do echo "o$i" >&7; sleep 0.05; done
it_wait osub 20 || it_fail "tenant other's subscriber exited $?"
[ "$(cat "$IT_TMP/osub.out")" = "$(seq -f 'o%g' 1 20)" ] || it_fail "tenant other lost lines: $(cat "$IT_TMP/osub.out" | tr '\n' ' ')"
# one room session leaves: a new one is served
kill -INT "$(it_pid r1)"
it_wait r1 10
sleep 0.5
it_bg r4 "${MOQC[@]}" subscribe --url "$(url room "$T_ROOM")" --broadcast x --count 1 --wait 3s
it_wait r4 20
grep -q "too many sessions" "$IT_TMP/r4.err" && it_fail "r4 refused after r1 left"
grep -q "not announced" "$IT_TMP/r4.err" || it_fail "r4: $(cat "$IT_TMP/r4.err")"
exec 7>&-
kill -INT "$(it_pid r2)"
it_wait r2 10
it_relay_stop
it_clients_clean
echo PASS

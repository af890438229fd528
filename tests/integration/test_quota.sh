#!/usr/bin/env bash
# Quotas with auth: --max-sessions-per-root 3. Three sessions on tenant 'room' are
# served, a fourth is refused with BoundsExceeded ("too many sessions for this
# root") and counted in /metrics, while tenant 'other' streams 20 lines through
# the relay without losing one; after one 'room' session leaves, a new one is
# served again.
# A well-behaved moqc_bench pair on the same relay loses no group and keeps its
# p99 latency within the spread of a control pair on an unattacked relay
# (tests/adversarial/lib.sh).
# (The pair's path, good-sessions, is public: no token; its three sessions
# are the public tenant's.)
. "$(dirname "$0")/../adversarial/lib.sh"
adv_init
K=$IT_TMP/key.jwk
"$MOQC_BIN" token generate --algorithm HS256 --out "$K" || it_fail "token generate"
tok() { "$MOQC_BIN" token sign --key "$K" --expires 1h "$@"; }
T_ROOM=$(tok --root room --put "" --get "")
T_OTHER=$(tok --root other --put "" --get "")
adv_relay_start --auth-key "$K" --max-sessions-per-root 3 --auth-public good-sessions
url() { echo "$(it_url "$1")?jwt=$2"; }

# tenant 'other': a stream that must not lose a line
it_bg osub "${MOQC[@]}" subscribe --url "$(url other "$T_OTHER")" --broadcast b --count 20 --wait 20s
it_fifo op 7
IT_STDIN=$IT_TMP/op.fifo it_bg opub "${MOQC[@]}" publish --url "$(url other "$T_OTHER")" \
  --broadcast b --wait-subscriber

# tenant 'room': three sessions held open (subscribers waiting for a broadcast)
it_bg r1 "${MOQC[@]}" subscribe --url "$(url room "$T_ROOM")" --broadcast x --count 1 --wait 30s
it_bg r2 "${MOQC[@]}" subscribe --url "$(url room/sub "$T_ROOM")" --broadcast x --count 1 --wait 30s
it_bg r2b "${MOQC[@]}" subscribe --url "$(url room/b "$T_ROOM")" --broadcast x --count 1 --wait 30s
for _ in $(seq 1 100); do
  [ "$(grep -c "root '/room" "$IT_TMP/relay.err")" -ge 3 ] && break
  sleep 0.1
done
[ "$(grep -c "root '/room" "$IT_TMP/relay.err")" -ge 3 ] || it_fail "three room sessions did not start"
adv_pair sessions 8 # from here on: the refusal happens while the pair streams
for i in 1 2 3 4 5 6 7 8 9 10; do echo "o$i" >&7; sleep 0.05; done
# the fourth is refused (another path under the same token root is the same tenant)
it_bg r3 "${MOQC[@]}" subscribe --url "$(url room/x "$T_ROOM")" --broadcast x --count 1 --wait 5s
it_wait r3 20 && it_fail "a fourth session on tenant room was served"
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
kill -INT "$(it_pid r2)" "$(it_pid r2b)"
it_wait r2 10
it_wait r2b 10
adv_pair_check sessions
adv_done

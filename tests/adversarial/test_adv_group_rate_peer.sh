#!/usr/bin/env bash
# --max-group-rate and peer relays: one session from a peer relay carries every
# broadcast that peer forwards, so a session with a cluster peer's full access
# (here a token for root "" with put "" and get "", dialing /) is not capped,
# while a tenant's publisher flooding the same way is closed with BoundsExceeded
# (11) "group rate over quota". The cap is lowered to 300/s (bucket 300) so the
# sanitizer-built flooder outruns it for sure; each flood asks for 20,000
# groups/s for 3 s (a sanitizer build reaches a few thousand per second): more
# than the 1,200 that a capped session could start in that time.
. "$(dirname "$0")/lib.sh"
adv_init
K=$IT_TMP/key.jwk
P=$IT_TMP/key.pub.jwk
"$MOQC_BIN" token generate --algorithm ES256 --out "$K" --public "$P" >/dev/null ||
  it_fail "token generate"
FULL=$("$MOQC_BIN" token sign --key "$K" --root "" --put "" --get "" --expires 1h) ||
  it_fail "token sign"
ROOM=$("$MOQC_BIN" token sign --key "$K" --root room --put "" --get "" --expires 1h) ||
  it_fail "token sign"
it_relay_start --bind '[::]:0' --auth-key "$P" --max-group-rate 300 --group-burst 300

flood() { # NAME PATH TOKEN: a subscriber on the track, then groups as fast as possible for 3 s
  local name=$1 path=$2 tok=$3
  it_bg "sub-$name" "$MOQC_BIN" --tls-fingerprint "$FP" subscribe \
    --url "moqt://[::1]:$RELAY_PORT/$path?jwt=$tok" --broadcast "b-$name" --track t --wait 30s
  it_bg "flood-$name" "$ADV" greedy "moqt://[::1]:$RELAY_PORT/$path?jwt=$tok" "b-$name" 3000 100 \
    20000 3
  it_wait "flood-$name" 40
  sleep 1
  kill "$(it_pid "sub-$name")" 2>/dev/null
}

flood peer "" "$FULL"
closed=$(sed -n 's/^adv_client greedy: session closed: //p' "$IT_TMP/flood-peer.err" | head -1)
sent=$(sed -n 's/^published \([0-9]*\) groups$/\1/p' "$IT_TMP/flood-peer.out")
got=$(wc -l <"$IT_TMP/sub-peer.out")
it_log "full-access session: published ${sent:-?} groups, subscriber got $got; closed: ${closed:-no}"
[ -z "$closed" ] || it_check_fail "the full-access session was closed: $closed"
[ "${sent:-0}" -ge 1500 ] ||
  it_check_fail "the full-access session published ${sent:-?} groups in 3 s (the cap alone allows 1,200)"
[ "$got" -ge $((${sent:-0} / 2)) ] || it_check_fail "its subscriber got $got of ${sent:-?} groups"

flood tenant room "$ROOM"
closed=$(sed -n 's/^adv_client greedy: session closed: //p' "$IT_TMP/flood-tenant.err" | head -1)
[ "$closed" = "11 group rate over quota" ] ||
  it_check_fail "the tenant's flooding publisher was not closed with 11 'group rate over quota' (${closed:-not closed})"
refused=$(it_metric 'moqc_relay_quota_refused_total{cause="group_rate"}')
[ "${refused:-0}" -eq 1 ] || it_check_fail "group_rate refusals counted: ${refused:-none} (expected 1)"
grep -qF "$FULL" "$IT_TMP/relay.err" "$IT_TMP/relay.out" 2>/dev/null && it_check_fail "the relay logged a token"
[ "$(it_http /health)" = ok ] || it_check_fail "relay unhealthy"
it_relay_stop
it_done

#!/usr/bin/env bash
# Each moq-lite version end to end, over WebTransport (https://, path = scope)
# and raw QUIC (moqt://; only lite-05 carries the path, in SETUP), plus version
# negotiation against a relay restricted with --version.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

seq -f 'frame %g' 1 100 >"$IT_TMP/data.txt"

# deliver NAME URL VERSION BROADCAST
deliver() {
  local name=$1 url=$2 v=$3 b=$4 rc
  it_bg "sub-$name" "${MOQC[@]}" subscribe --url "$url" --broadcast "$b" --version "$v" \
    --start-group 0 --wait 30s
  IT_STDIN=$IT_TMP/data.txt it_bg "pub-$name" "${MOQC[@]}" publish --url "$url" --broadcast "$b" \
    --version "$v" --group-frames 3 --wait-subscriber
  it_wait "sub-$name" 30
  rc=$?
  [ "$rc" = 0 ] || { it_check_fail "$name: subscriber exited $rc"; return; }
  it_wait "pub-$name" 30 || { it_check_fail "$name: publisher exited $?"; return; }
  if cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub-$name.out"; then
    it_log "$name: 100 frames identical"
  else
    it_check_fail "$name: output differs ($(wc -l <"$IT_TMP/sub-$name.out") of 100 lines)"
  fi
}

for v in moq-lite-03 moq-lite-04 moq-lite-05; do
  deliver "wt-$v" "https://127.0.0.1:$RELAY_PORT/room-$v" "$v" b
done
# Raw QUIC: lite-05 sends the path in SETUP, so the scope works...
deliver "quic-moq-lite-05" "moqt://127.0.0.1:$RELAY_PORT/quicroom" moq-lite-05 b
grep -q "moq-lite-05 over QUIC, root '/quicroom'" "$IT_TMP/relay.err" ||
  it_check_fail "lite-05 raw QUIC path not used as the scope"
# ... lite-03/04 cannot carry one: both ends meet at the root.
for v in moq-lite-03 moq-lite-04; do
  deliver "quic-$v" "moqt://127.0.0.1:$RELAY_PORT/" "$v" "root-$v"
  grep -q "$v over QUIC, root '/'" "$IT_TMP/relay.err" || it_check_fail "$v raw QUIC session not at the root"
done
# The relay counted every version.
it_http /metrics >"$IT_TMP/m.txt"
for v in 03 04 05; do
  n=$(sed -n "s/^moqc_relay_sessions_total{version=\"moq-lite-$v\"} //p" "$IT_TMP/m.txt")
  [ "${n:-0}" -ge 4 ] || it_check_fail "metrics: moq-lite-$v sessions = ${n:-none}"
done

# Negotiation: a relay restricted to lite-04.
IT_RELAY_NAME=r04 it_bg r04 "$RELAY_BIN" --bind 127.0.0.1:0 --http-bind none --version moq-lite-04
it_wait_for "$IT_TMP/r04.out" '^ready$' 20 || it_fail "restricted relay did not start"
P04=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$IT_TMP/r04.out")
FP04=$(sed -n 's/^certificate sha256: //p' "$IT_TMP/r04.out")
for scheme in https moqt; do
  timeout 20 "$MOQC_BIN" announced --url "$scheme://127.0.0.1:$P04/" --tls-fingerprint "$FP04" \
    --version moq-lite-05 --timeout 5s >/dev/null 2>"$IT_TMP/neg.err"
  rc=$?
  [ "$rc" = 1 ] || it_fail "$scheme: lite-05-only client vs lite-04 relay exited $rc"
  grep -q "cannot connect" "$IT_TMP/neg.err" || it_fail "$scheme: unclear error: $(cat "$IT_TMP/neg.err")"
  # Offering every version settles on lite-04.
  timeout 20 "$MOQC_BIN" subscribe --url "$scheme://127.0.0.1:$P04/" --tls-fingerprint "$FP04" \
    --broadcast none --wait 200ms --log-level info >/dev/null 2>"$IT_TMP/neg2.err"
  grep -q "(moq-lite-04)" "$IT_TMP/neg2.err" || it_fail "$scheme: did not settle on lite-04: $(cat "$IT_TMP/neg2.err")"
done
it_relay_stop r04
it_clients_clean
it_relay_stop
it_done

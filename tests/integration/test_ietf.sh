#!/usr/bin/env bash
# IETF moq-transport end to end through moqc-relay: moqc publish / subscribe
# with --version moq-00 (draft-14), moql (draft-14, in-band), moqt-15 ... moqt-19 over WebTransport
# (https://, path = scope) and raw QUIC (moqt://, path in the PATH setup
# parameter), and a broadcast crossing between moq-lite and IETF both ways.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

seq -f 'frame %g' 1 100 >"$IT_TMP/data.txt"

# deliver NAME URL PUB_VERSION SUB_VERSION BROADCAST
deliver() {
  local name=$1 url=$2 pv=$3 sv=$4 b=$5 rc
  it_bg "sub-$name" "${MOQC[@]}" subscribe --url "$url" --broadcast "$b" --version "$sv" \
    --start-group 0 --wait 30s --log-level info
  IT_STDIN=$IT_TMP/data.txt it_bg "pub-$name" "${MOQC[@]}" publish --url "$url" --broadcast "$b" \
    --version "$pv" --group-frames 3 --wait-subscriber --log-level info
  it_wait "sub-$name" 30
  rc=$?
  [ "$rc" = 0 ] || { it_check_fail "$name: subscriber exited $rc"; return; }
  it_wait "pub-$name" 30 || { it_check_fail "$name: publisher exited $?"; return; }
  if cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub-$name.out"; then
    it_log "$name: 100 frames identical"
  else
    it_check_fail "$name: output differs ($(wc -l <"$IT_TMP/sub-$name.out") of 100 lines)"
  fi
  grep -q "($sv)" "$IT_TMP/sub-$name.err" || it_check_fail "$name: subscriber did not run $sv"
  grep -q "($pv)" "$IT_TMP/pub-$name.err" || it_check_fail "$name: publisher did not run $pv"
}

for v in moq-00 moql moqt-15 moqt-16 moqt-17 moqt-18 moqt-19; do
  deliver "wt-$v" "https://127.0.0.1:$RELAY_PORT/room-$v" "$v" "$v" b
  deliver "quic-$v" "moqt://127.0.0.1:$RELAY_PORT/quic-$v" "$v" "$v" b
done
# moq-lite <-> IETF through the one model, both directions.
deliver "lite-to-ietf" "https://127.0.0.1:$RELAY_PORT/x1" moq-lite-05 moqt-16 b
deliver "lite-to-ietf18" "https://127.0.0.1:$RELAY_PORT/x4" moq-lite-05 moqt-18 b
deliver "ietf17-to-lite" "moqt://127.0.0.1:$RELAY_PORT/x5" moqt-17 moq-lite-05 b
deliver "ietf-to-lite" "https://127.0.0.1:$RELAY_PORT/x2" moq-00 moq-lite-04 b
deliver "quic-ietf-to-lite" "moqt://127.0.0.1:$RELAY_PORT/x3" moqt-15 moq-lite-05 b

it_http /metrics >"$IT_TMP/m.txt"
for v in moq-00 moqt-15 moqt-16 moqt-17 moqt-18 moqt-19; do
  n=$(sed -n "s/^moqc_relay_sessions_total{version=\"$v\"} //p" "$IT_TMP/m.txt")
  [ "${n:-0}" -ge 4 ] || it_check_fail "metrics: $v sessions = ${n:-none}"
done
# GOAWAY at shutdown: IETF subscribers (control stream on 16, SETUP stream on
# 18) are told GOAWAY before the relay closes and exit 0; a moq-lite one is
# just closed (exit 1, "connection closed by the relay").
for v in moqt-16 moqt-18 moq-lite-05; do
  it_bg "ga-$v" "${MOQC[@]}" subscribe --url "https://127.0.0.1:$RELAY_PORT/ga" --broadcast never \
    --version "$v" --wait 60s --log-level info
  it_wait_for "$IT_TMP/ga-$v.err" "connected to" 20 || it_check_fail "goaway: $v did not connect"
done
it_relay_stop
for v in moqt-16 moqt-18 moq-lite-05; do
  it_wait "ga-$v" 15
  rc=$?
  if [ "$v" = moq-lite-05 ]; then
    [ "$rc" = 1 ] || it_check_fail "goaway: lite subscriber exited $rc at relay shutdown (want 1)"
  else
    [ "$rc" = 0 ] || it_check_fail "goaway: $v subscriber exited $rc at relay shutdown (want 0)"
    grep -q "went away (GOAWAY" "$IT_TMP/ga-$v.err" || it_check_fail "goaway: $v saw no GOAWAY"
  fi
done
grep -q "GOAWAY sent to 2 IETF session" "$IT_TMP/relay.err" || it_check_fail "goaway: relay log"
it_clients_clean
it_done

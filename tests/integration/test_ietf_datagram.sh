#!/usr/bin/env bash
# IETF OBJECT_DATAGRAMs end to end through moqc-relay: `moqc publish
# --datagram --version moqt-16` (one datagram per frame) to a moqt-16 and a
# moq-lite-05 subscriber, over raw QUIC and WebTransport; the relay's metrics
# show the datagrams came in and went out (lite-05: one-frame groups as
# DATAGRAMs; longer groups on streams).
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

seq -f 'datagram %g' 1 60 >"$IT_TMP/data.txt"

metric() { sed -n "s/^$1 //p" "$IT_TMP/m.txt"; }

# deliver NAME URL PUB_VERSION SUB_VERSION GROUP_FRAMES
deliver() {
  local name=$1 url=$2 pv=$3 sv=$4 gf=$5 rc
  it_bg "sub-$name" "${MOQC[@]}" subscribe --url "$url" --broadcast b --version "$sv" \
    --start-group 0 --wait 30s --log-level info
  IT_STDIN=$IT_TMP/data.txt it_bg "pub-$name" "${MOQC[@]}" publish --url "$url" --broadcast b \
    --version "$pv" --group-frames "$gf" --datagram --wait-subscriber --log-level info
  it_wait "pub-$name" 30 || { it_check_fail "$name: publisher exited $?"; return; }
  it_wait "sub-$name" 30
  rc=$?
  [ "$rc" = 0 ] || { it_check_fail "$name: subscriber exited $rc"; return; }
  # Datagrams are unreliable by design; on loopback none should be lost.
  if cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub-$name.out"; then
    it_log "$name: 60 frames identical"
  else
    it_check_fail "$name: output differs ($(wc -l <"$IT_TMP/sub-$name.out") of 60 lines)"
  fi
}

it_http /metrics >"$IT_TMP/m.txt"
in0=$(metric moqc_relay_datagrams_in_total)
out0=$(metric moqc_relay_datagrams_out_total)
deliver quic-16 "moqt://127.0.0.1:$RELAY_PORT/q16" moqt-16 moqt-16 1
deliver wt-16 "https://127.0.0.1:$RELAY_PORT/w16" moqt-16 moqt-16 3
it_http /metrics >"$IT_TMP/m.txt"
in1=$(metric moqc_relay_datagrams_in_total)
out1=$(metric moqc_relay_datagrams_out_total)
# 60 objects in each run, 60 out to each IETF subscriber
[ $((in1 - in0)) -ge 120 ] || it_check_fail "relay datagrams in: $((in1 - in0)) (want 120)"
[ $((out1 - out0)) -ge 120 ] || it_check_fail "relay datagrams out: $((out1 - out0)) (want 120)"
deliver quic-16-lite "moqt://127.0.0.1:$RELAY_PORT/ql" moqt-16 moq-lite-05 1
deliver wt-18-lite "https://127.0.0.1:$RELAY_PORT/wl" moqt-18 moq-lite-05 3
it_http /metrics >"$IT_TMP/m.txt"
in2=$(metric moqc_relay_datagrams_in_total)
out2=$(metric moqc_relay_datagrams_out_total)
[ $((in2 - in1)) -ge 120 ] || it_check_fail "relay datagrams in (lite): $((in2 - in1))"
# lite-05: the 60 one-frame groups as DATAGRAMs, the 3-frame groups on streams
[ $((out2 - out1)) -ge 60 ] || it_check_fail "relay datagrams out (lite): $((out2 - out1))"
it_clients_clean
it_done

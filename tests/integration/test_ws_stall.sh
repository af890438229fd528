#!/usr/bin/env bash
# A WebSocket subscriber that stops reading (SIGSTOP), over real sockets:
#   - a publisher writes one group of ~30 MiB (the latest group is never reset as Old, so
#     nothing but the per-session send cap, 16 MiB unsent + socket-held, bounds what the relay
#     keeps for the stalled subscriber);
#   - the relay closes that session with BoundsExceeded (WebSocket 1008) -- it does not
#     buffer the whole group -- and the stalled client, once resumed, finds its
#     connection closed and exits non-zero;
#   - a second WebSocket subscriber on the same track gets every byte meanwhile.
. "$(dirname "$0")/lib.sh"
it_init
IT_RELAY_LOG=debug it_relay_start
WS=ws://127.0.0.1:$HTTP_PORT

it_bg sub_ok "$MOQC_BIN" subscribe --url "$WS/anon" --broadcast b --track t --start-group 0 --wait 60s
it_bg sub_stall "$MOQC_BIN" subscribe --url "$WS/anon" --broadcast b --track t --start-group 0 --wait 60s
it_wait_sessions_total 2 10
STALL=$(it_pid sub_stall)

# 10000 lines of 3008 bytes = ~30 MiB, all in one group.
line=$(head -c 3000 /dev/zero | tr '\0' 'x')
awk -v l="$line" 'BEGIN { for (i = 0; i < 10000; i++) printf "%06d %s\n", i, l }' >"$IT_TMP/want"
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "$MOQC_BIN" publish --url "$WS/anon" --broadcast b --track t \
  --group-frames 100000 --wait-subscriber
sleep 1 # both subscriptions in place
kill -STOP "$STALL"
# Paced (~4 MiB every 0.3 s): a publisher writing a burst faster than its own socket drains
# would hit its own send cap first (the cap counts what we queue, whoever is slow).
for i in 0 1 2 3 4 5 6 7 8 9; do
  sed -n "$((i * 1000 + 1)),$((i * 1000 + 1000))p" "$IT_TMP/want" >&7
  sleep 0.3
done
exec 7>&-

# The relay gives up on the stalled session: BoundsExceeded from its QMux send cap.
it_wait_for "$IT_TMP/relay.err" 'code 11 \(BoundsExceeded\): send cap exceeded' 30 ||
  it_check_fail "the stalled WebSocket subscriber was not closed for exceeding the send cap"
# The healthy subscriber gets everything, byte for byte.
it_wait_lines "$IT_TMP/sub_ok.out" 10000 60 ||
  it_check_fail "the reading subscriber got $(wc -l <"$IT_TMP/sub_ok.out") of 10000 lines"
it_wait pub 30 || it_check_fail "publisher exited non-zero"
it_wait sub_ok 30 || it_check_fail "reading subscriber exited non-zero"
cmp -s "$IT_TMP/sub_ok.out" "$IT_TMP/want" || it_check_fail "reading subscriber output differs"

# Resumed, the stalled client finds its connection gone and fails (not a clean end).
kill -CONT "$STALL"
rc=0
it_wait sub_stall 20 || rc=$?
[ "$rc" != 0 ] || it_check_fail "the stalled subscriber exited 0 after its session was closed"
kill -0 "$STALL" 2>/dev/null && it_check_fail "the stalled subscriber is still running"

it_relay_stop
it_done

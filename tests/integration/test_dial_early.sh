#!/usr/bin/env bash
# Clients that dial before the relay listens (F7). A subscriber (raw QUIC) and
# a publisher (WebTransport) start first; their first Initials draw ICMP
# port-unreachable errors on their connected sockets. The relay starts ~1 s
# later on that port: the clients' retransmitted Initials must reach it, the
# handshakes complete (within the 10 s handshake timeout) and every frame
# flows publisher -> relay -> subscriber.
#
# Before the fix the ICMP error made libuv stop the client's poll handle
# (POLLERR): the client never read the relay's answers and failed with
# "connect timed out" after 10 s.
. "$(dirname "$0")/lib.sh"
it_init

port_busy() { command -v ss >/dev/null && [ -n "$(ss -Hunl "sport = :$1" 2>/dev/null)" ]; }
PORT=$(it_free_port)
for _ in 1 2 3 4 5; do port_busy "$PORT" && PORT=$(it_free_port); done
it_log "dialing udp 127.0.0.1:$PORT before anything listens there"

it_bg sub "$MOQC_BIN" subscribe --url "moqt://127.0.0.1:$PORT/early" --broadcast b \
  --tls-disable-verify --wait 30s --count 20
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "$MOQC_BIN" publish --url "https://127.0.0.1:$PORT/early" \
  --broadcast b --tls-disable-verify --wait-subscriber
T0=$(date +%s%N)
sleep 1
kill -0 "$(it_pid sub)" 2>/dev/null || it_fail "subscriber exited before the relay started"
kill -0 "$(it_pid pub)" 2>/dev/null || it_fail "publisher exited before the relay started"

it_bg relay "$RELAY_BIN" --bind "127.0.0.1:$PORT" --http-bind none --log-level info
it_wait_for "$IT_TMP/relay.out" '^ready$' 20 ||
  it_fail "relay did not start on udp $PORT (port taken?)"
# Both sessions must come up before the clients' 10 s handshake timeout.
it_wait_for "$IT_TMP/relay.err" 'session 2:' 12 ||
  it_fail "the early clients did not connect ($(grep -c 'session [0-9]*:' "$IT_TMP/relay.err") session(s))"
it_log "both early clients connected $((($(date +%s%N) - T0) / 1000000)) ms after dialing"

N=20 # = the subscriber's --count
: >"$IT_TMP/data.txt"
for i in $(seq 1 $N); do
  echo "early $i" >>"$IT_TMP/data.txt"
  echo "early $i" >&7
done
exec 7>&-
it_wait pub 30 || it_fail "publisher exited $?"
it_wait sub 20 || it_fail "subscriber exited $? with $(wc -l <"$IT_TMP/sub.out") of $N frames"
cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub.out" || it_fail "subscriber output differs"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

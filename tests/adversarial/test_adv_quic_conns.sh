#!/usr/bin/env bash
# Finding 4 (issue 17): QUIC connections per source. With its default limits
# the relay keeps at most 256 connections and 32 handshakes in progress per
# address, closes a connection that has not finished its MoQ setup within 5 s,
# and drops a handshake that does not finish within 5 s.
#   1. 400 connections from ::1 that complete the QUIC handshake and never
#      send SETUP: at most 256 exist at once (the handshakes are paced: over 32
#      in progress an Initial is ignored and retransmitted), and none stays
#      open for more than 7 s: the relay closes it (setup timeout).
#   2. 5 rounds of 600 handshakes abandoned after 80 ms: the relay's RSS stays
#      bounded and nothing of them is left 7 s later.
# Meanwhile a well-behaved pair from 127.0.0.1 connects, keeps every frame
# and its latency.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start
idle=$(it_metric moqc_relay_transport_sessions)

adv_pair pair 14
sleep 0.5
it_bg hold "$ADV" hold ::1 "$RELAY_PORT" 400 9000
peak=$(adv_metric_max moqc_relay_transport_sessions 4)
it_wait hold 30 || it_check_fail "adv_client hold exited $?"
read -r _ connected _ refused _ failed _ closed _ pending _ overdue <"$IT_TMP/hold.out"
it_log "held: connected $connected refused $refused failed $failed closed-by-relay $closed pending $pending overdue $overdue; peak sessions $peak"
# 256 from the attacker + the good pair's 3 sessions
[ "$peak" -le 259 ] || it_check_fail "$peak sessions at once: the per-address cap (256) did not hold"
[ "$connected" -ge 100 ] || it_check_fail "only $connected attacker connections got in (handshake pacing too slow?)"
[ "$closed" -ge 50 ] && [ "$overdue" = 0 ] ||
  it_check_fail "connections without SETUP kept: $closed closed by the relay, $overdue open for over 7 s"

rss0=$(adv_rss)
for round in 1 2 3 4 5; do
  it_bg "abandon$round" "$ADV" hold ::1 "$RELAY_PORT" 600 80
  it_wait "abandon$round" 20
done
rss1=$(adv_rss)
it_log "RSS before the abandoned handshakes $rss0 KiB, after 3000 of them $rss1 KiB"
[ $((rss1 - rss0)) -lt 40000 ] || it_check_fail "RSS grew by $((rss1 - rss0)) KiB for 3000 abandoned handshakes"
sleep 7
left=$(it_metric moqc_relay_transport_sessions)
adv_pair_check pair
left=$(it_metric moqc_relay_transport_sessions)
[ "$left" -le "$idle" ] || it_check_fail "$left sessions left after the attack (before it: $idle)"
adv_done

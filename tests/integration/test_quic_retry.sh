#!/usr/bin/env bash
# QUIC address validation with Retry (--quic-retry, issue 17 finding 4):
#  - always: a tokenless Initial gets a Retry; an Initial with a forged Retry
#    token gets nothing at all (dropped, counted); real clients (moqc over
#    WebTransport and raw QUIC) complete their handshakes through the Retry and
#    deliver every line;
#  - auto (the default): a lone client is not sent a Retry (no extra round trip);
#  - never: no Retry, and a Retry token is ignored (the handshake just starts).
. "$(dirname "$0")/lib.sh"
it_init
PROBE=$(it_helper quicprobe) || it_fail "cannot build quicprobe"

probe() { "$PROBE" initial 127.0.0.1 "$RELAY_PORT" "$1" 1000; }

# ---- always ----
it_relay_start --quic-retry always
got=$(probe none)
[ "$got" = retry ] || it_check_fail "always: a tokenless Initial got '$got', want a Retry"
got=$(probe forged)
[ "$got" = silent ] || it_check_fail "always: an Initial with a forged token got '$got', want no answer"
[ "$(it_metric moqc_relay_quic_retry_bad_tokens_total)" = 1 ] ||
  it_check_fail "always: bad tokens counted $(it_metric moqc_relay_quic_retry_bad_tokens_total), want 1"

it_bg sub "${MOQC[@]}" subscribe --url "$(it_url room)" --broadcast b --count 5 --wait 20s
it_bg subq "${MOQC[@]}" subscribe --url "moqt://127.0.0.1:$RELAY_PORT/room" --broadcast b \
  --count 5 --wait 20s
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url room)" --broadcast b \
  --wait-subscriber=20s
it_wait_metric moqc_relay_connections 3 20 || it_check_fail "always: 3 clients did not connect"
for i in 1 2 3 4 5; do echo "line $i" >&7; done
exec 7>&-
for s in sub subq; do
  it_wait "$s" 30 || it_check_fail "always: $s exited $?"
  [ "$(tr '\n' ' ' <"$IT_TMP/$s.out")" = "line 1 line 2 line 3 line 4 line 5 " ] ||
    it_check_fail "always: $s printed '$(tr '\n' ' ' <"$IT_TMP/$s.out")'"
done
it_wait pub 30 || it_check_fail "always: the publisher exited $?"
retries=$(it_metric moqc_relay_quic_retries_total)
[ "${retries:-0}" -ge 4 ] ||
  it_check_fail "always: $retries Retry packets sent, want one per connection (4 or more)"
it_log "always: $retries Retry packets, $(it_metric moqc_relay_quic_retry_bad_tokens_total) bad token(s)"
it_relay_stop

# ---- auto (default) ----
it_relay_start
got=$(probe none)
[ "$got" = answer ] || it_check_fail "auto: a lone tokenless Initial got '$got', want the handshake"
"$PROBE" alpn 127.0.0.1 "$RELAY_PORT" moq-lite-05 >/dev/null || it_check_fail "auto: handshake failed"
[ "$(it_metric moqc_relay_quic_retries_total)" = 0 ] ||
  it_check_fail "auto: $(it_metric moqc_relay_quic_retries_total) Retry packets for a lone client"
it_relay_stop

# ---- never ----
it_relay_start --quic-retry never
got=$(probe forged)
[ "$got" = answer ] || it_check_fail "never: an Initial with a token got '$got', want the handshake"
it_relay_stop

it_clients_clean
it_done

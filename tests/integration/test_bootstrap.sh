#!/usr/bin/env bash
# http:// URLs: the client GETs /certificate.sha256 over TCP from the same
# host:port, then connects WebTransport pinning that hash (no TLS flags).
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start
URL="http://127.0.0.1:$RELAY_PORT/boot"
[ "$HTTP_PORT" = "$RELAY_PORT" ] || it_fail "HTTP is not on the UDP port number"

seq -f 'boot %g' 1 50 >"$IT_TMP/data.txt"
it_bg sub "$MOQC_BIN" subscribe --url "$URL" --broadcast b --start-group 0 --wait 30s ${IT_VERSION:+--version $IT_VERSION}
IT_STDIN=$IT_TMP/data.txt it_bg pub "$MOQC_BIN" publish --url "$URL" --broadcast b --wait-subscriber ${IT_VERSION:+--version $IT_VERSION}
it_wait sub 30 || it_fail "subscriber exited $?"
it_wait pub 30 || it_fail "publisher exited $?"
cmp -s "$IT_TMP/data.txt" "$IT_TMP/sub.out" || it_fail "output differs ($(wc -l <"$IT_TMP/sub.out") of 50)"
grep -q "over WebTransport, root '/boot'" "$IT_TMP/relay.err" || it_fail "not a WebTransport session at /boot"

# Without the HTTP endpoint the bootstrap fails clearly.
IT_RELAY_NAME=nohttp it_bg nohttp "$RELAY_BIN" --bind 127.0.0.1:0 --http-bind none
it_wait_for "$IT_TMP/nohttp.out" '^ready$' 20 || it_fail "relay without HTTP did not start"
P=$(sed -n 's/^quic: .*:\([0-9]*\) .*/\1/p' "$IT_TMP/nohttp.out")
timeout 20 "$MOQC_BIN" subscribe --url "http://127.0.0.1:$P/" --broadcast b --timeout 5s \
  >/dev/null 2>"$IT_TMP/fail.err"
rc=$?
[ "$rc" = 1 ] || it_fail "bootstrap against a relay without HTTP exited $rc"
grep -q "certificate bootstrap failed" "$IT_TMP/fail.err" || it_fail "unclear error: $(cat "$IT_TMP/fail.err")"
it_relay_stop nohttp
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

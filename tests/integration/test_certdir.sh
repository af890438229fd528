#!/usr/bin/env bash
# moqc-relay --tls-generate-dir (what the systemd unit's StateDirectory holds):
#   - the first start generates DIR/cert.pem + DIR/key.pem (key mode 0600);
#   - a restart reuses them: same fingerprint, which pinned clients rely on;
#   - a pair older than 12 days, or a broken one, is replaced by a new one;
#   - SIGHUP (systemctl reload) on a relay without auth keys is logged, not fatal;
#   - with --tls-cert it is a usage error.
. "$(dirname "$0")/lib.sh"
it_init
IT_FAILURES=()
dir=$IT_TMP/state

IT_RELAY_NAME=relay1 it_relay_start --http-bind none --tls-generate-dir "$dir"
fp1=$FP
[ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] || it_check_fail "no cert.pem / key.pem in $dir"
[ "$(stat -c %a "$dir/key.pem")" = 600 ] || it_check_fail "key.pem mode $(stat -c %a "$dir/key.pem")"
ls "$dir"/*.tmp >/dev/null 2>&1 && it_check_fail "temporary files left in $dir"

# SIGHUP without auth: the relay logs it and keeps serving.
kill -HUP "$RELAY_PID"
it_wait_for "$IT_TMP/relay1.err" 'SIGHUP: no auth keys' 5 || it_check_fail "no SIGHUP log line"
kill -0 "$RELAY_PID" 2>/dev/null || it_fail "SIGHUP killed the relay"
it_relay_stop relay1

# Restart: the same certificate, also on the HTTPS side of the HTTP port (wss://).
IT_RELAY_NAME=relay2 it_relay_start --tls-generate-dir "$dir"
[ "$FP" = "$fp1" ] || it_check_fail "restart changed the fingerprint ($fp1 -> $FP)"
grep -q 'certificate: reusing' "$IT_TMP/relay2.err" || it_check_fail "no 'reusing' log line"
if command -v openssl >/dev/null; then
  served=$(openssl s_client -connect "127.0.0.1:$HTTP_PORT" </dev/null 2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
  [ "$served" = "$fp1" ] || it_check_fail "the HTTP port's TLS serves another certificate ($served, kept $fp1)"
fi
it_relay_stop relay2

# 13 days old: replaced.
touch -d '13 days ago' "$dir/cert.pem"
IT_RELAY_NAME=relay3 it_relay_start --http-bind none --tls-generate-dir "$dir"
[ "$FP" != "$fp1" ] || it_check_fail "a 13-day-old certificate was reused"
fp3=$FP
it_relay_stop relay3

# Not a certificate: replaced, with a warning.
echo garbage > "$dir/cert.pem"
IT_RELAY_NAME=relay4 it_relay_start --http-bind none --tls-generate-dir "$dir"
[ "$FP" != "$fp3" ] || it_check_fail "a broken certificate file was reused"
grep -q 'cannot load' "$IT_TMP/relay4.err" || it_check_fail "no warning about the broken file"
it_relay_stop relay4

# Usage error with --tls-cert.
"$RELAY_BIN" --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" --tls-generate-dir "$dir" \
  >/dev/null 2>"$IT_TMP/usage.err"
rc=$?
[ "$rc" = 2 ] || it_check_fail "--tls-cert with --tls-generate-dir: exit $rc, expected 2"

it_done

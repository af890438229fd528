#!/usr/bin/env bash
# Bad flags, bad values, missing certificates, ports in use, a broken config
# file, and client-side failures: each gives one clear line on stderr and a
# non-zero exit (2 for usage errors), never a hang.
. "$(dirname "$0")/lib.sh"
it_init

# expect_fail CODE PATTERN cmd... : exit code CODE (or any non-zero for "nz"),
# stderr matching PATTERN, and (for usage errors) a single stderr line.
expect_fail() {
  local want=$1 pat=$2 rc
  shift 2
  timeout 20 "$@" >"$IT_TMP/ef.out" 2>"$IT_TMP/ef.err" </dev/null
  rc=$?
  if [ "$want" = nz ]; then
    [ "$rc" != 0 ] && [ "$rc" != 124 ] || it_fail "'$*' exited $rc, wanted non-zero"
  else
    [ "$rc" = "$want" ] || it_fail "'$*' exited $rc, wanted $want: $(cat "$IT_TMP/ef.err")"
  fi
  grep -qE -- "$pat" "$IT_TMP/ef.err" || it_fail "'$*': stderr lacks /$pat/: $(cat "$IT_TMP/ef.err")"
  it_sanitizer_clean "$IT_TMP/ef.err" || it_fail "'$*': sanitizer report"
  if [ "$want" = 2 ]; then
    [ "$(wc -l <"$IT_TMP/ef.err")" = 1 ] || it_fail "'$*': expected one stderr line, got: $(cat "$IT_TMP/ef.err")"
  fi
}

# ---- moqc-relay: usage errors (exit 2) ----
"$RELAY_BIN" --help >"$IT_TMP/help.out" 2>&1 || it_fail "--help exited non-zero"
for opt in --bind --tls-cert --tls-key --tls-generate --http-bind --version --log-level \
  --cache-budget --linger --fetch-timeout --config --help; do
  grep -q -- "$opt" "$IT_TMP/help.out" || it_fail "--help does not describe $opt"
done
expect_fail 2 "unknown option '--bogus'" "$RELAY_BIN" --bogus
expect_fail 2 "unexpected argument" "$RELAY_BIN" stray
expect_fail 2 "--linger: invalid value 'soon'" "$RELAY_BIN" --linger soon
expect_fail 2 "--fetch-timeout: invalid value 'soon'" "$RELAY_BIN" --fetch-timeout soon
expect_fail 2 "--fetch-timeout: invalid value '0s'" "$RELAY_BIN" --fetch-timeout 0s
expect_fail 2 "--cache-budget: invalid value '12Q'" "$RELAY_BIN" --cache-budget 12Q
expect_fail 2 "--version: invalid value 'moq-lite-09'" "$RELAY_BIN" --version moq-lite-09
expect_fail 2 "--log-level: invalid value 'loud'" "$RELAY_BIN" --log-level loud
expect_fail 2 "--bind: invalid value" "$RELAY_BIN" --bind nonsense
expect_fail 2 "--bind: invalid value" "$RELAY_BIN" --bind 127.0.0.1:99999
expect_fail 2 "--http-bind: invalid value" "$RELAY_BIN" --http-bind ::1
expect_fail 2 "--bind needs a value" "$RELAY_BIN" --bind
expect_fail 2 "--tls-cert needs --tls-key" "$RELAY_BIN" --tls-cert "$IT_TMP/x.pem"
expect_fail 2 "mutually exclusive" "$RELAY_BIN" --tls-cert a --tls-key b --tls-generate localhost

# ---- moqc-relay: runtime errors (exit 1) ----
expect_fail 1 "cannot load certificate '$IT_TMP/missing.pem'" \
  "$RELAY_BIN" --bind 127.0.0.1:0 --tls-cert "$IT_TMP/missing.pem" --tls-key "$IT_TMP/missing.key"
echo "not a certificate" >"$IT_TMP/junk.pem"
expect_fail 1 "not a valid PEM" \
  "$RELAY_BIN" --bind 127.0.0.1:0 --tls-cert "$IT_TMP/junk.pem" --tls-key "$IT_TMP/junk.pem"

it_relay_start
expect_fail 1 "cannot serve UDP 127.0.0.1:$RELAY_PORT" "$RELAY_BIN" --bind "127.0.0.1:$RELAY_PORT"
expect_fail 1 "cannot serve HTTP on TCP 127.0.0.1:$HTTP_PORT" \
  "$RELAY_BIN" --bind 127.0.0.1:0 --http-bind "127.0.0.1:$HTTP_PORT"

# ---- config file ----
cat >"$IT_TMP/ok.ini" <<EOF
; comments are fine
[server]
bind = 127.0.0.1:0
version = moq-lite-04
log_level = warn
[relay]
linger = 750ms
cache-budget = 64M
EOF
IT_RELAY_NAME=cfg it_bg cfg "$RELAY_BIN" --config "$IT_TMP/ok.ini" --http-bind none
it_wait_for "$IT_TMP/cfg.out" '^ready$' 20 || it_fail "relay with a config file did not start"
grep -q 'versions moq-lite-04)' "$IT_TMP/cfg.out" || it_fail "config version not applied: $(cat "$IT_TMP/cfg.out")"
grep -q '^http: none' "$IT_TMP/cfg.out" || it_fail "--http-bind none not applied"
it_relay_stop cfg
printf 'bind = 127.0.0.1:0\nno_such_key = 1\n' >"$IT_TMP/bad.ini"
expect_fail 2 "bad.ini: unknown key 'no_such_key'" "$RELAY_BIN" --config "$IT_TMP/bad.ini"
printf 'linger = forever\n' >"$IT_TMP/bad2.ini"
expect_fail 2 "bad2.ini: --linger: invalid value 'forever'" "$RELAY_BIN" --config "$IT_TMP/bad2.ini"
printf 'this is not ini\n' >"$IT_TMP/bad3.ini"
expect_fail 2 "bad3.ini:1: syntax error" "$RELAY_BIN" --config "$IT_TMP/bad3.ini"
expect_fail 2 "cannot read '$IT_TMP/none.ini'" "$RELAY_BIN" --config "$IT_TMP/none.ini"

# ---- moqc: usage errors (exit 2) ----
"$MOQC_BIN" --help >"$IT_TMP/chelp.out" 2>&1 || it_fail "moqc --help exited non-zero"
for opt in publish subscribe announced clock --tls-disable-verify --tls-fingerprint --tls-root \
  --version --log-level --group-frames --count --wait --drain '--wait-subscriber\[=DURATION\]'; do
  grep -q -- "$opt" "$IT_TMP/chelp.out" || it_fail "moqc --help does not describe $opt"
done
expect_fail 2 "missing command" "$MOQC_BIN"
expect_fail 2 "unknown command 'frobnicate'" "$MOQC_BIN" frobnicate --url https://127.0.0.1:1/
expect_fail 2 "--url is required" "$MOQC_BIN" subscribe --broadcast b
expect_fail 2 "--broadcast is required" "$MOQC_BIN" subscribe --url https://127.0.0.1:1/
expect_fail 2 "scheme must be" "$MOQC_BIN" subscribe --url ftp://127.0.0.1:1/ --broadcast b
expect_fail 2 "--count: invalid value '0'" "$MOQC_BIN" subscribe --url https://127.0.0.1:1/ --broadcast b --count 0
expect_fail 2 "--group-frames does not apply to 'subscribe'" \
  "$MOQC_BIN" subscribe --url https://127.0.0.1:1/ --broadcast b --group-frames 3
expect_fail 2 "--tls-fingerprint: invalid value" \
  "$MOQC_BIN" subscribe --url https://127.0.0.1:1/ --broadcast b --tls-fingerprint abc
expect_fail 2 "--wait-subscriber: invalid value 'soon'" \
  "$MOQC_BIN" publish --url https://127.0.0.1:1/ --broadcast b --wait-subscriber=soon
expect_fail 2 "--wait-subscriber takes its value after '=': --wait-subscriber=5s" \
  "$MOQC_BIN" publish --url https://127.0.0.1:1/ --broadcast b --wait-subscriber 5s
expect_fail 2 "clock needs 'publish' or 'subscribe'" "$MOQC_BIN" clock --url https://127.0.0.1:1/ --broadcast c
# a broadcast path that normalises to nothing: the same usage error for every publisher
for b in / //; do
  expect_fail 2 "invalid broadcast path '$b'" \
    "$MOQC_BIN" publish --url "$(it_url room)" --broadcast "$b" --tls-fingerprint "$FP"
done
expect_fail 2 "invalid broadcast path '/'" \
  "$MOQC_BIN" publish --url "$(it_url room)" --broadcast / --push --tls-fingerprint "$FP"

# ---- moqc: runtime errors (exit 1) ----
expect_fail 1 "broadcast 'nobody' not found" \
  "$MOQC_BIN" subscribe --url "$(it_url room)" --broadcast nobody --wait 1s --tls-fingerprint "$FP"
expect_fail 1 "cannot connect" \
  "$MOQC_BIN" subscribe --url "$(it_url room)" --broadcast b --wait 1s --timeout 5s
expect_fail 1 "cannot connect" "$MOQC_BIN" subscribe --url "$(it_url room)" --broadcast b \
  --tls-fingerprint "$(printf '0%.0s' $(seq 64))" --timeout 5s
free=$(it_free_port)
expect_fail 1 "cannot connect" "$MOQC_BIN" subscribe --url "https://127.0.0.1:$free/" \
  --broadcast b --tls-disable-verify --timeout 2s

it_relay_stop
echo "PASS $IT_NAME"

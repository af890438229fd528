#!/usr/bin/env bash
# The README's browser demo, end to end: moqc-relay on an ephemeral loopback port, the demo page
# (demo/web, @moq/net) served by demo/web/serve.mjs and opened in headless Chromium
# (tests/interop/run.mjs --mode page), then `moqc publish` of a few known lines. Checks that the
# page shows the negotiated version and every line, in order (and nothing else), and that a
# page pointed at a dead relay shows a visible error.
#
# Order: the page connects and waits for the announcement -> `moqc publish` starts (stdin held
# open, --wait-subscriber) -> the page subscribes -> only then are the lines written to the
# publisher's stdin (moq delivers from the latest group on, so a late subscriber would only see
# the newest line) -> the page has them -> stdin is closed and the publisher ends cleanly.
#
# Env: MOQC_BUILD_DIR (moqc-relay, moqc), MOQC_SOURCE_DIR; MOQC_DEMO_SCREENSHOT=PATH keeps a PNG
# of the page (default: $MOQC_BUILD_DIR/demo_page.png).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

src=${MOQC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
relay_bin=$bdir/moqc-relay
cli_bin=$bdir/moqc
shot=${MOQC_DEMO_SCREENSHOT:-$bdir/demo_page.png}
for b in "$relay_bin" "$cli_bin"; do
  [ -x "$b" ] || { echo "FAIL: $b not built" >&2; exit 1; }
done

broadcast=demo
track=data
# Known lines: spaces, UTF-8, and markup that must stay text (no commas: --expect-frames splits on them).
lines=("hello from moqc" "second line: grüße ✓" "<b>not bold</b> & co" "4")
expect=$(IFS=,; echo "${lines[*]}")

tmp=$(mktemp -d)
relay_pid= serve_pid= page_pid= pub_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in $page_pid $pub_pid $serve_pid $relay_pid; do kill "$p" 2>/dev/null || true; done
  for p in $page_pid $pub_pid $serve_pid $relay_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in page.out page.err pub.err relay.err serve.err; do
    [ -s "$tmp/$f" ] && { echo "--- $f (tail):" >&2; tail -n 15 "$tmp/$f" >&2; }
  done
  exit 1
}

# Wait until FILE exists, failing early if process PID exits first: wait_for FILE PID SECS WHAT
wait_for() {
  local file=$1 pid=$2 secs=$3 what=$4 i=0
  until [ -s "$file" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      local why
      why=$(interop_field "$(head -n 1 "$tmp/page.out" 2>/dev/null)" error 2>/dev/null) || why=
      fail "$what: ${why:-the process ended first}"
    fi
    i=$((i + 1))
    [ "$i" -le $((secs * 10)) ] || fail "$what: not within ${secs}s"
    sleep 0.1
  done
}

# 1. Relay on an ephemeral loopback port (UDP and TCP get the same number).
"$relay_bin" --bind 127.0.0.1:0 >"$tmp/relay.out" 2>"$tmp/relay.err" &
relay_pid=$!
for _ in $(seq 100); do grep -q '^ready' "$tmp/relay.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$tmp/relay.out" || fail "moqc-relay did not print 'ready'"
port=$(sed -n 's/^quic: 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/relay.out")
[ -n "$port" ] || fail "no port in moqc-relay's output: $(cat "$tmp/relay.out")"
relay_url=http://127.0.0.1:$port/anon

# 2. The demo page, on an ephemeral port.
node "$src/demo/web/serve.mjs" --port 0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
wait_for "$tmp/serve.out" "$serve_pid" 30 "demo/web/serve.mjs did not print its URL"
page_url=$(head -n 1 "$tmp/serve.out")
case $page_url in http://*) ;; *) fail "unexpected serve.mjs output: $page_url" ;; esac
query="url=$(node -p 'encodeURIComponent(process.argv[1])' "$relay_url")&broadcast=$broadcast&track=$track&autostart=1"

# 3. Open it: wait for "waiting" (connected, broadcast not announced yet), then "subscribed",
#    then the lines. A visible error (#status data-state=error) fails at once.
interop_run --mode page --page-url "$page_url?$query" \
  --ready-selector '#status[data-state=waiting]' --ready-file "$tmp/waiting" \
  --ready-selector '#status[data-state=subscribed]' --ready-file "$tmp/subscribed" \
  --fail-selector '#error:not([hidden])' \
  --lines-selector '#frames .frame .text' --expect-frames "$expect" \
  --expect-text 'moq-lite-0[345] over webtransport' \
  --screenshot "$shot" --timeout 40 >"$tmp/page.out" 2>"$tmp/page.err" &
page_pid=$!
# (The shell's waits outlast run.mjs's --timeout: a stuck page ends with run.mjs's own message,
# which quotes what the page says.)
wait_for "$tmp/waiting" "$page_pid" 60 "the page never got connected and waiting for '$broadcast'"
echo "page connected, waiting for the broadcast"

# 4. The publisher: announces at once, reads stdin only once the relay subscribed.
mkfifo "$tmp/stdin"
"$cli_bin" publish --url "$relay_url" --broadcast "$broadcast" --track "$track" --wait-subscriber \
  <"$tmp/stdin" >"$tmp/pub.out" 2>"$tmp/pub.err" &
pub_pid=$!
exec 3>"$tmp/stdin"
wait_for "$tmp/subscribed" "$page_pid" 60 "the page never subscribed to '$broadcast' (is it announced?)"
echo "page subscribed; publishing ${#lines[@]} lines"
printf '%s\n' "${lines[@]}" >&3

# 5. The page must show exactly these lines, in order. stdin stays open (the track stays live)
#    until the page has them: @moq/net 0.3.4 stops reading groups as soon as the track's
#    SUBSCRIBE stream ends (SUBSCRIBE_END + FIN), so a busy browser can lose the last groups of
#    a track that ends right after them, even though the relay only FINs once they are ACKed.
rc=0
wait "$page_pid" || rc=$?
page_pid=
exec 3>&-
out=$(cat "$tmp/page.out")
[ "$rc" = 0 ] || fail "the page check failed (exit $rc): $(interop_field "$out" error 2>/dev/null || echo "$out")"
echo "page shows: $(interop_field "$out" frames)"
echo "page text: $(interop_field "$out" pageText | tr '\n' ' ' | head -c 300)"

# The publisher drains and ends cleanly (its --drain is 10 s at most).
for _ in $(seq 150); do kill -0 "$pub_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pub_pid" 2>/dev/null && fail "moqc publish still running 15 s after EOF"
rc=0
wait "$pub_pid" || rc=$?
pub_pid=
[ "$rc" = 0 ] || fail "moqc publish exited $rc"

# 6. A page pointed at a relay that is not there must show a visible error, quickly.
dead=$(interop_free_udp_port)
rc=0
out=$(interop_run --mode page --page-url "$page_url?url=http%3A%2F%2F127.0.0.1%3A$dead%2Fanon&autostart=1" \
  --ready-selector '#status[data-state=waiting]' --ready-file "$tmp/never" \
  --fail-selector '#error:not([hidden])' --expect-error 'page reports an error' \
  --timeout 30 2>/dev/null) || rc=$?
[ "$rc" = 0 ] || fail "dead relay: expected a visible error on the page: $out"
echo "dead relay: $(interop_field "$out" expectedError | tr '\n' ' ' | head -c 200)"

# 7. The relay shuts down cleanly (and, in sanitizer builds, without reports).
kill -TERM "$relay_pid"
for _ in $(seq 100); do kill -0 "$relay_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$relay_pid" 2>/dev/null && fail "moqc-relay still running 10 s after SIGTERM"
rc=0
wait "$relay_pid" || rc=$?
relay_pid=
[ "$rc" = 0 ] || fail "moqc-relay exited $rc after SIGTERM"
if grep -qE "ERROR: AddressSanitizer|runtime error|LeakSanitizer" "$tmp/relay.err" "$tmp/pub.err"; then
  fail "sanitizer report"
fi

echo "screenshot: $shot"
echo "PASS"

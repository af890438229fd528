#!/usr/bin/env bash
# Announcements through moqc-relay, both ways, for @moq/lite 0.2.2 x {lite-03, lite-04} and
# @moq/net 0.3.4 x {lite-03, lite-04, lite-05} (the C client speaks the same version):
#   c->js  `moqc publish` announces a broadcast; a JS `announced` under its prefix must see it
#          active, then ended once the publisher exits cleanly (and nothing else: no duplicate).
#   js->c  a JS publisher announces a broadcast; `moqc announced --count 2` must print
#          `+path` then `-path` once the JS side disconnects (it sends no `ended` before closing,
#          so the relay ends it after --linger, 500 ms here).
# Every JS run checks the negotiated version. The relay (ASan build) must stop cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
interop_require

bdir=${MOQC_BUILD_DIR:?MOQC_BUILD_DIR must name the build directory}
MOQC_BIN=$bdir/moqc
[ -x "$MOQC_BIN" ] || { echo "FAIL: $MOQC_BIN not built" >&2; exit 1; }
[ -x "$bdir/moqc-relay" ] || { echo "FAIL: $bdir/moqc-relay not built" >&2; exit 1; }

interop_init
T=$INTEROP_TMP
interop_relay_start "$T" --linger 500ms || exit 1
echo "relay on $RELAY_URL"
T0=$(date +%s)
secs() { echo $(($(date +%s) - T0)); }

# Is broadcast NAME (relative to PREFIX) listed by the relay's GET /announced/PREFIX?
relay_lists() { curl -s --max-time 3 "http://127.0.0.1:$RELAY_PORT/announced/$1" | grep -qx -- "$2"; }

# Check a JS `announced` result: exactly [active FULL, ended FULL].
check_entries() {
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const want = process.argv[2];
    const e = r.entries || [];
    const got = e.map((x) => `${x.active ? "+" : "-"}${x.full}`).join(" ");
    if (got !== `+${want} -${want}`) { console.log(`entries ${got || "(none)"}, expected +${want} -${want}`); process.exit(1); }
    console.log(`+${want} (hops ${JSON.stringify(e[0].hops ?? null)}${e[0].origin !== undefined ? `, origin ${e[0].origin}` : ""}) then -${want}`);
  ' "$1" "$2"
}

# ---- c->js: moqc publish announces, JS announced sees it come and go ------------------------
case_c_to_js() {
  local lib=$1 v=$2 prefix="ann-$1-$2" rc=0
  local name="jsann-$lib-$v"
  interop_bg "$name" node "$INTEROP_DIR/run.mjs" --lib "$lib" --version "lite-$v" --mode announced \
    --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" --prefix "$prefix" --count 2 \
    --expect-version "moq-lite-$v" --expect-protocol "moq-lite-$v" --timeout 30
  local js=$BG_PID
  if ! interop_wait_grep "$T/$name.err" '"event":"connected"' 25 "$js"; then
    interop_wait_pid "$js" 5 || true
    interop_case_fail "c->js announce $lib lite-$v: the JS side never connected" "$T/$name.out"
    return
  fi
  rm -f "$T/ann.fifo"
  mkfifo "$T/ann.fifo"
  exec 8<>"$T/ann.fifo"
  INTEROP_STDIN=$T/ann.fifo interop_bg "pub-$lib-$v" timeout 30 "$MOQC_BIN" publish --url "$RELAY_URL/anon" \
    --tls-fingerprint "$RELAY_FP" --version "moq-lite-$v" --broadcast "$prefix/c" --track t --drain 1s
  local pub=$BG_PID
  echo "frame" >&8
  local i=0
  until relay_lists "anon/$prefix" c; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pub" 2>/dev/null; then break; fi
    sleep 0.1
  done
  # Give the JS announce stream time to get `active` before the broadcast ends.
  sleep 1
  exec 8>&-
  rc=0
  interop_wait_pid "$pub" 15 || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "c->js announce $lib lite-$v: moqc publish exited $rc: $(tail -n 3 "$T/pub-$lib-$v.err" | tr '\n' ' ')"
  rc=0
  interop_wait_pid "$js" 20 || rc=$?
  local what
  if [ "$rc" != 0 ]; then
    interop_case_fail "c->js announce $lib lite-$v: JS announced failed (exit $rc)" "$T/$name.out"
  elif ! what=$(check_entries "$T/$name.out" "$prefix/c"); then
    interop_case_fail "c->js announce $lib lite-$v: $what" "$T/$name.out"
  else
    echo "[$(secs)s] ok c->js announce $lib lite-$v: $what"
  fi
}

# ---- js->c: JS publishes, moqc announced sees +path / -path ---------------------------------
case_js_to_c() {
  local lib=$1 v=$2 prefix="ann2-$1-$2" rc=0
  interop_bg "cann-$lib-$v" timeout 30 "$MOQC_BIN" announced --url "$RELAY_URL/anon" --tls-fingerprint "$RELAY_FP" \
    --version "moq-lite-$v" --prefix "$prefix" --count 2
  local ann=$BG_PID
  interop_run --lib "$lib" --version "lite-$v" --mode publish --url "$RELAY_URL/anon" --fingerprint "$RELAY_FP" \
    --broadcast "$prefix/j" --frames x --requests 0 --hold 1.5 --expect-version "moq-lite-$v" \
    --expect-protocol "moq-lite-$v" --timeout 25 >"$T/jspub-$lib-$v.json" 2>/dev/null || rc=$?
  [ "$rc" = 0 ] || interop_case_fail "js->c announce $lib lite-$v: JS publisher failed (exit $rc)" "$T/jspub-$lib-$v.json"
  rc=0
  interop_wait_pid "$ann" 15 || rc=$?
  local got
  got=$(tr '\n' ' ' <"$T/cann-$lib-$v.out")
  if [ "$rc" != 0 ]; then
    interop_case_fail "js->c announce $lib lite-$v: moqc announced exited $rc after printing '$got': $(tail -n 3 "$T/cann-$lib-$v.err" | tr '\n' ' ')"
  elif [ "$got" != "+$prefix/j -$prefix/j " ]; then
    interop_case_fail "js->c announce $lib lite-$v: moqc announced printed '$got', expected '+$prefix/j -$prefix/j'"
  else
    echo "[$(secs)s] ok js->c announce $lib lite-$v: moqc announced printed $got"
  fi
}

for combo in lite:03 lite:04 net:03 net:04 net:05; do
  case_c_to_js "${combo%:*}" "${combo#*:}"
  case_js_to_c "${combo%:*}" "${combo#*:}"
done

# Nothing is left announced.
left=$(curl -s --max-time 3 "http://127.0.0.1:$RELAY_PORT/announced/anon" || true)
[ -z "$left" ] || interop_case_fail "the relay still lists: $(echo "$left" | tr '\n' ' ')"
interop_relay_stop || interop_case_fail "moqc-relay did not stop cleanly"
for f in "$T"/*.err; do
  interop_sanitizer_clean "$f" || interop_case_fail "sanitizer report in $(basename "$f")"
done
echo "[$(secs)s] done"
interop_done

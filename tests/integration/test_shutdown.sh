#!/usr/bin/env bash
# SIGTERM / SIGINT on a busy relay: every session is closed with code 0
# ("shutdown"), the relay exits 0 quickly and ASan-clean, and clients report
# the close and exit non-zero (their work was cut short) without hanging.
. "$(dirname "$0")/lib.sh"
it_init
for sig in TERM INT; do
  IT_RELAY_NAME=relay-$sig it_relay_start
  it_bg "sub-$sig" "${MOQC[@]}" subscribe --url "$(it_url s)" --broadcast b --wait 30s
  it_bg "idle-$sig" "${MOQC[@]}" subscribe --url "$(it_url s)" --broadcast nobody --wait 30s
  it_bg "ann-$sig" "${MOQC[@]}" announced --url "$(it_url)"
  it_fifo "pub-$sig" 7
  IT_STDIN=$IT_TMP/pub-$sig.fifo it_bg "pub-$sig" "${MOQC[@]}" publish --url "$(it_url s)" --broadcast b
  for i in $(seq 1 20); do echo "x $i" >&7; sleep 0.02; done
  it_wait_lines "$IT_TMP/sub-$sig.out" 1 20 || it_fail "nothing delivered before the shutdown"
  t0=$(date +%s%N)
  kill "-$sig" "$RELAY_PID"
  it_wait "relay-$sig" 10
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$rc" = 0 ] || it_fail "relay exited $rc after SIG$sig"
  [ "$ms" -lt 5000 ] || it_fail "relay took $ms ms to stop"
  it_sanitizer_clean "$IT_TMP/relay-$sig.err" || it_fail "sanitizer report in the relay"
  grep -q "SIG$sig: closing" "$IT_TMP/relay-$sig.err" || it_fail "no shutdown log line"
  for c in sub idle ann pub; do
    it_wait "$c-$sig" 10
    rc=$?
    [ "$rc" != 124 ] || it_fail "$c hung after the relay stopped"
    [ "$rc" != 0 ] || it_fail "$c exited 0 although its relay went away"
    grep -q "connection closed by the relay: shutdown (code 0)" "$IT_TMP/$c-$sig.err" ||
      it_fail "$c: $(cat "$IT_TMP/$c-$sig.err")"
  done
  exec 7>&-
  it_log "SIG$sig: relay stopped in $ms ms, 4 clients told 'shutdown (code 0)'"
done
it_clients_clean
echo "PASS $IT_NAME"

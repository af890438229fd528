#!/usr/bin/env bash
# `moqc publish --push`: on an IETF session the publisher pushes its track to
# moqc-relay with PUBLISH, so the relay takes every group before anyone
# subscribed. For moqt-16, moqt-17 and moqt-18, over WebTransport and raw QUIC:
#   - the publisher writes 30 lines (10 groups) and keeps its input open; with
#     nobody subscribed, the relay receives all 10 groups (moqc_relay_groups_in_total:
#     without the push the relay subscribes to nothing and receives none);
#   - a moq-lite-05 subscriber and an IETF subscriber of the same draft, started
#     only then with --start-group 0, each get every line from the relay's cache;
#   - at EOF the publisher exits 0 promptly (the accepted push counts as the
#     relay subscribed: no waiting out --drain 30s) and logs the push accepted.
# Usage errors: --push with only moq-lite versions, with --wait-subscriber.
# A moq-lite session negotiated although an IETF version was offered: a
# warning, and the broadcast still reaches a subscriber the usual way.
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

groups_in() { it_metric moqc_relay_groups_in_total; }

# push NAME URL VERSION
push() {
  local name=$1 url=$2 v=$3 base rc t0 ms i
  base=$(groups_in)
  [ -n "$base" ] || { it_check_fail "$name: no moqc_relay_groups_in_total"; return; }
  : >"$IT_TMP/want-$name.txt"
  it_fifo "p-$name" 7
  IT_STDIN=$IT_TMP/p-$name.fifo it_bg "pub-$name" "${MOQC[@]}" publish --url "$url" \
    --broadcast "b-$name" --version "$v" --push --group-frames 3 --drain 30s --log-level info
  for i in $(seq 1 30); do
    echo "$name line $i" >&7
    echo "$name line $i" >>"$IT_TMP/want-$name.txt"
  done
  if ! it_wait_metric moqc_relay_groups_in_total $((base + 10)) 10; then
    it_check_fail "$name: the relay received $(($(groups_in) - base)) of 10 groups with nobody subscribed"
    exec 7>&-
    kill -TERM "$(it_pid "pub-$name")" 2>/dev/null
    it_wait "pub-$name" 10 >/dev/null
    return
  fi
  for sv in moq-lite-05 "$v"; do
    it_bg "sub-$name-$sv" "${MOQC[@]}" subscribe --url "$url" --broadcast "b-$name" \
      --version "$sv" --start-group 0 --count 30 --wait 20s --log-level info
  done
  for sv in moq-lite-05 "$v"; do
    it_wait "sub-$name-$sv" 30
    rc=$?
    [ "$rc" = 0 ] || it_check_fail "$name: $sv subscriber exited $rc"
    if cmp -s "$IT_TMP/want-$name.txt" "$IT_TMP/sub-$name-$sv.out"; then
      it_log "$name: $sv subscriber got the 30 lines"
    else
      it_check_fail "$name: $sv subscriber got $(wc -l <"$IT_TMP/sub-$name-$sv.out") of 30 lines"
    fi
  done
  t0=$(date +%s%N)
  exec 7>&-
  it_wait "pub-$name" 20
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$rc" = 0 ] || it_check_fail "$name: publisher exited $rc"
  [ "$ms" -lt 10000 ] || it_check_fail "$name: publisher took $ms ms after EOF"
  grep -q "pushing track 'data' of 'b-$name' with PUBLISH ($v)" "$IT_TMP/pub-$name.err" ||
    it_check_fail "$name: publisher did not push on $v"
  grep -q "push accepted by the relay" "$IT_TMP/pub-$name.err" ||
    it_check_fail "$name: push not accepted"
}

for v in moqt-16 moqt-17 moqt-18; do
  push "wt-$v" "https://127.0.0.1:$RELAY_PORT/push" "$v"
  push "quic-$v" "moqt://127.0.0.1:$RELAY_PORT/push" "$v"
done

# Usage errors (exit 2, before connecting).
for args in "--version moq-lite-05 --push" "--version moq-lite-04 --version moq-lite-05 --push" \
  "--version moqt-18 --push --wait-subscriber"; do
  # shellcheck disable=SC2086
  "${MOQC[@]}" publish --url "$(it_url push)" --broadcast u $args </dev/null 2>"$IT_TMP/usage.err"
  rc=$?
  [ "$rc" = 2 ] && grep -q -- "--push" "$IT_TMP/usage.err" ||
    it_check_fail "usage '$args': exit $rc, $(cat "$IT_TMP/usage.err")"
done

# Both protocols offered, moq-lite negotiated: a warning, delivered as usual.
seq -f 'neg %g' 1 9 >"$IT_TMP/neg.txt"
it_bg sub-neg "${MOQC[@]}" subscribe --url "$(it_url push)" --broadcast neg --start-group 0 \
  --count 9 --wait 20s
IT_STDIN=$IT_TMP/neg.txt it_bg pub-neg "${MOQC[@]}" publish --url "$(it_url push)" \
  --broadcast neg --version moq-lite-05 --version moqt-18 --push --group-frames 3 --log-level info
it_wait pub-neg 30 || it_check_fail "negotiated lite: publisher exited $?"
it_wait sub-neg 30 || it_check_fail "negotiated lite: subscriber exited $?"
cmp -s "$IT_TMP/neg.txt" "$IT_TMP/sub-neg.out" || it_check_fail "negotiated lite: output differs"
if grep -q "(moq-lite-05)" "$IT_TMP/pub-neg.err"; then
  grep -q -- "--push: moq-lite-05 has no PUBLISH" "$IT_TMP/pub-neg.err" ||
    it_check_fail "negotiated lite: no warning"
else
  it_log "the relay negotiated $(sed -n 's/.*connected to .*(\(.*\)) over.*/\1/p' "$IT_TMP/pub-neg.err")"
fi

it_relay_stop
it_clients_clean
it_done

#!/usr/bin/env bash
# Joining mid-stream. While a publisher emits one frame per group every 50 ms:
#   - an early subscriber (connected before the publisher announced) gets all;
#   - a late joiner without --start-group starts at the relay's latest group
#     (served from the relay's cache) and then follows live: its output is a
#     contiguous tail of the data that begins at or after the join point;
#   - a late joiner with --start-group 0 gets the relay's cached groups first,
#     then live: everything; also over each IETF draft (a SUBSCRIBE with
#     AbsoluteStart 0 to the relay, a MoQ Solicit peer: no joining FETCH).
. "$(dirname "$0")/lib.sh"
it_init
it_relay_start

it_bg early "${MOQC[@]}" subscribe --url "$(it_url live)" --broadcast b --start-group 0 --wait 30s
it_wait_for "$IT_TMP/relay.err" "session 1:" 20 || it_fail "early subscriber did not connect"
it_fifo pub 7
IT_STDIN=$IT_TMP/pub.fifo it_bg pub "${MOQC[@]}" publish --url "$(it_url live)" --broadcast b --wait-subscriber
N=80
IETF=""
[ -n "${IT_VERSION:-}" ] || IETF="moq-00 moqt-15 moqt-16 moqt-17 moqt-18 moqt-19"
: >"$IT_TMP/data.txt"
for i in $(seq 1 $N); do
  echo "tick $i" >>"$IT_TMP/data.txt"
  echo "tick $i" >&7
  sleep 0.05
  if [ "$i" = 30 ]; then
    # The relay has forwarded at least E groups when the late joiner asks: its
    # latest group is then at least tick E's (a bound that holds however far
    # a loaded machine has the publisher lag behind the ticks written).
    E=$(wc -l <"$IT_TMP/early.out")
    it_bg late "${MOQC[@]}" subscribe --url "$(it_url live)" --broadcast b
    it_bg late0 "${MOQC[@]}" subscribe --url "$(it_url live)" --broadcast b --start-group 0
    for v in $IETF; do
      it_bg "late0-$v" "${MOQC[@]}" subscribe --url "$(it_url live)" --broadcast b --start-group 0 \
        --version "$v" --log-level info
    done
  fi
done
exec 7>&-
it_wait pub 30 || it_fail "publisher exited $?"
for s in early late late0 ${IETF:+$(printf 'late0-%s ' $IETF)}; do
  it_wait "$s" 30 || it_fail "subscriber $s exited $?"
done
cmp -s "$IT_TMP/data.txt" "$IT_TMP/early.out" || it_fail "early subscriber: output differs"
first=$(head -1 "$IT_TMP/late.out" | awk '{print $2}')
[ -n "$first" ] && [ "$first" -ge "$E" ] && [ "$first" -ge 2 ] ||
  it_fail "late joiner started at '$first' (expected its latest group: tick >= $E, the early subscriber's count then)"
tail -n +"$first" "$IT_TMP/data.txt" | cmp -s - "$IT_TMP/late.out" ||
  it_fail "late joiner: not a contiguous tail from tick $first"
cmp -s "$IT_TMP/data.txt" "$IT_TMP/late0.out" ||
  it_fail "late joiner with --start-group 0: output differs ($(head -1 "$IT_TMP/late0.out") ... $(wc -l <"$IT_TMP/late0.out") lines)"
for v in $IETF; do
  cmp -s "$IT_TMP/data.txt" "$IT_TMP/late0-$v.out" ||
    it_fail "late joiner with --start-group 0 over $v: output differs ($(head -1 "$IT_TMP/late0-$v.out") ... $(wc -l <"$IT_TMP/late0-$v.out") lines)"
  grep -q "($v)" "$IT_TMP/late0-$v.err" || it_fail "late joiner over $v did not run $v"
done
it_log "late joiner started at tick $first (early subscriber had $E); --start-group 0 joiners got all $N (moq-lite${IETF:+, $IETF})"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

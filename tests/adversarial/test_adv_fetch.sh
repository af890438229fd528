#!/usr/bin/env bash
# Finding 8 (issue 17): GET /fetch is bounded per client address. An attacker
# on ::1 opens 16 /fetch requests for a group that will not come soon (each
# would wait --fetch-timeout, 10 s): 8 wait (--fetch-max-per-addr), the other
# 8 are answered 429 at once. (16 = --http-max-conns-per-addr: more would also
# meet that cap, whose evictions look like waits to curl on a loaded machine.) A client on 127.0.0.1 still fetches the latest
# group, whole (its frames are sent by reference), and the MoQ pair is
# unaffected. Default limits.
. "$(dirname "$0")/lib.sh"
adv_init
adv_relay_start

adv_pair pair 8
it_bg pub "$ADV" greedy "moqt://[::1]:$RELAY_PORT/adv" b 5000 30000 10 14
it_wait_for "$IT_TMP/pub.out" '^group 3$' 10 || it_fail "the publisher did not start"
CURLS=()
for i in $(seq 1 16); do
  curl -s -g --max-time 4 -o /dev/null -w '%{http_code}\n' \
    "http://[::1]:$HTTP_PORT/fetch/adv/b/t?group=999999" >"$IT_TMP/f$i.code" 2>/dev/null &
  IT_PIDS+=("$!")
  CURLS+=("$!")
done
sleep 1
# The good client meanwhile: the latest group, whole.
size=$(it_http /fetch/adv/b/t -o "$IT_TMP/latest.bin" -w '%{http_code} %{size_download}')
[ "$size" = "200 30000" ] || it_check_fail "GET /fetch (latest) from 127.0.0.1 during the attack: $size"
wait "${CURLS[@]}"
n429=$(cat "$IT_TMP"/f*.code | grep -c '^429$')
nwait=$(cat "$IT_TMP"/f*.code | grep -c '^000$')
it_log "attacker's 16 fetches: $n429 refused (429), $nwait waited until the client gave up"
[ "$n429" = 8 ] && [ "$nwait" = 8 ] ||
  it_check_fail "expected 8 x 429 and 8 waiting, got $n429 x 429 and $nwait waiting"
ref=$(it_metric moqc_relay_fetch_refused_total)
[ "${ref:-0}" -ge 8 ] || it_check_fail "moqc_relay_fetch_refused_total is ${ref:-?}"
# Once they are gone the address may fetch again.
code=$(curl -s -g --max-time 3 -o /dev/null -w '%{http_code}' "http://[::1]:$HTTP_PORT/fetch/adv/b/t")
[ "$code" = 200 ] || it_check_fail "a fetch from ::1 after the attack: $code"
it_wait pub 30 || it_check_fail "publisher exited $?"
adv_pair_check pair
adv_done

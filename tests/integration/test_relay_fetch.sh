#!/usr/bin/env bash
# FETCH of past groups through the relay, which fetches them from the
# publisher (issue 12). Each publisher publishes its groups (one line each)
# before anyone subscribes, so the relay holds none of them:
#   (a) an IETF publisher (moqt-16), a live IETF subscriber at the relay (its
#       upstream subscription starts at the latest group), then an IETF
#       subscriber with --start-group 0 (SUBSCRIBE AbsoluteStart: the relay
#       declares MoQ Solicit): the relay FETCHes groups 0.. from its upstream
#       session (a joining FETCH from a peer without Solicit takes the same
#       path: unit test_session_relay_fetch t_relay_joining_fetch);
#   (b) a moq-lite-05 publisher, a live subscriber at the relay (its upstream
#       subscription starts at the latest group), then standalone IETF
#       FETCHes (moqt-16) of the groups below it: the relay FETCHes each
#       upstream over moq-lite-05;
#   (c) the same with moq-lite-05 FETCHes downstream.
# The publishers' caches keep groups 5 s (the default latency window): each
# part runs well within that.
. "$(dirname "$0")/lib.sh"
it_init
IT_RELAY_LOG=debug it_relay_start
PROBE=$(it_helper fetchprobe) || it_fail "cannot build fetchprobe"
N=6

# it_publish NAME VERSION FD PREFIX: a publisher of broadcast NAME (track
# data) offering only VERSION, its stdin a FIFO on FD; it publishes groups
# 0..N-1 ("PREFIX 0" ...) and waits until the relay knows the broadcast.
it_publish() {
  local name=$1 version=$2 fd=$3 prefix=$4 i t=0
  it_fifo "$name" "$fd"
  IT_STDIN=$IT_TMP/$name.fifo it_bg "$name" "$MOQC_BIN" --tls-fingerprint "$FP" \
    --version "$version" publish --url "$(it_url)" --broadcast "$name"
  until it_http /announced | grep -qx "$name"; do
    t=$((t + 1)); [ $t -gt 200 ] && it_fail "$name never announced: $(it_http /announced)"; sleep 0.05
  done
  for i in $(seq 0 $((N - 1))); do echo "$prefix $i" >&"$fd"; done
  sleep 0.3
}

# it_live_stop NAME LINE TAG: the live subscriber NAME got LINE (a group
# published after the FETCHes) and is stopped. It stays subscribed until
# then: a subscriber that joined before the relay had any group also gets the
# groups fetched for others (its start resolved to 0), so a --count would
# make it leave in the middle of the FETCH it is there to anchor.
it_live_stop() {
  it_wait_for "$IT_TMP/$1.out" "^$2\$" 10 || it_fail "$3 the live subscriber did not get '$2'"
  kill -TERM "$(it_pid "$1")" 2>/dev/null
  it_wait "$1" 10 >/dev/null || true
}

# (a) IETF publisher, a live subscriber, then a past start.
it_publish ietfpub moqt-16 7 ietf
[ "$(it_metric moqc_relay_upstream_tracks)" = 0 ] || it_fail "(a) the relay subscribed already"
it_bg liveietf "$MOQC_BIN" --tls-fingerprint "$FP" --version moqt-16 subscribe --url "$(it_url)" \
  --broadcast ietfpub --wait 5s
it_wait_for "$IT_TMP/liveietf.out" "^ietf $((N - 1))\$" 10 || it_fail "(a) the live subscriber got no latest group"
it_bg joiner "$MOQC_BIN" --tls-fingerprint "$FP" --version moqt-16 subscribe --url "$(it_url)" \
  --broadcast ietfpub --start-group 0 --count $N --wait 5s
it_wait joiner 15 || it_fail "(a) past-start subscriber exited $? with '$(tr '\n' '|' <"$IT_TMP/joiner.out")'"
# the latest group is the relay's already; the fetched ones may come after it
seq 0 $((N - 1)) | sed 's/^/ietf /' | cmp -s - <(sort -k2n "$IT_TMP/joiner.out") ||
  it_fail "(a) past start through the relay: got '$(tr '\n' '|' <"$IT_TMP/joiner.out")'"
grep -q 'FETCH upstream ietfpub/data \[0, ' "$IT_TMP/relay.err" ||
  it_fail "(a) no FETCH upstream in the relay's log"
echo "ietf $N" >&7 # a new live group: the live subscriber is still served
it_live_stop liveietf "ietf $N" "(a)"
it_log "(a) past start: groups 0..$((N - 1)) FETCHed from the IETF publisher"

# it_lite_case NAME FD PROBE_VERSION: a moq-lite-05 publisher, a live
# subscriber (the relay then holds the latest group only, and subscribes
# upstream from there), then fetchprobe PROBE_VERSION of groups 0..N-2.
it_lite_case() {
  local name=$1 fd=$2 pv=$3
  it_publish "$name" moq-lite-05 "$fd" "$name"
  [ "$(it_metric moqc_relay_upstream_tracks)" = 0 ] || it_fail "($name) the relay subscribed already"
  it_bg "live$name" "$MOQC_BIN" --tls-fingerprint "$FP" --version moq-lite-05 subscribe \
    --url "$(it_url)" --broadcast "$name" --wait 5s
  it_wait_for "$IT_TMP/live$name.out" "^$name $((N - 1))\$" 10 ||
    it_fail "($name) the live subscriber got no latest group"
  it_bg "probe$name" "$PROBE" "$(it_url)" "$FP" "$pv" "$name" data 0 $((N - 2)) 8000
  it_wait "probe$name" 15 || it_fail "($name) fetchprobe $pv exited $? with '$(tr '\n' '|' <"$IT_TMP/probe$name.out")'"
  seq 0 $((N - 2)) | awk -v p="$name" '{print $1 ": " p " " $1}' | cmp -s - "$IT_TMP/probe$name.out" ||
    it_fail "($name) $pv FETCH through the relay: got '$(tr '\n' '|' <"$IT_TMP/probe$name.out")'"
  grep -q "FETCH upstream $name/data group 0" "$IT_TMP/relay.err" ||
    it_fail "($name) no moq-lite FETCH upstream in the relay's log"
  echo "$name $N" >&"$fd" # a new live group: the live subscriber is still served
  it_live_stop "live$name" "$name $N" "($name)"
  it_log "($name) $pv FETCH of groups 0..$((N - 2)) through a moq-lite-05 publisher"
}

# (b) moq-lite-05 publisher, IETF standalone FETCHes; (c) moq-lite-05 FETCHes.
it_lite_case litea 8 moq-lite-05
it_lite_case liteb 9 moqt-16

exec 7>&- 8>&- 9>&-
for p in ietfpub litea liteb; do it_wait "$p" 20 || it_fail "publisher $p exited $?"; done
kill -0 "$RELAY_PID" 2>/dev/null || it_fail "the relay died"
it_clients_clean
it_relay_stop
echo "PASS $IT_NAME"

# Helpers for tests/adversarial/test_*.sh (source it; bash only). Built on
# tests/integration/lib.sh (it_* helpers), plus:
#
#   adv_init                      it_init + the hostile client (adv_client) + moqc_bench;
#                                 skips (exit 77) without IPv6 loopback
#   adv_relay_start [flags]       the relay under attack, with its DEFAULT limits, on [::]
#                                 (dual-stack), ephemeral port; and a CONTROL relay nobody
#                                 attacks (same flags)
#   adv_pair NAME SECONDS         a well-behaved publisher + 2 subscribers (moqc_bench,
#                                 audio profile: 50 one-frame groups/s) from 127.0.0.1 on the
#                                 attacked relay, and the same pair on the control relay at
#                                 the same time, in the background
#   adv_pair_check NAME           every group delivered, no subscriber failed, and p99
#                                 latency within the control pair's spread (measured at the
#                                 same moment on the same machine, so machine load mostly
#                                 cancels out): <= max(4 x control p99, control p99 + 50 ms,
#                                 ADV_P99_FLOOR_MS). The floor (default 500 ms) is the noise
#                                 of a loaded shared machine: at load 20 on 2 cores one of the
#                                 two relays alone can stall for a few hundred ms. A quiet CI
#                                 machine can lower it (ADV_P99_FLOOR_MS=100).
#   adv_rss                       the attacked relay's RSS in KiB
#
# The attacker always comes from ::1 and the well-behaved clients from
# 127.0.0.1: per-address limits must bound the first and never touch the
# second. Every test starts the relay with its default flags (a test that
# shortens one limit to stay fast says so).

. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# ADV_RELAY_BIN=/path/to/an/older/moqc-relay runs a test against that relay
# (how each test was shown to fail before the fix).
adv_init() {
  [ -n "${ADV_RELAY_BIN:-}" ] && RELAY_BIN=$ADV_RELAY_BIN
  it_init
  ADV=$IT_BUILD/tests/adv_client
  BENCH=$IT_BUILD/moqc_bench
  [ -x "$ADV" ] || it_fail "missing $ADV (build the tests)"
  [ -x "$BENCH" ] || it_fail "missing $BENCH (build the benches: cmake --build . --target bench)"
  if ! grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
    echo "SKIP: no IPv6 loopback (the attacker needs its own address)" >&2
    exit 77
  fi
}

# The relays' ASan quarantine (256 MB of freed memory kept by default) is cut
# to 16 MB, so that RSS measures what the relay holds, not what it freed.
adv_relay_start() {
  local save=${ASAN_OPTIONS:-}
  export ASAN_OPTIONS="${save:+$save:}quarantine_size_mb=16"
  IT_RELAY_NAME=control it_relay_start --bind '[::]:0' "$@"
  CTL_PORT=$RELAY_PORT
  CTL_PID=$RELAY_PID
  it_relay_start --bind '[::]:0' "$@"
  export ASAN_OPTIONS=$save
}

adv_pair() {
  local name=$1 secs=$2 port tag
  for tag in "" -ctl; do
    port=$RELAY_PORT
    [ -n "$tag" ] && port=$CTL_PORT
    it_bg "$name$tag" "$BENCH" --url "moqt://127.0.0.1:$port/good-$name" --profile audio \
      --subs 2 --duration "$secs" --warmup 1 --json "$IT_TMP/$name$tag.json" --quiet \
      --max-time $((secs + 40))
  done
}

# adv_json NAME KEY: one number from a pair's JSON line.
adv_json() { sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p" "$IT_TMP/$1.json" | head -1; }

adv_pair_check() {
  local name=$1 rc tag lost failed up p99 c99
  for tag in -ctl ""; do
    it_wait "$name$tag" 90
    rc=$?
    [ -s "$IT_TMP/$name$tag.json" ] || { it_check_fail "pair $name$tag: no result (exit $rc)"; return; }
  done
  c99=$(adv_json "$name-ctl" lat_p99_ms)
  lost=$(adv_json "$name" groups_lost)
  failed=$(adv_json "$name" subs_failed)
  up=$(adv_json "$name" subs_up)
  p99=$(adv_json "$name" lat_p99_ms)
  it_log "pair $name: lost $lost, subscribers up $up failed $failed, p99 $p99 ms (control pair: $c99 ms)"
  [ "$lost" = 0 ] || it_check_fail "pair $name lost $lost groups"
  [ "$failed" = 0 ] && [ "$up" = 2 ] || it_check_fail "pair $name: $up subscribers up, $failed failed"
  awk -v p="$p99" -v b="$c99" -v f="${ADV_P99_FLOOR_MS:-500}" \
    'BEGIN { lim = 4 * b; if (b + 50 > lim) lim = b + 50; if (f > lim) lim = f; exit !(p <= lim) }' ||
    it_check_fail "pair $name: p99 $p99 ms outside the control pair's spread (p99 $c99 ms)"
}

adv_rss() { awk '/^VmRSS/ { print $2 }' "/proc/$RELAY_PID/status"; }

# adv_metric_max NAME SECONDS: sample a metric every 100 ms; print the maximum.
adv_metric_max() {
  local name=$1 secs=$2 i max=0 v
  for i in $(seq 1 $((secs * 10))); do
    v=$(it_metric "$name")
    [ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
    sleep 0.1
  done
  echo "$max"
}

# adv_done: stop both relays (exit 0 within 10 s, sanitizer-clean), report.
adv_done() {
  it_relay_stop control
  it_relay_stop
  it_done
}

# Helpers for tests/adversarial/test_*.sh (source it; bash only). Built on
# tests/integration/lib.sh (it_* helpers), plus:
#
#   adv_init                      it_init + the hostile client (adv_client) + moqc_bench;
#                                 skips (exit 77) without IPv6 loopback
#   adv_relay_start [flags]       a relay with its DEFAULT limits on [::] (dual-stack),
#                                 ephemeral port
#   adv_pair NAME SECONDS         a well-behaved publisher + 2 subscribers (moqc_bench,
#                                 audio profile: 50 one-frame groups/s) from 127.0.0.1,
#                                 in the background; adv_pair_check NAME checks it
#   adv_pair_check NAME [BASE]    every group delivered, no subscriber failed, and (with
#                                 BASE, a baseline pair's NAME) p99 latency within the
#                                 baseline's spread: <= max(4 x base p99, base p99 + 100 ms)
#                                 (the machine is shared: a quiet baseline p99 of 2 ms
#                                 reads 100 ms when a neighbour compiles)
#   adv_rss                       the relay's RSS in KiB
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

# The relay's ASan quarantine (256 MB of freed memory kept by default) is
# cut to 16 MB, so that RSS measures what the relay holds, not what it freed.
adv_relay_start() {
  local save=${ASAN_OPTIONS:-}
  export ASAN_OPTIONS="${save:+$save:}quarantine_size_mb=16"
  it_relay_start --bind '[::]:0' "$@"
  export ASAN_OPTIONS=$save
}

adv_pair() {
  local name=$1 secs=$2
  it_bg "$name" "$BENCH" --url "moqt://127.0.0.1:$RELAY_PORT/good-$name" --profile audio \
    --subs 2 --duration "$secs" --warmup 1 --json "$IT_TMP/$name.json" --quiet \
    --max-time $((secs + 40))
}

# adv_json NAME KEY: one number from a pair's JSON line.
adv_json() { sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p" "$IT_TMP/$1.json" | head -1; }

adv_pair_check() {
  local name=$1 base=${2:-} rc
  it_wait "$name" 90
  rc=$?
  [ -s "$IT_TMP/$name.json" ] || { it_check_fail "pair $name: no result (exit $rc)"; return; }
  local lost failed up p99
  lost=$(adv_json "$name" groups_lost)
  failed=$(adv_json "$name" subs_failed)
  up=$(adv_json "$name" subs_up)
  p99=$(adv_json "$name" lat_p99_ms)
  it_log "pair $name: lost $lost, subscribers up $up failed $failed, p99 $p99 ms"
  [ "$lost" = 0 ] || it_check_fail "pair $name lost $lost groups"
  [ "$failed" = 0 ] && [ "$up" = 2 ] || it_check_fail "pair $name: $up subscribers up, $failed failed"
  if [ -n "$base" ]; then
    local b
    b=$(adv_json "$base" lat_p99_ms)
    awk -v p="$p99" -v b="$b" 'BEGIN { lim = 4 * b; if (b + 100 > lim) lim = b + 100; exit !(p <= lim) }' ||
      it_check_fail "pair $name: p99 $p99 ms outside the baseline's spread (baseline p99 $b ms)"
  fi
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

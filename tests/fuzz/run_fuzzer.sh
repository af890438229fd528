#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a scratch copy of its corpus.
set -eu
rm -rf "$MOQC_FUZZ_WORK"; mkdir -p "$MOQC_FUZZ_WORK"
if [ -d "$MOQC_FUZZ_CORPUS" ]; then cp -r "$MOQC_FUZZ_CORPUS"/. "$MOQC_FUZZ_WORK"/; fi
exec "$MOQC_FUZZ_BIN" -max_total_time="$MOQC_FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
     -print_final_stats=1 "$MOQC_FUZZ_WORK"

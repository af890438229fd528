#!/usr/bin/env bash
# tests/check_layering_selftest.sh ROOT — proves tests/check_layering.sh can fail:
# it checks a scratch copy of the tree (which must pass), then the same copy
# with one forbidden #include injected at a time (each must fail, naming the file).
set -u
root=${1:?usage: check_layering_selftest.sh SOURCE_ROOT}
check=$root/tests/check_layering.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in src include tools bench; do cp -r "$root/$d" "$tmp/$d"; done
fail=0

out=$(bash "$check" "$tmp" 2>&1) || { echo "selftest: the unmodified copy fails:"; echo "$out"; exit 1; }

expect_fail() { # file line why [text the report must contain: file]
  local f=$1 line=$2 why=$3 want=${4:-$1} out
  mkdir -p "$(dirname "$tmp/$f")"
  [ -f "$tmp/$f" ] && cp "$tmp/$f" "$tmp/$f.orig"
  printf '%s\n' "$line" >> "$tmp/$f"
  if out=$(bash "$check" "$tmp" 2>&1); then
    echo "selftest: NOT caught: $why ($f: $line)"; fail=1
  elif ! grep -qF "$want" <<< "$out"; then
    echo "selftest: caught, but the report does not say \"$want\": $out"; fail=1
  else
    echo "selftest: caught: $why"
  fi
  if [ -f "$tmp/$f.orig" ]; then mv "$tmp/$f.orig" "$tmp/$f"; else rm -rf "$(dirname "$tmp/$f")"; fi
}

expect_fail src/core/time.c '#include "model/internal.h"' "core includes a model header"
expect_fail src/core/time.c '#include "moqc/session.h"' "core includes the public header of session"
expect_fail src/model/env.c '#include "session/util.h"' "model includes session"
expect_fail src/session/util.c '#include "quic/quic_int.h"' "session includes quic"
expect_fail src/webtransport/wt_map.c '#include "quic/quic_int.h"' "webtransport includes quic"
expect_fail src/quic/udp.c '#include "webtransport/h3_codec.h"' "quic includes webtransport"
expect_fail src/http1/http_parse.c '#include "runtime/x.h"' "http1 includes runtime"
expect_fail src/quic/udp.c '#include "../core/mem.h"' "relative include"
expect_fail src/session/util.c '#include <ngtcp2/ngtcp2.h>' "ngtcp2 outside src/quic"
expect_fail src/webtransport/wt_map.c '#include <sys/socket.h>' "socket header outside src/quic"
expect_fail src/model/env.c '#include <uv.h>' "libuv in a sans-IO layer"
expect_fail src/model/env.c '#include <zlib.h>' "zlib outside src/hang"
expect_fail include/moqc/buf.h '#include "moqc/model.h"' "public core header includes model"
expect_fail include/moqc/quic.h '#include "quic/tls.h"' "public header includes an internal one"
expect_fail tools/cli/main.c '#include "core/mem.h"' "a tool includes an internal header"
expect_fail bench/bench_quic.c '#include "quic/tls.h"' "a benchmark includes an internal header"
expect_fail src/websocket/ws.c '#include "core/mem.h"' "a src folder without a rule" \
  "src/websocket has no layer rule"
expect_fail include/moqc/newthing.h '#include "moqc/export.h"' "a public header without a layer"

[ $fail -eq 0 ] && echo "selftest: ok"
exit $fail

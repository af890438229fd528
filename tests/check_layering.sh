#!/usr/bin/env bash
# Fails if any code outside src/transport includes ngtcp2, GnuTLS or socket headers
# (src/auth may include GnuTLS, for signatures and keys, and nothing else of these),
# or if the sans-IO layers (core, model, session) include libuv.
set -u
root=${1:?source dir}
fail=0
forbidden='#[[:space:]]*include[[:space:]]*[<"](ngtcp2/|gnutls/|nghttp3/|sys/socket\.h|netinet/|arpa/inet\.h|netdb\.h)'
hits=$(grep -rEn "$forbidden" "$root/src" "$root/include" "$root/tools" --include='*.[ch]' \
        | grep -v "^$root/src/transport/" \
        | grep -Ev "^$root/src/auth/[^:]*:[0-9]+:#[[:space:]]*include[[:space:]]*<gnutls/" || true)
if [ -n "$hits" ]; then
  echo "layering: transport headers included outside src/transport:"; echo "$hits"; fail=1
fi
uvhits=$(grep -rEn '#[[:space:]]*include[[:space:]]*[<"]uv\.h' "$root/src/core" "$root/src/model" "$root/src/session" --include='*.[ch]' || true)
if [ -n "$uvhits" ]; then
  echo "layering: libuv included in a sans-IO layer:"; echo "$uvhits"; fail=1
fi
# Prove the check can fail: a synthetic offender must be caught by the same pattern.
echo '#include <ngtcp2/ngtcp2.h>' | grep -qE "$forbidden" || { echo "layering: pattern broken"; fail=1; }
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail

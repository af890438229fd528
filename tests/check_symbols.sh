#!/usr/bin/env bash
# tests/check_symbols.sh — the library's link-time surface stays clean.
#
#   check_symbols.sh LIBMOQC.a LIBMOQC.so
#
# Fails when
#   - the static archive defines a global symbol outside `moqc_*` (public API) and
#     `moqc__*` (internal: every non-static function or variable shared between files);
#   - the shared library exports a dynamic symbol that is not public API (`moqc_*` but not
#     `moqc__*`): internals stay hidden behind -fvisibility=hidden.
# An application that links libmoqc can then define any name outside `moqc_` freely.
# Names that begin with two underscores are reserved to the implementation (the
# sanitizers' and libFuzzer's __start_/__stop_ section bounds, __asan_*, ...) and are
# not ours to judge.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 LIB.a LIB.so" >&2; exit 2; }
a=$1 so=$2
for f in "$a" "$so"; do [ -r "$f" ] || { echo "check_symbols: cannot read $f" >&2; exit 2; }; done

# Global defined symbols of the archive: nm prints "ADDR TYPE NAME"; uppercase types are global.
bad_a=$(nm -g --defined-only "$a" 2>/dev/null | awk 'NF==3 && $2 ~ /[A-Z]/ {print $3}' |
        grep -v -E '^(moqc_|__)' | sort -u || true)
# Dynamic exports of the shared library.
bad_so=$(nm -D --defined-only "$so" 2>/dev/null | awk 'NF==3 {print $3}' |
         grep -v -E '^(moqc_|__)' | sort -u || true)
int_so=$(nm -D --defined-only "$so" 2>/dev/null | awk 'NF==3 {print $3}' |
         grep -E '^moqc__' | sort -u || true)
n_pub=$(nm -D --defined-only "$so" | awk 'NF==3' | grep -c -E ' moqc_[^_]' || true)

rc=0
if [ -n "$bad_a" ]; then
  echo "check_symbols: $a defines $(echo "$bad_a" | wc -l) global symbol(s) outside moqc_/moqc__:"
  echo "$bad_a" | sed 's/^/  /'
  rc=1
fi
if [ -n "$bad_so" ] || [ -n "$int_so" ]; then
  echo "check_symbols: $so exports non-API symbol(s):"
  printf '%s\n' $bad_so $int_so | sed 's/^/  /'
  rc=1
fi
if [ "$n_pub" -eq 0 ]; then
  echo "check_symbols: $so exports no moqc_ symbol at all (wrong file?)"
  rc=1
fi
[ $rc -eq 0 ] && echo "check_symbols: ok ($n_pub public symbols exported; archive clean)"
exit $rc

#!/usr/bin/env bash
# Proves tests/check_symbols.sh can fail: a tiny archive and shared library with one
# unprefixed global each must be refused, and clean ones accepted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/good.c" <<'C'
__attribute__((visibility("default"))) int moqc_public_fn(void) { return 1; }
int moqc__internal_fn(void) { return 2; }
static int helper(void) { return 3; }
__attribute__((visibility("default"))) int moqc_public_fn2(void) { return helper(); }
C
cat > "$tmp/bad.c" <<'C'
__attribute__((visibility("default"))) int moqc_public_fn(void) { return 1; }
__attribute__((visibility("default"))) int hmap_insert(void) { return 2; }
C
cat > "$tmp/leak.c" <<'C'
__attribute__((visibility("default"))) int moqc_public_fn(void) { return 1; }
__attribute__((visibility("default"))) int moqc__internal_fn(void) { return 2; }
C
build() { # name
  "$cc" -c -fPIC -fvisibility=hidden -o "$tmp/$1.o" "$tmp/$1.c"
  ar rcs "$tmp/lib$1.a" "$tmp/$1.o"
  "$cc" -shared -o "$tmp/lib$1.so" "$tmp/$1.o"
}
for n in good bad leak; do build $n; done
fail=0
"$here/check_symbols.sh" "$tmp/libgood.a" "$tmp/libgood.so" >/dev/null || { echo "selftest: clean library refused"; fail=1; }
if "$here/check_symbols.sh" "$tmp/libbad.a" "$tmp/libgood.so" >/dev/null; then
  echo "selftest: archive with hmap_insert accepted"; fail=1; fi
if "$here/check_symbols.sh" "$tmp/libbad.a" "$tmp/libbad.so" >/dev/null; then
  echo "selftest: shared library exporting hmap_insert accepted"; fail=1; fi
if "$here/check_symbols.sh" "$tmp/libgood.a" "$tmp/libleak.so" >/dev/null; then
  echo "selftest: shared library exporting moqc__internal_fn accepted"; fail=1; fi
[ $fail -eq 0 ] && echo "check_symbols selftest: ok (3 bad libraries refused, 1 clean accepted)"
exit $fail

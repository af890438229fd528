#!/usr/bin/env bash
# tests/check_format.sh ROOT — every C file git tracks is formatted with the
# checked-in .clang-format (clang-format 14, Debian 12). Lists the offenders and
# exits 1; `clang-format -i FILE` fixes one. Vendored JS and fuzz corpora are not C.
set -uo pipefail
root=${1:?usage: check_format.sh SOURCE_ROOT}
cd "$root" || exit 2
fmt=$(command -v clang-format-14 || command -v clang-format) || { echo "check_format: clang-format not installed" >&2; exit 2; }
[ -f .clang-format ] || { echo "check_format: no .clang-format in $root" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h' ':!:tests/interop/node_modules/*')
else
  mapfile -t files < <(find src include tools tests bench examples -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null)
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} file(s) not formatted (run: clang-format -i FILE):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: ok (${#files[@]} files)"

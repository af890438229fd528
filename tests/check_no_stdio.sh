#!/usr/bin/env bash
# The library never writes to stdout/stderr and never reads the environment:
# fails if any object of libmoqc (the static archive given as $1) references
# stdio output streams, printf-to-stream functions or getenv. snprintf into a
# buffer is fine. tool_util.c.o is the command-line tools' helper (its logger
# prints to stderr by design); it leaves the library for tools/common/.
set -u
lib=${1:?path to libmoqc.a}
nm_bin=${NM:-nm}
forbidden='^(_IO_)?(stderr|stdout|getenv|secure_getenv|(__)?(v)?(f)?printf(_chk)?|puts|fputs|fputc|putc|putchar|perror|fwrite)$'
# "archive:member: U symbol" per line.
syms=$("$nm_bin" -A -u "$lib" 2>/dev/null) || { echo "no-stdio: cannot read $lib"; exit 1; }
[ -n "$syms" ] || { echo "no-stdio: no undefined symbols found in $lib (nm broken?)"; exit 1; }
hits=$(printf '%s\n' "$syms" | awk '{print $NF, $1}' | grep -v 'tool_util\.c\.o' \
        | grep -E "${forbidden%\$} " || true)
# Prove the check can fail: a synthetic offender must be caught by the same pattern.
printf 'getenv\n__fprintf_chk\nstderr\n' | grep -cE "$forbidden" | grep -qx 3 \
  || { echo "no-stdio: pattern broken"; exit 1; }
if printf 'snprintf\nvsnprintf\n' | grep -qE "$forbidden"; then echo "no-stdio: pattern too wide"; exit 1; fi
if [ -n "$hits" ]; then
  echo "no-stdio: libmoqc objects reference stdio output or the environment:"
  echo "$hits"
  exit 1
fi
echo "no-stdio: ok"

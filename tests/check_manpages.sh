#!/usr/bin/env bash
# The man pages under man/ describe exactly the flags the binaries have:
#   moqc-relay --help           <-> man/moqc-relay.8      (\-\-NAME)
#   moqc-relay --help           <-> man/moqc-relay.conf.5 (keys: "\fBNAME\fR = ...";
#                                   all options but --config and --help)
#   moqc --help, moqc token --help <-> man/moqc.1         (\-\-NAME)
# A flag added to a tool without a man page entry (or the reverse) fails here
# with the flag's name: add a ".TP" entry to the page it names.
# Usage: tests/check_manpages.sh [BUILD_DIR] (default $MOQC_BUILD_DIR).
set -euo pipefail
src=${MOQC_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${1:-${MOQC_BUILD_DIR:?set MOQC_BUILD_DIR or pass the build directory}}
relay=$build/moqc-relay
cli=$build/moqc
for b in "$relay" "$cli"; do
  [ -x "$b" ] || { echo "check_manpages: $b not built"; exit 1; }
done

help_flags() { # the --flags a help text mentions
  grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u
}
man_flags() { # \-\-flag in a roff page (comment lines skipped)
  grep -v '^\.\\"' "$1" | grep -oE '\\-\\-[a-z]([a-z0-9]|\\-)*' | sed 's/\\-/-/g; s/^--//' | sort -u
}
conf_keys() { # "\fBkey\fR = " lines of the config page
  grep -oE '^\\fB[a-z][a-z0-9-]*\\fR = ' "$1" | sed 's/^\\fB//; s/\\fR = $//' | sort -u
}

fail=0
compare() { # compare WHAT-HAS-IT-A NAME-A LIST-A NAME-B LIST-B
  local a_name=$1 a=$2 b_name=$3 b=$4 only
  only=$(comm -23 <(echo "$a") <(echo "$b"))
  if [ -n "$only" ]; then
    echo "in $a_name but not in $b_name:" $only
    fail=1
  fi
  only=$(comm -13 <(echo "$a") <(echo "$b"))
  if [ -n "$only" ]; then
    echo "in $b_name but not in $a_name:" $only
    fail=1
  fi
}

relay_help=$("$relay" --help | help_flags)
cli_help=$( ("$cli" --help; "$cli" token --help) | help_flags)
[ -n "$relay_help" ] && [ -n "$cli_help" ] || { echo "check_manpages: empty --help"; exit 1; }

compare "moqc-relay --help" "$relay_help" "man/moqc-relay.8" "$(man_flags "$src/man/moqc-relay.8")"
compare "moqc-relay --help (less config, help)" "$(echo "$relay_help" | grep -vxE 'config|help')" \
        "man/moqc-relay.conf.5 keys" "$(conf_keys "$src/man/moqc-relay.conf.5")"
compare "moqc --help + moqc token --help" "$cli_help" "man/moqc.1" "$(man_flags "$src/man/moqc.1")"

# The pages must also be well-formed roff (groff warnings are errors).
if command -v groff >/dev/null; then
  for page in moqc.1 moqc-relay.8 moqc-relay.conf.5; do
    out=$(groff -man -Tutf8 -ww -z "$src/man/$page" 2>&1) || true
    if [ -n "$out" ]; then
      echo "man/$page: groff: $out"
      fail=1
    fi
  done
fi

if [ "$fail" = 0 ]; then
  echo "check_manpages: $(echo "$relay_help" | wc -l) relay flags, $(echo "$cli_help" | wc -l) moqc flags: man pages in sync"
fi
exit "$fail"

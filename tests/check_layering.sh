#!/usr/bin/env bash
# tests/check_layering.sh ROOT — the layer rules of docs/architecture.md, checked
# on the #include lines of ROOT/src, ROOT/include, ROOT/tools and ROOT/bench.
# Prints every violation and exits 1, or prints "layering: ok".
# (The linker enforces the same arrows on calls: one static library per layer,
# see CMakeLists.txt. tests/check_layering_selftest.sh proves this check fails.)
set -u
root=${1:?usage: check_layering.sh SOURCE_ROOT}
root=${root%/}
fail=0
bad() { echo "layering: $*"; fail=1; }

# What each src/ folder may include: its own folder and the layers below it,
# as "dir/file.h" (internal) or through the public headers of those layers.
declare -A allow=(
  [core]="core"
  [model]="core model"
  [session]="core model session"
  [quic]="core quic"
  [webtransport]="core webtransport"
  [http1]="core http1"
  [qmux]="core qmux"
  [auth]="core auth"
  [hang]="core model hang"
  [runtime]="core model session quic webtransport http1 qmux runtime"
)
# The layer each public header (include/moqc/) belongs to.
declare -A pub=(
  [buf.h]=core [clock.h]=core [error.h]=core [export.h]=core [path.h]=core [time.h]=core
  [transport.h]=core [model.h]=model [session.h]=session [quic.h]=quic
  [webtransport.h]=webtransport [http.h]=http1 [qmux.h]=qmux [runtime.h]=runtime [endpoint.h]=runtime
  [log.h]=core [ordered.h]=model [auth.h]=auth
  [log.h]=core [ordered.h]=model [hang.h]=hang
)
# Documented exceptions, "file:included" (relative to ROOT). None today.
exceptions=""

# The layer a file belongs to: a src/ folder, the owner of a public header,
# "tools" or "bench".
layer_of() {
  local rel=$1 d
  case $rel in
    src/*/*) d=${rel#src/}; echo "${d%%/*}" ;;
    src/*) echo "src" ;; # a file directly in src/: no layer
    include/moqc/*) echo "${pub[${rel#include/moqc/}]:-?}" ;;
    tools/*) echo tools ;;
    bench/*) echo bench ;;
    *) echo "?" ;;
  esac
}

in_list() { local x; for x in $2; do [ "$x" = "$1" ] && return 0; done; return 1; }

# System headers only one layer may include.
check_system() { # file layer header
  local f=$1 l=$2 h=$3
  case $h in
    ngtcp2/*)
      [ "$l" = quic ] || [ "$l" = bench ] || bad "$f: <$h> outside src/quic" ;;
    gnutls/*) # TLS in quic; signatures and keys in auth
      [ "$l" = quic ] || [ "$l" = auth ] || [ "$l" = bench ] || bad "$f: <$h> outside src/quic and src/auth" ;;
    wslay/*)
      [ "$l" = runtime ] || bad "$f: <$h> outside src/runtime" ;;
    nghttp3/*)
      [ "$l" = webtransport ] || [ "$l" = bench ] || bad "$f: <$h> outside src/webtransport" ;;
    sys/socket.h | netinet/* | arpa/inet.h | netdb.h)
      [ "$l" = quic ] || [ "$l" = bench ] || bad "$f: socket header <$h> outside src/quic" ;;
    jansson.h) # JSON: hang catalogs, auth JWKs
      [ "$l" = hang ] || [ "$l" = auth ] || bad "$f: <$h> outside src/hang and src/auth" ;;
    zlib.h) # raw DEFLATE: hang's catalog.json.z
      [ "$l" = hang ] || bad "$f: <$h> outside src/hang" ;;
    libavformat/* | libavcodec/* | libavutil/*)
      [ "$l" = tools ] || bad "$f: FFmpeg <$h> in libmoqc (only the tools may use it)" ;;
    uv.h)
      case $l in core | model | session | webtransport | qmux | auth) bad "$f: libuv in the sans-IO layer $l" ;; esac ;;
  esac
}

check_project() { # file layer header
  local f=$1 l=$2 h=$3 dir target
  case $h in
    ../* | */../*) bad "$f: relative include \"$h\""; return ;;
    */*) dir=${h%%/*} ;;
    *) return ;; # same folder
  esac
  if [ "$dir" = moqc ]; then
    target=${pub[${h#moqc/}]:-}
    [ -n "$target" ] || { bad "$f: unknown public header \"$h\" (give it a layer in check_layering.sh)"; return; }
    case $l in
      tools | bench) return ;;
    esac
    in_list "$target" "${allow[$l]:-}" || bad "$f: $l includes \"$h\" (layer $target)"
    return
  fi
  case $l in
    tools | bench)
      [ "$dir" = common ] || bad "$f: $l includes \"$h\" (only public headers and common/)"
      return ;;
  esac
  if [[ $f == include/* ]]; then
    bad "$f: public header includes internal \"$h\""
    return
  fi
  in_list "$dir" "${allow[$l]:-}" || bad "$f: $l includes \"$h\" (layer $dir)"
}

# Every src/ folder needs a rule.
for d in "$root"/src/*/; do
  [ -d "$d" ] || continue
  d=$(basename "$d")
  [ -n "${allow[$d]:-}" ] || bad "src/$d has no layer rule in check_layering.sh"
done

while IFS= read -r line; do
  file=${line%%:*}
  rel=${file#"$root"/}
  inc=${line#*:}
  l=$(layer_of "$rel")
  if [ "$l" = "?" ] || [ "$l" = src ]; then
    bad "$rel: no layer (public header without an owner, or a file outside the layer folders)"
    continue
  fi
  [ -n "${allow[$l]:-}" ] || [ "$l" = tools ] || [ "$l" = bench ] || continue # reported above
  if [[ $inc =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^>]+)\> ]]; then
    h=${BASH_REMATCH[1]}
    in_list "$rel:$h" "$exceptions" || check_system "$rel" "$l" "$h"
  elif [[ $inc =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
    h=${BASH_REMATCH[1]}
    in_list "$rel:$h" "$exceptions" || check_project "$rel" "$l" "$h"
  fi
done < <(grep -rEH '^[[:space:]]*#[[:space:]]*include' "$root/src" "$root/include" "$root/tools" \
           "$root/bench" --include='*.[ch]' 2>/dev/null)

[ $fail -eq 0 ] && echo "layering: ok"
exit $fail

#!/usr/bin/env bash
# The Debian packages, end to end (ctest -L package; skipped unless
# MOQC_TEST_PACKAGE=1, ~2 minutes):
#   1. scripts/package.sh builds libmoqc0, libmoqc-dev and moqc;
#   2. dpkg -c: every file in its place, per package;
#   3. dpkg -i into a fresh --root (chrootless scripts, dependencies assumed):
#      dpkg -L lists the files, /etc/moqc/relay.conf is a conffile, the
#      installed moqc-relay --help runs and the installed relay starts on the
#      installed config file;
#   4. lintian: no errors;
#   5. systemd-analyze verify accepts the unit; systemd-analyze security rates
#      it OK or better (the score is printed);
#   6. `cmake --install` into a DESTDIR, and examples/ built with pkg-config
#      against it (shared, and libmoqc.a + the .pc's private requirements)
#      runs a publish -> subscribe round trip.
set -uo pipefail
if [ "${MOQC_TEST_PACKAGE:-0}" != 1 ]; then
  echo "skipped: set MOQC_TEST_PACKAGE=1 to build and check the .deb packages"
  exit 77
fi
src=${MOQC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MOQC_BUILD_DIR:-$src/build}
pkgdir=$build/package-test
work=$(mktemp -d)
relay_pid=
cleanup() {
  [ -n "$relay_pid" ] && kill -KILL "$relay_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
need() { command -v "$1" >/dev/null || { echo "FAIL: $1 missing (scripts/install-deps.sh with MOQC_TEST_PACKAGE=1)" >&2; exit 1; }; }
for t in dpkg-deb dpkg-shlibdeps lintian systemd-analyze pkg-config make cc; do need "$t"; done

# ---- 1. build ----
MOQC_PACKAGE_DIR=$pkgdir "$src/scripts/package.sh" >"$work/package.log" 2>&1 ||
  { tail -30 "$work/package.log"; echo "FAIL: scripts/package.sh"; exit 1; }
lib=$(ls "$pkgdir"/libmoqc0_*.deb) dev=$(ls "$pkgdir"/libmoqc-dev_*.deb) tools=$(ls "$pkgdir"/moqc_*.deb) ||
  { echo "FAIL: missing .deb in $pkgdir"; exit 1; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
L=usr/lib/$multiarch

# ---- 2. contents ----
expect_files() { # DEB PATH...
  local deb=$1 listing p
  shift
  listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||')
  for p in "$@"; do
    grep -qx "$p" <<<"$listing" || fail "$(basename "$deb"): no $p"
  done
}
expect_files "$lib" "$L/libmoqc.so.0" "$L/libmoqc.so.0.1.0" usr/share/doc/libmoqc0/copyright \
  usr/share/doc/libmoqc0/changelog.Debian.gz
expect_files "$dev" "$L/libmoqc.so" "$L/libmoqc.a" "$L/pkgconfig/moqc.pc" usr/include/moqc/endpoint.h \
  usr/include/moqc/model.h usr/share/doc/libmoqc-dev/copyright
expect_files "$tools" usr/bin/moqc-relay usr/bin/moqc etc/moqc/relay.conf \
  lib/systemd/system/moqc-relay.service usr/share/man/man8/moqc-relay.8.gz \
  usr/share/man/man1/moqc.1.gz usr/share/man/man5/moqc-relay.conf.5.gz usr/share/doc/moqc/copyright
grep -q 'usr/include' <<<"$(dpkg-deb -c "$lib")" && fail "libmoqc0 ships headers"
grep -q '\.so' <<<"$(dpkg-deb -c "$tools")" && fail "moqc ships a shared library"
soname=$(dpkg-deb --fsys-tarfile "$lib" | tar -xO "./$L/libmoqc.so.0.1.0" | { objdump -p /dev/stdin 2>/dev/null || true; } | awk '/SONAME/{print $2}')
[ -z "$soname" ] || [ "$soname" = libmoqc.so.0 ] || fail "SONAME is $soname"
dpkg-deb -f "$tools" Depends | grep -q libngtcp2 || fail "moqc: no Depends on libngtcp2 (shlibdeps)"
dpkg-deb -f "$lib" Depends | grep -q libuv1 || fail "libmoqc0: no Depends on libuv1 (shlibdeps)"
dpkg-deb -f "$dev" Depends | grep -q 'libmoqc0 (=' || fail "libmoqc-dev: no Depends on libmoqc0"
grep -qx /etc/moqc/relay.conf <<<"$(dpkg-deb --ctrl-tarfile "$tools" | tar -xO ./conffiles)" ||
  fail "moqc: /etc/moqc/relay.conf is not a conffile"

# ---- 3. install into a fresh root ----
root=$work/root
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info" "$root/var/log"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-not-root --force-depends --force-script-chrootless --no-triggers \
  -i "$lib" "$dev" "$tools" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
dpkg --root="$root" -L moqc >"$work/L" 2>&1 || fail "dpkg -L moqc"
for p in /usr/bin/moqc-relay /etc/moqc/relay.conf /lib/systemd/system/moqc-relay.service \
         /usr/share/man/man8/moqc-relay.8.gz; do
  grep -qx "$p" "$work/L" || fail "dpkg -L moqc: no $p"
done
dpkg --root="$root" -L libmoqc0 | grep -qx "/$L/libmoqc.so.0" || fail "dpkg -L libmoqc0: no libmoqc.so.0"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' moqc | grep -q /etc/moqc/relay.conf ||
  fail "dpkg: relay.conf not registered as a conffile"
"$root/usr/bin/moqc-relay" --help | grep -q '^Usage: moqc-relay' || fail "installed moqc-relay --help"
"$root/usr/bin/moqc" --help | grep -q '^Usage: moqc' || fail "installed moqc --help"
# The installed relay on the installed config (loopback, ephemeral port, and a
# state directory of our own instead of /var/lib/moqc-relay).
"$root/usr/bin/moqc-relay" --config "$root/etc/moqc/relay.conf" --bind 127.0.0.1:0 \
  --http-bind none --tls-generate-dir "$work/state" >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
for _ in $(seq 100); do grep -q '^ready$' "$work/relay.out" && break; sleep 0.1; done
if grep -q '^ready$' "$work/relay.out" && [ -s "$work/state/cert.pem" ]; then
  kill -TERM "$relay_pid"
  wait "$relay_pid" || fail "installed relay: exit $? after SIGTERM"
else
  cat "$work/relay.err" >&2
  fail "installed relay did not start on /etc/moqc/relay.conf"
fi
relay_pid=

# ---- 4. lintian ----
lintian --tag-display-limit 0 "$lib" "$dev" "$tools" >"$work/lintian" 2>&1
grep -v 'running with root privileges' "$work/lintian" >&2 || true
grep -q '^E: ' "$work/lintian" && fail "lintian reports errors"

# ---- 5. systemd ----
unit=$root/lib/systemd/system/moqc-relay.service
mkdir -p "$work/unit"
# verify runs the unit's commands' paths and man pages: point them into the root.
sed "s|/usr/bin/moqc-relay|$root/usr/bin/moqc-relay|; s|/etc/moqc/|$root/etc/moqc/|g" "$unit" \
  >"$work/unit/moqc-relay.service"
out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$work/unit/moqc-relay.service" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify ($rc): $out"
sec=$(systemd-analyze security --offline=true --root="$root" /lib/systemd/system/moqc-relay.service 2>&1 |
      grep 'Overall exposure level')
echo "systemd-analyze security: ${sec:-no score}"
grep -qE ': [0-9.]+ (OK|SAFE)' <<<"$sec" || fail "systemd-analyze security: not OK or better"

# ---- 6. DESTDIR install + the example via pkg-config ----
dest=$work/dest
DESTDIR=$dest cmake --install "$pkgdir/build" >/dev/null || fail "cmake --install"
for p in "$L/libmoqc.so.0" "$L/pkgconfig/moqc.pc" usr/bin/moqc-relay etc/moqc/relay.conf \
         usr/share/man/man1/moqc.1.gz; do
  [ -e "$dest/$p" ] || fail "cmake --install: no $p"
done
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$dest/$L/pkgconfig
cp -r "$src/examples" "$work/examples"
make -s -C "$work/examples" CFLAGS="-O2 -Wall -Wextra -Werror" >"$work/make.log" 2>&1 ||
  { cat "$work/make.log"; fail "examples: make (pkg-config --cflags --libs moqc)"; }
if [ -x "$work/examples/pubsub" ]; then
  ldd "$work/examples/pubsub" | grep -q 'libmoqc.so.0' || fail "pubsub is not linked to libmoqc.so.0"
  LD_LIBRARY_PATH=$dest/$L timeout 30 "$work/examples/pubsub" 3 >"$work/pubsub.out" 2>&1
  grep -q 'received 3 frames' "$work/pubsub.out" || { cat "$work/pubsub.out"; fail "pubsub round trip (shared)"; }
fi
# Static libmoqc: the .pc's Requires.private / Libs.private must be complete
# (--whole-archive: every object of libmoqc.a must resolve, used or not).
reqs=$(pkg-config --print-requires-private moqc | awk '{print $1}')
# shellcheck disable=SC2046,SC2086
cc -O2 -o "$work/pubsub_static" "$src/examples/pubsub.c" $(pkg-config --cflags moqc) \
  -Wl,--whole-archive "$dest/$L/libmoqc.a" -Wl,--no-whole-archive $(pkg-config --libs-only-l --static moqc | tr ' ' '\n' |
  grep -xE -- '-l(wslay|m)' | tr '\n' ' ') $(pkg-config --libs moqc $reqs | sed 's/-lmoqc//') \
  2>"$work/static.log" || { cat "$work/static.log"; fail "pubsub: link with libmoqc.a"; }
if [ -x "$work/pubsub_static" ]; then
  timeout 30 "$work/pubsub_static" 2 | grep -q 'received 2 frames' || fail "pubsub round trip (static)"
fi

if [ "$fails" -gt 0 ]; then
  echo "FAILED: $fails check(s)"
  exit 1
fi
echo "PASS test_package ($(basename "$lib") $(basename "$dev") $(basename "$tools"))"

#!/usr/bin/env bash
# Builds the Debian packages from this tree (docs/packaging.md):
#   build/package/libmoqc0_<version>-1_<arch>.deb     libmoqc.so.0
#   build/package/libmoqc-dev_<version>-1_<arch>.deb  headers, libmoqc.a, moqc.pc
#   build/package/moqc_<version>-1_<arch>.deb         moqc-relay, moqc, unit, man pages
# A release build with Debian's hardening flags (dpkg-buildflags), prefix /usr,
# in build/package/build; CPack's DEB generator computes Depends with
# dpkg-shlibdeps. Install with: apt install ./build/package/moqc_*.deb
# MOQC_PACKAGE_DIR=DIR puts everything under DIR instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${MOQC_PACKAGE_DIR:-build/package}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-buildflags dpkg-shlibdeps cpack gzip; do
  command -v "$tool" >/dev/null || {
    echo "package.sh: $tool missing (apt-get install dpkg-dev cmake)" >&2
    exit 1
  }
done

CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS LDFLAGS
cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
      -DMOQC_BUILD_TESTS=OFF -DMOQC_WERROR=ON -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build "$out/build" -j"$(nproc)" --target moqc_shared moqc_static moqc-relay moqc \
      moqc_manpages moqc_debian_changelog
rm -f "$out"/*.deb
(cd "$out/build" && cpack -G DEB -B "$out/cpack" >/dev/null)
mv "$out"/cpack/*.deb "$out"/
ls -1 "$out"/*.deb

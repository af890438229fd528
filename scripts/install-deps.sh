#!/usr/bin/env bash
# Installs every Debian 12 package moqc needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt. Run as root (or with sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PKGS=(
  # build
  build-essential cmake pkg-config git ca-certificates
  # libraries
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev libnghttp3-dev
  libuv1-dev libjwt-gnutls-dev libwslay-dev libinih-dev libjansson-dev zlib1g-dev
  # moqc CLI media (publish/subscribe --format fmp4): FFmpeg, not linked by libmoqc
  libavformat-dev libavcodec-dev libavutil-dev ffmpeg
  # tests: cmocka, clang + compiler-rt for libFuzzer and sanitizers
  libcmocka-dev clang libclang-rt-14-dev curl iproute2 openssl
  # tests: adversarial.test_adv_soak reads the relay's live heap through gdb
  gdb
  # interop tests: a real WebTransport client
  chromium
)

# packaging (scripts/package.sh; ctest -L package runs with MOQC_TEST_PACKAGE=1)
if [ "${MOQC_TEST_PACKAGE:-0}" = 1 ]; then PKGS+=(dpkg-dev lintian systemd); fi

# Node.js + npm (only if absent: some images ship a newer Node from elsewhere).
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm  >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

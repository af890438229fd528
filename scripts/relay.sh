#!/usr/bin/env bash
# Installs dependencies, builds moqc (release), and starts moqc-relay on its
# embedded defaults: [::]:4443 UDP (raw QUIC + WebTransport) and HTTP on TCP 4443,
# with a freshly generated self-signed certificate for localhost.
# Extra arguments go to moqc-relay (see moqc-relay --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)"
exec build/release/moqc-relay "$@"

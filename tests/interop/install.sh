#!/usr/bin/env bash
# Installs the JS interop clients (pinned in package-lock.json) and bundles them for the browser.
# Idempotent and fast when nothing changed:
#   - `npm ci` only when node_modules is missing or package-lock.json/package.json changed
#     (a hash stamp is kept in node_modules/.moqc-stamp);
#   - esbuild only when the lock, build.mjs or src/ changed (stamp in dist/.moqc-stamp).
# Needs node + npm and the npm registry (first run only). Never downloads a browser:
# run.mjs drives the Debian chromium (/usr/bin/chromium) through playwright-core.
# Usage: tests/interop/install.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"

force=0
if [ "${1:-}" = "--force" ]; then force=1; fi

for tool in node npm sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "interop/install.sh: '$tool' not found (scripts/install-deps.sh installs nodejs/npm)" >&2
    exit 1
  fi
done

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

lock_hash=$(hash_of package.json package-lock.json)
if [ "$force" = 1 ] || [ ! -f node_modules/.moqc-stamp ] || [ "$(cat node_modules/.moqc-stamp)" != "$lock_hash" ]; then
  echo "interop/install.sh: npm ci" >&2
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: belt and braces, playwright-core never downloads anyway.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > node_modules/.moqc-stamp
  rm -f dist/.moqc-stamp
fi

build_hash=$(hash_of package-lock.json build.mjs src/*.js)
if [ "$force" = 1 ] || [ ! -f dist/.moqc-stamp ] || [ "$(cat dist/.moqc-stamp)" != "$build_hash" ] \
   || [ ! -f dist/lite.js ] || [ ! -f dist/net.js ] || [ ! -f dist/watch.js ] || [ ! -f dist/publish.js ] || [ ! -f dist/hang_consume.mjs ]; then
  echo "interop/install.sh: bundling dist/lite.js dist/net.js dist/watch.js" >&2
  node build.mjs
  echo "$build_hash" > dist/.moqc-stamp
fi

#!/usr/bin/env bash
# Runs every moqc test on a fresh Debian 12 machine:
#   installs packages, builds under ASan+UBSan with clang (warnings are errors),
#   builds the libFuzzer targets, installs the JS interop clients, runs ctest.
# MOQC_TEST_PACKAGE=1 also builds and checks the .deb packages (ctest label
# package, ~2 min; skipped otherwise).
# Extra arguments are passed to ctest (e.g. -L unit, -R session). Without
# arguments it also runs the ThreadSanitizer tests (build/tsan, ctest -L tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/install-deps.sh
if [ -x tests/interop/install.sh ]; then tests/interop/install.sh; fi

build=${MOQC_TEST_BUILD:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DMOQC_SANITIZE=ON -DMOQC_FUZZ=ON -DMOQC_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# The release build (gcc) must also be warning-free: it is what users run.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOQC_WERROR=ON >/dev/null
cmake --build build/release -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=report_objects=1
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@")

# ThreadSanitizer: the multi-threaded tests (ctest label tsan: the producer
# proxy, the env's command queue, moqc_uv's cross-thread wakeup) in their own
# build (TSan excludes ASan), only the targets they need. After the full suite
# (no arguments), or when asked for with MOQC_TEST_TSAN=1.
if [ $# -eq 0 ] || [ "${MOQC_TEST_TSAN:-0}" = 1 ]; then
  tsan_tests=$(sed -n 's/^set(MOQC_TSAN_TESTS \(.*\))$/\1/p' tests/CMakeLists.txt)
  cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DMOQC_TSAN=ON \
        -DMOQC_WERROR=ON >/dev/null
  # shellcheck disable=SC2086
  cmake --build build/tsan -j"$(nproc)" --target $tsan_tests
  (cd build/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L tsan --timeout 300)
fi

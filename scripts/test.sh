#!/bin/sh
# Sets everything up on a fresh Debian 12 machine, then runs the whole test
# suite (unit, integration, fuzz corpus replay, Python under LD_PRELOAD,
# format check), then the suite again in an AddressSanitizer +
# UndefinedBehaviorSanitizer build. ZMTLS_SANITIZE=0 skips the second pass.
# Exits non-zero on any failure.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 300

if [ "${ZMTLS_SANITIZE:-1}" != 0 ]; then
    echo "zmtls: sanitizer pass (ASan + UBSan)"
    BUILD_DIR="$root/build-asan" CMAKE_ARGS="-DZMTLS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" \
        "$root/scripts/setup.sh"
    cd "$root/build-asan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j2 --timeout 300
fi

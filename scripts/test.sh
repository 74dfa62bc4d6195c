#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every tier with CTest (unit,
# integration; the integration tier drops to an unprivileged user when run as root), then
# the unit tier again under AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

./scripts/deps.sh --test
[ "$(id -u)" -ne 0 ] || ./tests/system/setup.sh  # the system tier's services and apps

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300 </dev/null

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSANDBOX_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" --target unit_tests
ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit --timeout 300 </dev/null

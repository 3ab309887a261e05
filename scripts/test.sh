#!/usr/bin/env bash
# Installs the dependencies, builds with warnings as errors and runs the whole test suite; then
# builds and runs the suite again under ThreadSanitizer and under AddressSanitizer with
# UndefinedBehaviorSanitizer (what CI runs). DEDUP_SANITIZERS=0 skips the sanitizer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
cmake --preset ci
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs"

if [ "${DEDUP_SANITIZERS:-1}" != 0 ]; then
  # ThreadSanitizer's fixed shadow-memory layout clashes with the wider mmap randomization of newer
  # kernels (vm.mmap_rnd_bits above 28 fails with "unexpected memory mapping"). Its build runs
  # the test program (to list the tests), so both the build and the run go without address
  # randomization where the kernel lets setarch turn it off for us.
  no_aslr=()
  if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi
  for preset in tsan asan; do
    wrap=()
    [ "$preset" = tsan ] && wrap=("${no_aslr[@]}")
    cmake --preset "$preset"
    "${wrap[@]}" cmake --build --preset "$preset" -j "$jobs"
    "${wrap[@]}" ctest --preset "$preset" -j "$jobs"
  done
fi

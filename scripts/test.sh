#!/usr/bin/env bash
# Installs the dependencies, builds with warnings as errors and runs the whole test suite; then
# builds and runs the suite again under ThreadSanitizer and under AddressSanitizer with
# UndefinedBehaviorSanitizer, and finally builds the libFuzzer target and fuzzes for a bounded time
# (what CI runs). DEDUP_SANITIZERS=0 skips the sanitizer runs, DEDUP_FUZZ=0 the fuzz run, and
# DEDUP_FUZZ_SECONDS sets its length (90 by default).
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
    # The packaging checks (install_*, consumer_*, compile_key_member_*) build other projects and
    # find no races: the plain run above covers them.
    "${wrap[@]}" ctest --preset "$preset" -j "$jobs" \
      -E '^(install_.*|consumer_.*|compile_key_member_.*)$'
  done
fi

if [ "${DEDUP_FUZZ:-1}" != 0 ]; then
  # The fuzz target builds alone (clang, only the harness) in its own directory. The seed corpus
  # runs first as a regression test; the bounded run then works on a copy of it, so that the
  # repository is not modified, and leaves any crashing input under build/fuzz/artifacts/. Any
  # crash, leak, sanitizer report or timeout stops the script with libFuzzer's non-zero status.
  cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDEDUP_WERROR=ON -DDEDUP_BUILD_FUZZ=ON -DDEDUP_BUILD_TESTS=OFF -DDEDUP_BUILD_BENCH=OFF \
    -DDEDUP_CLI=OFF -DDEDUP_CACHE=OFF -DDEDUP_STORE=OFF -DDEDUP_INSTALL=OFF
  cmake --build build/fuzz -j "$jobs" --target dedup_fuzz_refs
  fuzzer=build/fuzz/tests/fuzz/dedup_fuzz_refs
  "$fuzzer" tests/fuzz/corpus/*
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
  cp tests/fuzz/corpus/* "$corpus/"
  mkdir -p build/fuzz/artifacts
  "$fuzzer" -max_total_time="${DEDUP_FUZZ_SECONDS:-90}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ "$corpus"
fi

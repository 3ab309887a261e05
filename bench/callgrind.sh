#!/bin/sh
# The instruction count (callgrind's Ir) of W1's reading, as one number: dedup-bench-callgrind's
# two reads of the 50,000-ref document in fresh scopes (bench/callgrind_w1.cpp), run under
# `valgrind --tool=callgrind`, counting that function and what it calls, nothing else. The count
# is deterministic: compare two versions of the reader by it (bench/RESULTS.md, callgrind driver).
#
#   bench/callgrind.sh [DRIVER [FILE]]
#
# DRIVER: the built driver, by default build/release/bench/dedup-bench-callgrind. This script
# builds nothing; build the driver first:
#   cmake --preset release && cmake --build build/release --target dedup-bench-callgrind
# FILE: a document written by `dedup demo --refs 50000 --write FILE`; by default the driver
# generates the same bytes. DEDUP_VERIFY and DEDUP_TRUSTED_INPUT change what the reader does,
# and so the count. Exits 2 when valgrind is not installed, 1 when the driver fails.
set -eu

if ! command -v valgrind >/dev/null 2>&1; then
  echo "callgrind.sh: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
driver=${1:-$root/build/release/bench/dedup-bench-callgrind}
if [ ! -x "$driver" ]; then
  echo "callgrind.sh: $driver is not built" >&2
  exit 1
fi
for flag in DEDUP_VERIFY DEDUP_TRUSTED_INPUT; do
  if [ -n "$(printenv "$flag" || true)" ]; then
    echo "callgrind.sh: $flag is set: the count is not the default reader's" >&2
  fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    --collect-atstart=no --toggle-collect='*read_twice*' \
    "$driver" ${2:+"$2"} >"$out/log" 2>&1; then
  cat "$out/log" >&2
  exit 1
fi
# With collection toggled, "totals" is what was collected: the two reads.
awk '$1 == "totals:" { print $2 }' "$out/callgrind.out"

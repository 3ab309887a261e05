#!/usr/bin/env bash
# Installs the dependencies, builds the optimized `dedup` command and runs its demo workload.
# Arguments go to `dedup demo` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target dedup_cli
exec ./build/release/dedup demo "$@"

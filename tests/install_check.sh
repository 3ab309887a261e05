#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds and runs tests/consumer against it.
set -euo pipefail
build=$1 source=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$source/tests/consumer" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
"$prefix/consumer-build/consumer"
test -x "$prefix/bin/dedup"
echo "find_package(dedup) from $prefix: built and ran the consumer"

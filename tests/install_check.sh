#!/usr/bin/env bash
# The find_package(dedup) tests (tests/CMakeLists.txt):
#   install_check.sh install BUILD PREFIX      installs the build tree into PREFIX, once
#   install_check.sh consumer PREFIX PROJECT   builds and runs the consumer PROJECT against PREFIX
# A project's check.sh, where it has one, then inspects its build directory (what was linked).
set -euo pipefail
case $1 in
install)
  build=$2 prefix=$3
  rm -rf "$prefix"
  cmake --install "$build" --prefix "$prefix" >/dev/null
  test -x "$prefix/bin/dedup"
  echo "installed into $prefix"
  ;;
consumer)
  prefix=$2 project=$3
  out="$prefix/build-$(basename "$project")"
  rm -rf "$out"
  cmake -S "$project" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$out"
  "$out/consumer"
  if [[ -f "$project/check.sh" ]]; then bash "$project/check.sh" "$out"; fi
  echo "find_package(dedup) from $prefix: built and ran $(basename "$project")"
  ;;
*)
  echo "usage: install_check.sh install BUILD PREFIX | consumer PREFIX PROJECT" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# The packaging tests (tests/CMakeLists.txt):
#   install_check.sh install BUILD PREFIX         installs the build tree into PREFIX, once
#   install_check.sh install-core SOURCE WORK     configures the core alone, with the optional
#                                                 dependencies disabled, and installs it in WORK/prefix
#   install_check.sh consumer PREFIX PROJECT [ARG...]
#                                                 builds and runs the consumer PROJECT against PREFIX
#   install_check.sh refused PREFIX PROJECT TEXT [ARG...]
#                                                 configuring PROJECT against PREFIX must fail, saying TEXT
# A consumer's check.sh, where it has one, then inspects its build directory (what was linked).
# ARGs go to the consumer's configuration (the compiler, DEDUP_COMPONENT, ...).
set -euo pipefail
case $1 in
install)
  build=$2 prefix=$3
  rm -rf "$prefix"
  cmake --install "$build" --prefix "$prefix" >/dev/null
  test -x "$prefix/bin/dedup"
  echo "installed into $prefix"
  ;;
install-core)
  source=$2 work=$3
  shift 3
  rm -rf "$work"
  mkdir -p "$work"
  quiet() { "$@" >>"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }; }
  quiet cmake -S "$source" -B "$work/build" "$@" -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON \
    -DDEDUP_CACHE=OFF -DDEDUP_STORE=OFF -DDEDUP_CLI=OFF -DDEDUP_BUILD_TESTS=OFF \
    -DDEDUP_BUILD_BENCH=OFF
  quiet cmake --build "$work/build"
  quiet cmake --install "$work/build" --prefix "$work/prefix"
  # Nothing of the parts turned off was looked for (a lookup leaves its cache entry), built or
  # installed.
  if grep -Eq '^(SQLite3_|DEDUP_LMDB_|DEDUP_HIREDIS_)' "$work/build/CMakeCache.txt"; then
    echo "configuring the core alone looked for SQLite, LMDB or hiredis" >&2
    exit 1
  fi
  for absent in bin lib/cmake/dedup/dedupCacheTargets.cmake lib/cmake/dedup/dedupStoreTargets.cmake; do
    if [[ -e "$work/prefix/$absent" ]]; then
      echo "the core alone installed $absent" >&2
      exit 1
    fi
  done
  test -f "$work/prefix/include/dedup/version.hpp"
  echo "configured and installed the core alone into $work/prefix"
  ;;
consumer)
  prefix=$2 project=$3
  shift 3
  out="$prefix/build-$(basename "$project")"
  rm -rf "$out"
  cmake -S "$project" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" "$@" >/dev/null
  cmake --build "$out"
  "$out/consumer"
  if [[ -f "$project/check.sh" ]]; then bash "$project/check.sh" "$out"; fi
  echo "built and ran $(basename "$project") against $prefix"
  ;;
refused)
  prefix=$2 project=$3 text=$4
  shift 4
  out="$prefix/build-$(basename "$project")"
  rm -rf "$out"
  if log=$(cmake -S "$project" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" "$@" 2>&1); then
    echo "configuring $(basename "$project") against $prefix succeeded; it must fail" >&2
    exit 1
  fi
  # CMake wraps a package's message: compare with the lines joined.
  if ! tr -s ' \n' '  ' <<<"$log" | grep -qF -- "$text"; then
    echo "configuring $(basename "$project") failed without saying: $text" >&2
    echo "$log" >&2
    exit 1
  fi
  echo "configuring $(basename "$project") against $prefix failed, saying: $text"
  ;;
*)
  echo "usage: install_check.sh install BUILD PREFIX | install-core SOURCE WORK [ARG...] |" \
    "consumer PREFIX PROJECT [ARG...] | refused PREFIX PROJECT TEXT [ARG...]" >&2
  exit 2
  ;;
esac

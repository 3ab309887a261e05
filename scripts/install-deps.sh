#!/usr/bin/env bash
# Installs the Debian packages dedup builds and tests with. Idempotent: packages already present
# are not fetched again, so CI and the README can call it every time.
set -euo pipefail
packages=(
  cmake g++ make git pkg-config
  libboost-dev          # Hana, Interprocess, Flyweight (header-only)
  libsimdjson-dev
  nlohmann-json3-dev
  catch2
  libxxhash-dev
  libsqlite3-dev        # the persistent cache's index (dedup::disk_cache)
  python3 python3-jsonschema  # schema validation in the tests
  clang libclang-rt-dev       # the libFuzzer target (tests/fuzz), built by scripts/test.sh
  liblmdb-dev           # shm:// shared store (LMDB in /dev/shm)
  redis-server          # redis:// shared store: the private servers its tests and bench start
  libhiredis-dev        # redis:// shared store client
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

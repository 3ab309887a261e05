#!/usr/bin/env bash
# Installs the Debian packages dedup builds and tests with. Idempotent: packages already present
# are not fetched again, so CI and the README can call it every time.
set -euo pipefail
packages=(
  cmake g++ make git pkg-config
  libboost1.81-dev      # Hana (the library's only Boost part); Flyweight, a bench peer; 1.81: the tested floor
  libboost-json1.81-dev # dedup-bench's Boost.JSON peer (bench only; the library needs headers only)
  rapidjson-dev         # dedup-bench's RapidJSON peers (headers only)
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
  libcli11-dev          # the dedup command's option parser
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian's default Boost (libboost-dev, 1.74) conflicts with 1.81: a trailing '-' asks apt-get to
# remove it in the same transaction, so a machine set up by an older version of this script ends up
# with 1.81 alone instead of stopping at the conflict.
for p in libboost-dev libboost1.74-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && missing+=("$p-")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

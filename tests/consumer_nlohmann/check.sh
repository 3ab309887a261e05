#!/usr/bin/env bash
# A consumer of dedup::nlohmann alone must not link libsimdjson: not on its link line (whatever
# the linker's --as-needed default) and not among the program's needed libraries.
set -euo pipefail
out=$1
link=$(find "$out" -name link.txt -path '*consumer.dir*')
if grep -q simdjson "$link"; then
  echo "dedup::nlohmann put simdjson on the link line: $(cat "$link")" >&2
  exit 1
fi
if readelf -d "$out/consumer" | grep -q 'NEEDED.*simdjson'; then
  echo "the consumer of dedup::nlohmann needs libsimdjson" >&2
  exit 1
fi
echo "no simdjson on the link line or among the needed libraries"

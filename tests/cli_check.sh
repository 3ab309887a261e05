#!/usr/bin/env bash
# End-to-end checks of the dedup command: help, usage errors, and the demo's figures.
set -euo pipefail
dedup=$1
fail() { echo "FAIL: $*"; exit 1; }

"$dedup" --help | grep -q "usage: dedup <command>" || fail "dedup --help"
"$dedup" demo --help | grep -q -- "--refs N" || fail "dedup demo --help"
set +e
"$dedup" demo --refs lots 2>/tmp/dedup-cli-err.$$; status=$?
set -e
[ "$status" -eq 2 ] || fail "a bad option should exit 2, got $status"
grep -q "needs a whole number" /tmp/dedup-cli-err.$$ || fail "a bad option should say why"
rm -f /tmp/dedup-cli-err.$$

# In a scope, every object is built once: objects built == distinct objects; without, far more.
for backend in simdjson nlohmann; do
"$dedup" demo --refs 4000 --backend $backend --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["in_scope"]["objects_built"] == r["distinct_objects"], r
assert r["without_scope"]["objects_built"] > 5 * r["in_scope"]["objects_built"], r
assert r["without_scope"]["retained_bytes"] > 3 * r["in_scope"]["retained_bytes"], r
'
done
"$dedup" demo --refs 500 | grep -q "in a dedup::scope" || fail "demo table"

# dedup load reads what dedup demo --write writes, as NDJSON and as a {"refs": [...]} document,
# with one and with several threads, and finds the workload's sharing.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$dedup" load --help | grep -q -- "--threads N" || fail "dedup load --help"
"$dedup" demo --refs 3000 --write "$dir/refs.ndjson" > /dev/null
"$dedup" demo --refs 3000 --write "$dir/refs.json" > /dev/null
for file in refs.ndjson refs.json; do
  for threads in 1 3; do
    "$dedup" load "$dir/$file" --threads $threads --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
t = r["types"]
assert r["refs"] == 3000 and r["skipped"] == 0, r
assert t["DatasetType"]["lookups"] == 3000 and t["DatasetType"]["distinct"] == 40, r
assert t["DataCoordinate"]["lookups"] == 3000, r
assert 0 < t["DataCoordinate"]["distinct"] < 3000, r
' || fail "dedup load $file --threads $threads"
  done
done
"$dedup" load "$dir/refs.json" | grep -q "DimensionRecord" || fail "dedup load table"
printf '{"refs": [{"id": 1}]}' > "$dir/bad.json"
set +e
"$dedup" load "$dir/bad.json" 2> "$dir/err"; status=$?
set -e
[ "$status" -eq 1 ] || fail "a bad ref should exit 1, got $status"
grep -q "record 0 (byte 10), at /refs/0/id" "$dir/err" || fail "a bad ref should be located: $(cat "$dir/err")"
echo "cli: 10 passed, 0 failed"

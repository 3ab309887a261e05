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
echo "cli: 6 passed, 0 failed"

#!/usr/bin/env bash
# `dedup demo --write FILE --compact` and `dedup load` of what it writes: a compact
# stream read by the parallel reader, a compact document read whole, both to the same refs and
# the same sharing as the plain file; a broken reference named by file, record and pointer.
set -euo pipefail
dedup=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$dedup" demo --refs 2000 --write "$dir/plain.ndjson" > /dev/null
"$dedup" demo --refs 2000 --write "$dir/c.ndjson" --compact | grep -q "a compact stream" ||
  fail "demo --compact .ndjson writes a compact stream"
"$dedup" demo --refs 2000 --write "$dir/c.json" --compact | grep -q "a compact document" ||
  fail "demo --compact .json writes a compact document"
head -n 1 "$dir/c.ndjson" | grep -qx '{"dedup":"compact","version":1}' || fail "stream header"
plain=$(stat -c %s "$dir/plain.ndjson")
for f in c.ndjson c.json; do
  size=$(stat -c %s "$dir/$f")
  [ $((size * 4)) -lt "$plain" ] || fail "$f ($size bytes) should be far smaller than $plain"
done

# What the writer wrote is what schemas/compact.schema.json describes; a reference with another
# member beside it is not.
/usr/bin/python3 - "$(dirname "$0")/../schemas/compact.schema.json" "$dir" <<'PY' || fail "schema"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
d = sys.argv[2]
whole = jsonschema.Draft202012Validator(schema)
record = jsonschema.Draft202012Validator({k: v for k, v in schema.items() if k != "oneOf"} | {"$ref": "#/$defs/value"})
document = json.load(open(f"{d}/c.json"))
whole.validate(document)
lines = open(f"{d}/c.ndjson").read().splitlines()
whole.validate(json.loads(lines[0]))
for line in lines[1:]:
    record.validate(json.loads(line))
assert '{"$ref":' in open(f"{d}/c.json").read()
bad = json.loads(lines[2])
bad["datasetType"] = {"$ref": 0, "name": "calexp"}
assert not record.is_valid(bad), "a $ref with another member must not validate"
assert not whole.is_valid({**document, "version": 2}), "version 2 must not validate"
PY

"$dedup" load "$dir/plain.ndjson" --json > "$dir/plain.figures"
check() {  # one load: the plain file's refs and distinct instances per type, in the format named
  /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
plain = json.load(open(sys.argv[2]))
assert r["refs"] == plain["refs"] == 2000, r
assert r["files"][0]["format"] == sys.argv[1], r["files"][0]
for name in ("DatasetType", "DataCoordinate", "DimensionRecord", "istring"):
    assert r["types"][name]["distinct"] == plain["types"][name]["distinct"], (name, r, plain)
assert r["types"]["DatasetType"]["distinct"] == 40, r
' "$1" "$dir/plain.figures"
}
"$dedup" load "$dir/c.ndjson" --threads 3 --json | check "a compact stream" ||
  fail "load of a compact stream"
"$dedup" load "$dir/c.json" --json | check "a compact document" || fail "load of a compact document"

set +e
"$dedup" demo --compact > /dev/null 2> "$dir/err"; status=$?
set -e
[ "$status" -eq 2 ] || fail "demo --compact without --write should be a usage error, got $status"
grep -q -- "--compact requires --write" "$dir/err" || fail "demo --compact alone: $(cat "$dir/err")"
"$dedup" demo --refs=40 --write="$dir/eq.ndjson" --compact --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["format"] == "a compact stream" and r["refs"] == 40 and r["bytes"] > 0, r
' || fail "demo --write=F --compact --json"
head -n 1 "$dir/eq.ndjson" | grep -qx '{"dedup":"compact","version":1}' || fail "--write=F --compact"

# A reference to an id no earlier record defined: an error at its file, record and pointer.
{ head -n 1 "$dir/c.ndjson"; echo '{"id":"c15c0289-ec2d-4a91-8e56-971cde355897","datasetType":{"$ref":7},"dataId":{"$ref":8},"run":"r","component":null}'; } > "$dir/bad.ndjson"
set +e
"$dedup" load "$dir/bad.ndjson" 2> "$dir/err" > /dev/null; status=$?
set -e
[ "$status" -eq 1 ] || fail "load of a bad reference should exit 1, got $status"
grep -q 'bad.ndjson as a compact stream: record 1 .*/datasetType/\$ref: \$ref 7 names an id not defined before it' "$dir/err" ||
  fail "bad reference message: $(cat "$dir/err")"
# Two compact streams concatenated: each header starts its own ids, so the second stream's refs
# never take the first one's objects, even when skipping bad records. Read as one file, the refs
# are those of the two files read one after the other, with the same distinct objects.
"$dedup" demo --refs 300 --types 5 --write "$dir/a.ndjson" --compact > /dev/null
"$dedup" demo --refs 500 --types 40 --write "$dir/b.ndjson" --compact > /dev/null
cat "$dir/a.ndjson" "$dir/b.ndjson" > "$dir/ab.ndjson"
"$dedup" load "$dir/a.ndjson" "$dir/b.ndjson" --json > "$dir/two.figures"
"$dedup" load "$dir/ab.ndjson" --skip-bad --threads 3 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
two = json.load(open(sys.argv[1]))
assert r["refs"] == two["refs"] == 800 and r["skipped"] == 0, r
for name in ("DatasetType", "DataCoordinate", "DimensionRecord", "istring"):
    assert r["types"][name]["distinct"] == two["types"][name]["distinct"], (name, r, two)
' "$dir/two.figures" || fail "load of two concatenated compact streams"
# A header that cannot be read in the middle stops the read, whatever --skip-bad says.
{ cat "$dir/a.ndjson"; echo '{"dedup":"compact","version":2}'; tail -n +2 "$dir/b.ndjson"; } > "$dir/bad2.ndjson"
set +e
"$dedup" load "$dir/bad2.ndjson" --skip-bad 2> "$dir/err" > /dev/null; status=$?
set -e
[ "$status" -eq 1 ] || fail "a bad header in the middle should exit 1, got $status"
grep -q 'record 301 .*/version: unsupported compact version' "$dir/err" ||
  fail "bad header message: $(cat "$dir/err")"
echo "compact: all checks passed"

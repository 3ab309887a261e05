#!/usr/bin/env bash
# End-to-end checks of `dedup analyze`: repeats found by pattern whatever the member order, key
# candidates and the wrong-key warning, every input layout, and errors.
set -euo pipefail
dedup=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Three distinct types over four items (the fourth repeats the first with its members reordered):
# name alone would merge calexp/ExposureF with calexp/ExposureI, so the key needs both members.
items='{"type":{"name":"calexp","storageClass":"ExposureF"},"n":1}
{"type":{"name":"calexp","storageClass":"ExposureI"},"n":2}
{"type":{"name":"raw","storageClass":"ExposureF"},"n":3}
{"type":{"storageClass":"ExposureF","name":"calexp"},"n":4}'
printf '%s\n' "$items" > "$dir/items.ndjson"
{ printf '{"items":['; printf '%s\n' "$items" | paste -sd, -; printf ']}\n'; } > "$dir/items.json"
{ printf '['; printf '%s\n' "$items" | paste -sd, -; printf ']\n'; } > "$dir/array.json"
{ printf '{"version":1,"items":['; printf '%s\n' "$items" | paste -sd, -; printf ']}\n'; } > "$dir/version.json"
{ printf '{"items":['; printf '%s\n' "$items" | paste -sd, -; printf '],"more":[1]}\n'; } > "$dir/more.json"
cp "$dir/items.ndjson" "$dir/lines.txt"

check() {  # file, expected pattern, expected format, extra options
  "$dedup" analyze "$1" --json $4 | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
t = p[sys.argv[1]]
assert r["format"] == sys.argv[2], r["format"]
assert (t["occurrences"], t["distinct"]) == (4, 3), t
assert t["key"] == ["name", "storageClass"], t
assert t["warning"].startswith("keying on \"name\" alone would merge 1 distinct value"), t
assert 0 < t["saved_bytes"] < t["bytes"] and r["saved_bytes"] >= t["saved_bytes"], (t, r)
' "$2" "$3" || fail "analyze $1"
}
check "$dir/items.ndjson" "/*/type" "NDJSON" ""
check "$dir/lines.txt" "/*/type" "NDJSON" "--ndjson"
check "$dir/items.json" "/items/*/type" "a JSON document, array at /items" ""
check "$dir/array.json" "/*/type" "a JSON document, top-level array" ""
check "$dir/version.json" "/items/*/type" "a JSON document" ""
check "$dir/more.json" "/items/*/type" "a JSON document" ""

# The table names the pattern, its key and the warning.
out=$("$dedup" analyze "$dir/items.json")
grep -q '^/items/\*/type  *4  *3 .* name, storageClass$' <<<"$out" || fail "table row: $out"
grep -q 'keying on "name" alone would merge' <<<"$out" || fail "table warning: $out"
[ "$("$dedup" analyze "$dir/items.json" --top 1 --json |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["patterns"]))')" = 1 ] ||
  fail "--top 1"

# The reference workload: 40 dataset types keyed by name, and its data coordinates.
"$dedup" demo --refs 3000 --write "$dir/refs.json" > /dev/null
"$dedup" analyze "$dir/refs.json" --top 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
t = p["/refs/*/datasetType"]
assert (t["occurrences"], t["distinct"], t["key"]) == (3000, 40, ["name"]), t
assert p["/refs/*/dataId"]["occurrences"] == 3000, p["/refs/*/dataId"]
' || fail "analyze the demo workload"

# Repeats found by their exact bytes count as repeats found by a walk: the same workload with every
# record spaced out differently (no two repeats alike byte for byte) gives the same report. Records
# spaced alternately also mix both ways of finding a repeat in one file.
"$dedup" demo --refs 2000 --write "$dir/refs.ndjson" > /dev/null
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
lines = open(f"{d}/refs.ndjson").read().splitlines()
with open(f"{d}/spaced.ndjson", "w") as out:  # each record spaced its own way
    for i, line in enumerate(lines):
        out.write(json.dumps(json.loads(line), indent=None, separators=(", " + " " * (i % 7), ": ")) + "\n")
with open(f"{d}/mixed.ndjson", "w") as out:  # every other record as written
    for i, line in enumerate(lines):
        out.write((line if i % 2 else json.dumps(json.loads(line))) + "\n")
PY
for f in refs spaced mixed; do
  "$dedup" analyze "$dir/$f.ndjson" --top 0 --json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps([r["patterns"], r["saved_bytes"], r["bytes"]]))' > "$dir/$f.report"
done
cmp -s "$dir/refs.report" "$dir/spaced.report" || fail "a spaced-out copy reports otherwise"
cmp -s "$dir/refs.report" "$dir/mixed.report" || fail "a half spaced-out copy reports otherwise"
grep -q '"distinct": 40' "$dir/refs.report" || fail "the dataset types: $(head -c 300 "$dir/refs.report")"

# Bad input: a malformed record names its place; a missing file and a directory are errors.
printf '{"a":1}\n{"a":}\n' > "$dir/bad.ndjson"
set +e
"$dedup" analyze "$dir/bad.ndjson" 2> "$dir/err"; status=$?
set -e
[ "$status" -eq 1 ] && grep -q "record 1 (byte 8)" "$dir/err" || fail "bad record: $(cat "$dir/err")"
set +e
"$dedup" analyze "$dir/none.json" 2> "$dir/err"; s1=$?
"$dedup" analyze "$dir" 2>> "$dir/err"; s2=$?
"$dedup" analyze 2>> "$dir/err"; s3=$?
set -e
[ "$s1" -eq 1 ] && [ "$s2" -eq 1 ] && [ "$s3" -eq 2 ] || fail "errors: $s1 $s2 $s3 $(cat "$dir/err")"
grep -q "no such file" "$dir/err" && grep -q "is a directory" "$dir/err" || fail "$(cat "$dir/err")"
echo "analyze: all checks passed"

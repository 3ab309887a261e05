#!/usr/bin/env bash
# `dedup load` over many files and directories: files in order, one scope across all,
# so a file whose objects an earlier file built finds them all; per-file and total figures; errors
# name the file, the record and the pointer.
set -euo pipefail
dedup=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$dedup" load --help | grep -q "FILE|DIR..." || fail "load --help names several files"
"$dedup" demo --refs 600 --write "$dir/a.ndjson" > /dev/null
"$dedup" demo --refs 600 --write "$dir/b.json" > /dev/null
cp "$dir/a.ndjson" "$dir/c.jsonl"
echo "not refs" > "$dir/notes.txt"

# The same refs three times, in two formats: the later files add nothing, every lookup is a hit.
check_three() {
  /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
f = r["files"]
assert [x["file"].rsplit("/", 1)[1] for x in f] == ["a.ndjson", "b.json", "c.jsonl"], f
assert r["refs"] == 1800 and [x["refs"] for x in f] == [600, 600, 600], r
assert "file" not in r, r
t = r["types"]
assert t["DatasetType"]["lookups"] == 1800 and t["DatasetType"]["distinct"] == 40, r
first = f[0]["types"]
assert first["DatasetType"]["new"] == 40 and first["DataCoordinate"]["new"] > 0, f[0]
for later in f[1:]:
    for name in ("DatasetType", "DataCoordinate", "istring"):
        ty = later["types"][name]
        assert ty["new"] == 0 and ty["lookups"] > 0 and ty["hits"] == ty["lookups"], (name, later)
assert sum(x["types"]["DataCoordinate"]["new"] for x in f) == t["DataCoordinate"]["distinct"], r
assert f[0]["format"] == "NDJSON" and f[1]["format"].startswith("a JSON document"), f
'
}
"$dedup" load "$dir/a.ndjson" "$dir/b.json" "$dir/c.jsonl" --threads 2 --json | check_three ||
  fail "load of three files"
"$dedup" load "$dir" --threads 3 --json | check_three || fail "load of a directory"
# Options between the files, in either spelling; --help after them prints the help only.
"$dedup" load "$dir/a.ndjson" --threads=2 "$dir/b.json" --json "$dir/c.jsonl" | check_three ||
  fail "options between the files"
"$dedup" load "$dir/a.ndjson" "$dir/b.json" --help | head -n 1 |
  grep -qx "usage: dedup load \[options\] FILE|DIR\.\.\." || fail "load FILE... --help"
"$dedup" load "$dir" --threads 1 > "$dir/out"
grep -q "1800 refs from 3 files" "$dir/out" || fail "total line: $(cat "$dir/out")"
grep -q "b.json: 600 refs .* DatasetType 0/600" "$dir/out" || fail "per-file line: $(cat "$dir/out")"
grep -q "^DatasetType  *1800  *40 " "$dir/out" || fail "total table: $(cat "$dir/out")"

# One file alone keeps its single-file output, with one entry in "files".
"$dedup" load "$dir/a.ndjson" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["file"].endswith("a.ndjson") and r["refs"] == 600 and len(r["files"]) == 1, r
' || fail "one file"

# An error names the file, the record and the pointer, after the earlier files were read.
mkdir "$dir/bad"
printf '{"id": 1}\n' > "$dir/bad/z.ndjson"
set +e
"$dedup" load "$dir/a.ndjson" "$dir/bad" 2> "$dir/err" > /dev/null; status=$?
set -e
[ "$status" -eq 1 ] || fail "a bad file should exit 1, got $status"
grep -q "reading .*bad/z.ndjson as NDJSON: record 0 (byte 0), at /id" "$dir/err" ||
  fail "error location: $(cat "$dir/err")"
mkdir "$dir/none"
set +e
"$dedup" load "$dir/none" 2> "$dir/err" > /dev/null; status=$?
set -e
[ "$status" -eq 1 ] || fail "an empty directory should exit 1, got $status"
grep -q "holds no \*.json, \*.ndjson or \*.jsonl file" "$dir/err" || fail "empty dir: $(cat "$dir/err")"
echo "load_many_check: ok"

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
for top in "--top 1" "--top=1"; do
  "$dedup" analyze "$dir/items.json" $top --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert set(r) == {"file", "format", "records", "bytes", "saved_bytes", "reference_bytes",
                  "seconds", "peak_rss_bytes", "patterns"}, r
assert len(r["patterns"]) == 1, r
assert set(r["patterns"][0]) == {"pattern", "occurrences", "distinct", "bytes", "saved_bytes",
                                 "objects", "map", "key", "warning"}, r
' || fail "analyze $top --json"
done
# Options before the file, --help after it, a bad --top and an unknown option.
"$dedup" analyze --ndjson --json "$dir/lines.txt" > /dev/null || fail "options before the file"
"$dedup" analyze "$dir/items.json" --top 3 --help | head -n 1 | grep -qx "usage: dedup analyze \[options\] FILE" ||
  fail "analyze FILE --help"
for bad in "--top=lots" "--top" "--frobnicate"; do
  set +e
  "$dedup" analyze "$dir/items.json" $bad 2> "$dir/err"; status=$?
  set -e
  [ "$status" -eq 2 ] && grep -q "Run 'dedup analyze --help'" "$dir/err" ||
    fail "analyze $bad should exit 2: $status $(cat "$dir/err")"
done

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

# A map keyed by ids (an object with many differently named members of one shape) is one pattern:
# its members collapse into `*`, so the sponsors of 100 events repeat as /*/sponsor, with their key
# and warning, and the warning names real pointers. A map inside records (few members each, many
# names over all records) collapses too; an object of differently shaped members does not.
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
sponsors = [{"name": n, "country": c} for n, c in
            [("acme", "fr"), ("acme", "de"), ("bolt", "fr"), ("core", "it"), ("dyna", "es"),
             ("echo", "fr"), ("flux", "nl")]]
events = {str(138586341 + 7 * i): {"id": 138586341 + 7 * i, "title": f"event {i}",
                                   "sponsor": sponsors[i % 7]} for i in range(100)}
json.dump(events, open(f"{d}/map.json", "w"))
with open(f"{d}/votes.ndjson", "w") as out:
    for i in range(60):
        votes = {f"u{(i * 3 + k) % 200}": {"score": (i + k) % 4, "by": "web"} for k in range(3)}
        out.write(json.dumps({"n": i, "votes": votes}) + "\n")
with open(f"{d}/shapes.ndjson", "w") as out:
    for i in range(40):
        cfg = {f"s{j}": {f"f{j}": j, f"g{j}": "x" * j} for j in range(20)}
        out.write(json.dumps({"n": i, "cfg": cfg}) + "\n")
PY
"$dedup" analyze "$dir/map.json" --top 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
t = p.get("/*/sponsor")
assert t and (t["occurrences"], t["distinct"]) == (100, 7), r["patterns"]
assert t["key"] == ["name", "country"], t
assert t["warning"].startswith("keying on \"name\" alone would merge 1 distinct value"), t
assert "/138586341/sponsor and /138586348/sponsor" in t["warning"], t
assert r["saved_bytes"] == t["saved_bytes"] > 0, r
assert not any(x["pattern"].startswith("/1") for x in r["patterns"]), r["patterns"]
' || fail "a map keyed by ids"
out=$("$dedup" analyze "$dir/map.json")
grep -q '^/\*/sponsor  *100  *7 .* name, country$' <<<"$out" || fail "map table row: $out"
"$dedup" analyze "$dir/votes.ndjson" --top 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
t = p.get("/*/votes/*")
assert t and (t["occurrences"], t["distinct"], t["key"]) == (180, 4, ["score"]), r["patterns"]
assert not any("/u" in x["pattern"] for x in r["patterns"]), r["patterns"]
' || fail "a map inside records"
"$dedup" analyze "$dir/shapes.ndjson" --top 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
assert "/*/cfg/s3" in p and "/*/cfg/*" not in p, list(p)
assert (p["/*/cfg"]["occurrences"], p["/*/cfg"]["distinct"]) == (40, 1), p["/*/cfg"]
' || fail "an object of differently shaped members"

# Keys and the wrong-key warning look at every member: in records of 33 members, the one that tells
# most of them apart is the last, and the key pairs it with the first.
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
with open(f"{sys.argv[1]}/wide.ndjson", "w") as out:
    for i in list(range(60)) * 2:
        rec = {f"m{j:02}": f"v{i % 3}" for j in range(32)}
        rec["m32"] = f"w{i // 2}"
        out.write(json.dumps(rec) + "\n")
PY
"$dedup" analyze "$dir/wide.ndjson" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
t = {x["pattern"]: x for x in r["patterns"]}["/*"]
assert (t["occurrences"], t["distinct"]) == (120, 60), t
assert t["key"] == ["m00", "m32"], t
assert t["warning"].startswith("keying on \"m32\" alone would merge 30 distinct values"), t
' || fail "33-member records"

# Empty arrays and objects count: `tags` is [] in 88 of 100 records, `meta` is always {} and `none`
# always [].
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
with open(f"{sys.argv[1]}/empty.ndjson", "w") as out:
    full = [i for i in range(100) if i % 25 in (1, 3, 5)]  # 12 records, 11 distinct tags
    for i in range(100):
        tags = [f"t{min(full.index(i), 10)}"] if i in full else []
        out.write(json.dumps({"n": i, "tags": tags, "meta": {}, "none": []}) + "\n")
PY
"$dedup" analyze "$dir/empty.ndjson" --top 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["pattern"]: x for x in r["patterns"]}
assert "/*/tags" in p and (p["/*/tags"]["occurrences"], p["/*/tags"]["distinct"]) == (100, 12), p
assert "/*/meta" in p and (p["/*/meta"]["occurrences"], p["/*/meta"]["distinct"]) == (100, 1), p
assert p["/*/meta"]["objects"] and p["/*/meta"]["saved_bytes"] == 0, p["/*/meta"]
assert "/*/none" in p and (p["/*/none"]["occurrences"], p["/*/none"]["distinct"]) == (100, 1), p
' || fail "empty arrays and objects"

# A byte-order mark before a whole document, or before a later record, is named as such.
printf '\xEF\xBB\xBF{"a":[1]}\n' > "$dir/bom.json"
printf '{"a":1}\n\xEF\xBB\xBF{"a":2}\n' > "$dir/bom_later.ndjson"
for f in bom.json bom_later.ndjson; do
  set +e
  "$dedup" analyze "$dir/$f" 2> "$dir/err"; status=$?
  set -e
  [ "$status" -eq 1 ] && grep -q "byte-order mark before the document" "$dir/err" ||
    fail "$f: $(cat "$dir/err")"
done

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

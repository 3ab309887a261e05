#!/usr/bin/env bash
# End-to-end checks of the dedup command: help, usage errors, and the demo's figures.
set -euo pipefail
dedup=$1
fail() { echo "FAIL: $*"; exit 1; }

# The top-level help describes every command and the exit statuses; each command has its own.
"$dedup" --help > /tmp/dedup-cli-out.$$ || fail "dedup --help should exit 0"
for word in "usage: dedup" "  demo " "  load " "  analyze " "  cache " "  store " "exit status" \
  "2  usage"; do
  grep -q -- "$word" /tmp/dedup-cli-out.$$ || fail "dedup --help should say '$word': $(cat /tmp/dedup-cli-out.$$)"
done
[ "$("$dedup" help)" = "$(cat /tmp/dedup-cli-out.$$)" ] || fail "dedup help should print dedup --help"
"$dedup" demo --help | grep -q -- "--refs N" || fail "dedup demo --help"
set +e
"$dedup" demo --refs lots 2>/tmp/dedup-cli-err.$$; status=$?
set -e
[ "$status" -eq 2 ] || fail "a bad option should exit 2, got $status"
grep -q "needs a whole number" /tmp/dedup-cli-err.$$ || fail "a bad option should say why"
rm -f /tmp/dedup-cli-err.$$ /tmp/dedup-cli-out.$$

# --version prints the version CMake configured the project with, which no source repeats. The
# version comes from DEDUP_VERSION when set, else from the CMake cache of the build that holds the
# command (the top-level project being dedup).
version=${DEDUP_VERSION:-}
if [ -z "$version" ]; then
  cache="$(dirname "$dedup")/CMakeCache.txt"
  [ -f "$cache" ] && grep -qx 'CMAKE_PROJECT_NAME:STATIC=dedup' "$cache" ||
    fail "no dedup CMakeCache.txt beside $dedup: set DEDUP_VERSION to the expected version"
  version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$cache")
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "no project version found ('$version')"
[ "$("$dedup" --version)" = "dedup $version" ] || fail "dedup --version: $("$dedup" --version), not $version"
sources="$(dirname "$0")/../src/cli"
! grep -nE '"[^"]*[0-9]+\.[0-9]+\.[0-9]+' "$sources"/*.cpp "$sources"/*.hpp ||
  fail "a version string is written in the command's sources"

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
grep -q "reading .*bad.json as a JSON document, array at /refs" "$dir/err" ||
  fail "an error should name the format: $(cat "$dir/err")"

# Usage errors point at the subcommand's help; --threads is bounded.
expect_usage() {
  set +e
  "$dedup" "$@" 2> "$dir/err"; status=$?
  set -e
  [ "$status" -eq 2 ] || fail "$* should exit 2, got $status"
}
expect_usage load "$dir/refs.json" --threads 99999999999
grep -q -- "--threads: must be 1 to 1024" "$dir/err" || fail "--threads bound: $(cat "$dir/err")"
grep -q "Run 'dedup load --help'" "$dir/err" || fail "load usage hint: $(cat "$dir/err")"
expect_usage demo --refs lots
grep -q "Run 'dedup demo --help'" "$dir/err" || fail "demo usage hint: $(cat "$dir/err")"
# An unknown option or command, a missing argument or a bad value is a usage error (status 2) on
# every command, the hint naming the command the parser had reached.
expect_usage --frobnicate
expect_usage frobnicate
grep -q "Run 'dedup --help'" "$dir/err" || fail "unknown command hint: $(cat "$dir/err")"
expect_usage demo --frobnicate
expect_usage demo --refs
expect_usage demo --types 41
expect_usage demo --backend rapidjson
expect_usage load "$dir/refs.json" --frobnicate
expect_usage load
expect_usage analyze "$dir/refs.json" --top=-1
expect_usage store stats shm://cli-check-none --frobnicate
expect_usage store
grep -q "Run 'dedup store --help'" "$dir/err" || fail "store usage hint: $(cat "$dir/err")"
expect_usage store frobnicate shm://cli-check-none
grep -q "unknown command 'frobnicate' (stats, keys, clear, destroy)" "$dir/err" ||
  fail "store with an unknown command: $(cat "$dir/err")"
expect_usage cache ls "$dir" --tag
grep -q "Run 'dedup cache ls --help'" "$dir/err" || fail "cache ls usage hint: $(cat "$dir/err")"

# Options take their value as --opt=value as well as --opt value.
"$dedup" demo --refs=300 --types=7 --backend=nlohmann --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["refs"] == 300 and r["backend"] == "nlohmann", r
assert set(r) == {"backend", "refs", "json_bytes", "distinct_objects", "without_scope", "in_scope"}, r
for part in ("without_scope", "in_scope"):
    assert set(r[part]) == {"objects_built", "retained_bytes", "seconds"}, r
' || fail "demo --refs=300 --backend=nlohmann"
"$dedup" demo --refs=20 --write="$dir/eq.ndjson" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["refs"] == 20 and r["format"] == "NDJSON" and r["file"].endswith("eq.ndjson"), r
assert r["bytes"] > 0, r
' || fail "demo --write= --json"
[ "$(wc -l < "$dir/eq.ndjson")" -eq 20 ] || fail "demo --write=FILE"
"$dedup" load "$dir/eq.ndjson" --threads=2 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["refs"] == 20 and r["threads"] <= 2, r
assert set(r) == {"file", "refs", "skipped", "bytes", "threads", "seconds", "retained_bytes",
                  "peak_rss_bytes", "lookups_include_skipped", "types", "files"}, r
assert set(r["types"]) == {"DatasetRef", "DatasetType", "DataCoordinate", "DimensionRecord",
                           "istring"}, r
assert set(r["types"]["DatasetType"]) == {"lookups", "distinct"}, r
assert set(r["files"][0]) == {"file", "format", "refs", "skipped", "bytes", "seconds", "types"}, r
assert set(r["files"][0]["types"]["istring"]) == {"lookups", "hits", "new"}, r
' || fail "load --threads=2"

# --help anywhere prints that command's help and exits 0, whatever else the line holds.
expect_help() {  # expected first line, then the command line
  local first=$1
  shift
  "$dedup" "$@" > "$dir/out" 2> "$dir/err" || fail "$* should exit 0: $(cat "$dir/err")"
  [ "$(head -n 1 "$dir/out")" = "$first" ] || fail "$*: $(head -n 3 "$dir/out")"
}
expect_help "usage: dedup demo [options]" demo --refs 10 --json --help
expect_help "usage: dedup load [options] FILE|DIR..." load "$dir/refs.json" --threads 2 --help
expect_help "usage: dedup load [options] FILE|DIR..." load --help
expect_help "usage: dedup analyze [options] FILE" analyze "$dir/refs.json" -h
expect_help "usage: dedup store keys [options] URI" store keys shm://cli-check-none --help
expect_help "usage: dedup store [options] COMMAND" store --help
expect_help "usage: dedup cache stats [options] [DIR]" cache --help stats
expect_help "usage: dedup cache ls [options] [DIR]" cache ls "$dir" --tag B --help

# demo --refs 0: figures, no nan or inf; distinct objects are counted.
"$dedup" demo --refs 0 > "$dir/out"
! grep -qi "nan\|inf" "$dir/out" || fail "demo --refs 0: $(cat "$dir/out")"
"$dedup" demo --refs 0 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["distinct_objects"] == 0 and r["in_scope"]["objects_built"] == 0, r
'

# The writer and the reader agree on formats, found from the content; errors name the format.
"$dedup" demo --refs 30 --write "$dir/refs.jsonl" | grep -q "NDJSON" || fail "demo --write .jsonl"
[ "$(wc -l < "$dir/refs.jsonl")" -eq 30 ] || fail "a .jsonl file holds one ref a line"
"$dedup" demo --refs 30 --write "$dir/small.json" > /dev/null
sed 's/^{"refs"/{"version":1,"refs"/' "$dir/small.json" > "$dir/versioned.txt"
cp "$dir/small.json" "$dir/document.ndjson"
# The member name is decoded as the reader decodes it: an escaped "refs" is "refs".
sed 's/^{"refs"/{"meta":{"refs":"no"},"r\\u0065fs"/' "$dir/small.json" > "$dir/escaped.json"
for file in refs.jsonl versioned.txt document.ndjson escaped.json; do
  "$dedup" load "$dir/$file" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["refs"] == 30 and r["types"]["istring"]["lookups"] == 30, r
' || fail "dedup load $file"
done
printf '{"version":1,"refs":[]} {' > "$dir/junk.json"
expect_fail() {
  set +e
  "$dedup" load "$@" 2> "$dir/err" > /dev/null; status=$?
  set -e
  [ "$status" -eq 1 ] || fail "load $* should exit 1, got $status"
}
expect_fail "$dir/junk.json"
grep -q "as a JSON document, array at /refs: .*content after the document" "$dir/err" ||
  fail "junk after a document: $(cat "$dir/err")"
printf '{"id": 1}\n' > "$dir/bad.txt"
expect_fail "$dir/bad.txt"
grep -q "reading .*bad.txt as NDJSON: record 0" "$dir/err" || fail "NDJSON error: $(cat "$dir/err")"
printf '[][]' > "$dir/twice.json"
expect_fail "$dir/twice.json"
printf ' ' > "$dir/blank.json"
expect_fail "$dir/blank.json"
grep -q "empty input" "$dir/err" || fail "a blank .json file: $(cat "$dir/err")"
mkdir "$dir/no-refs"
expect_fail "$dir/no-refs"
grep -q "holds no" "$dir/err" || fail "load DIR without files: $(cat "$dir/err")"

# An empty NDJSON file is zero records, said so; memory is measured without the reader.
: > "$dir/empty.ndjson"
"$dedup" load "$dir/empty.ndjson" --threads 4 | grep -q "0 refs .*holds no records\|holds no records" ||
  fail "an empty NDJSON file should say it holds no records"
"$dedup" load "$dir/empty.ndjson" --threads 64 --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["refs"] == 0 and r["retained_bytes"] < 65536, r
' || fail "an empty file retains (next to) nothing"

# Singular forms, and --skip-bad says its lookups include the skipped refs'.
head -n 1 "$dir/refs.jsonl" > "$dir/one.ndjson"
"$dedup" load "$dir/one.ndjson" --threads 1 | grep -q "1 ref from .* with 1 thread in" ||
  fail "singular forms: $("$dedup" load "$dir/one.ndjson" --threads 1)"
printf '{"id": 1}\n' >> "$dir/one.ndjson"
"$dedup" load "$dir/one.ndjson" --skip-bad | grep -q "skipped 1 ref that failed to parse; the lookups" ||
  fail "--skip-bad note"

# dedup store: stats, keys, clear and destroy of an shm store the store's worker fills
# (DEDUP_STORE_WORKER, set by ctest); reading commands create nothing; a damaged store is reported
# as such by clear and removed by destroy; a bad URI and a dead server exit 1 with the reason; a
# bad command line exits 2.
store_worker=${DEDUP_STORE_WORKER:?the cli checks need DEDUP_STORE_WORKER (set by ctest)}
store="shm://cli-check-$$"
store_dir="/dev/shm/dedup-store-cli-check-$$"
"$store_worker" ops "$store" 0 20 4 > /dev/null || fail "store worker"
"$dedup" store stats "$store" | grep -q "^capacity_bytes " || fail "dedup store stats"
[ -n "$("$dedup" store keys "$store")" ] || fail "dedup store keys of a filled store"
"$dedup" store stats "$store" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert set(r) == {"uri", "entries", "value_bytes", "capacity_bytes", "evictions", "refusals"}, r
assert r["uri"] == sys.argv[1] and r["entries"] > 0 and r["capacity_bytes"] > 0, r
' "$store" || fail "dedup store stats --json"
"$dedup" store keys "$store" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["uri"] == sys.argv[1] and sorted(r["keys"]) == sorted(sys.argv[2].split()), r
' "$store" "$("$dedup" store keys "$store")" || fail "dedup store keys --json"
"$dedup" store clear "$store" | grep -q "removed [0-9]* entr" || fail "dedup store clear"
[ -z "$("$dedup" store keys "$store")" ] || fail "dedup store keys of a cleared store"
for command in stats keys clear destroy; do
  set +e
  "$dedup" store $command "shm://cli-check-typo-$$" 2>/tmp/dedup-cli-err.$$; status=$?
  set -e
  [ "$status" -eq 1 ] || fail "dedup store $command of a missing store should exit 1, got $status"
  grep -q "no such store" /tmp/dedup-cli-err.$$ || fail "dedup store $command: no such store"
  [ ! -e "/dev/shm/dedup-store-cli-check-typo-$$" ] || fail "dedup store $command created a store"
done
"$store_worker" ops "$store" 0 200 40 > /dev/null || fail "store worker"
dd if=/dev/zero of="$store_dir/data.mdb" bs=4096 seek=2 conv=notrunc \
  count=$(( $(stat -c %s "$store_dir/data.mdb") / 4096 - 2 )) 2>/dev/null
set +e
"$dedup" store clear "$store" 2>/tmp/dedup-cli-err.$$; status=$?
set -e
[ "$status" -eq 1 ] || fail "dedup store clear of a damaged store should exit 1, got $status"
grep -q "the store is damaged.*dedup store destroy $store" /tmp/dedup-cli-err.$$ ||
  fail "dedup store clear of a damaged store: $(cat /tmp/dedup-cli-err.$$)"
"$dedup" store destroy "$store" | grep -q "destroyed" || fail "dedup store destroy"
[ ! -e "$store_dir" ] || fail "dedup store destroy left $store_dir"
"$store_worker" ops "$store" 0 20 4 > /dev/null || fail "store worker"
"$dedup" store clear "$store" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["uri"] == sys.argv[1] and r["entries"] > 0, r
' "$store" || fail "dedup store clear --json"
"$dedup" store destroy --json "$store" | /usr/bin/python3 -c '
import json, sys
assert json.load(sys.stdin) == {"uri": sys.argv[1], "destroyed": True}
' "$store" || fail "dedup store destroy --json"
[ ! -e "$store_dir" ] || fail "dedup store destroy --json left $store_dir"
for uri in "bogus://x" "shm://a/b" "redis://127.0.0.1:1/0"; do
  set +e
  "$dedup" store stats "$uri" 2>/tmp/dedup-cli-err.$$; status=$?
  set -e
  [ "$status" -eq 1 ] || fail "dedup store stats $uri should exit 1, got $status"
  grep -q "$uri" /tmp/dedup-cli-err.$$ || fail "dedup store stats $uri should name the store"
done
set +e
"$dedup" store frobnicate "$store" 2>/dev/null; status=$?
set -e
[ "$status" -eq 2 ] || fail "dedup store with a bad command should exit 2, got $status"
rm -f /tmp/dedup-cli-err.$$

# dedup cache ls|stats|clear on caches the fault tests' worker fills (DEDUP_CACHE_WORKER, set by
# ctest): 5 entries under tag A (odd ones in files), 2 under tag B.
worker=${DEDUP_CACHE_WORKER:?the cli checks need DEDUP_CACHE_WORKER (set by ctest)}
"$dedup" cache --help | grep -q "^  gc  " || fail "dedup cache --help lists its commands"
caches="$dir/caches"
mkdir "$caches"
"$worker" fill "$caches" A 5
"$worker" fill "$caches" B 2
"$dedup" cache ls "$caches" > "$dir/out"
[ "$(grep -c '^A ' "$dir/out")" -eq 5 ] || fail "cache ls: $(cat "$dir/out")"
grep -q "^B  *e1 .* file " "$dir/out" || fail "cache ls shows files: $(cat "$dir/out")"
grep -q "^A  *e0 .* inline " "$dir/out" || fail "cache ls shows inline values: $(cat "$dir/out")"
"$dedup" cache ls "$caches" --tag=B --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert [c["tag"] for c in r["caches"]] == ["B"], r
e = {x["name"]: x for x in r["caches"][0]["entries"]}
assert sorted(e) == ["e0", "e1"] and e["e1"]["in_file"] and not e["e0"]["in_file"], r
assert all(x["size"] > 0 and x["created"] > 1.6e9 and x["last_access"] >= x["created"]
           and x["version"] == 1 and x["tag"] == "B" for x in e.values()), r
' || fail "cache ls --json"
"$dedup" cache stats "$caches" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
c = {x["tag"]: x for x in r["caches"]}
assert r["entries"] == 7 and c["A"]["entries"] == 5 and c["B"]["entries"] == 2, r
assert c["A"]["file_entries"] == 2 and c["A"]["inline_entries"] == 3, r
assert r["bytes"] == sum(x["bytes"] for x in c.values()) > 0, r
assert c["A"]["bytes"] == c["A"]["inline_bytes"] + c["A"]["file_bytes"], r
' || fail "cache stats --json"
"$dedup" cache stats "$caches" | grep -q "7 entries, .* bytes in 2 caches" || fail "cache stats"
"$dedup" cache clear "$caches" --tag A | grep -q "cleared 5 entries" || fail "cache clear --tag"
"$dedup" cache stats "$caches" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["entries"] == 2, r
' || fail "cache clear --tag A should leave B"
"$dedup" cache clear "$caches" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["entries"] == 2, r
' || fail "cache clear"
"$dedup" cache ls "$caches" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert all(not c["entries"] for c in r["caches"]), r
' || fail "cache clear should leave no entry"
# The remote tier: one of DIR and --remote URL (gc has no remote); a server that cannot be
# reached is a failure naming it.
expect_usage cache ls
grep -q "DIR or --remote URL" "$dir/err" || fail "cache ls needs DIR or --remote: $(cat "$dir/err")"
expect_usage cache stats "$caches" --remote redis://127.0.0.1:1/0
expect_usage cache gc --remote redis://127.0.0.1:1/0
for action in ls stats clear; do
  set +e
  "$dedup" cache $action --remote redis://127.0.0.1:1/0 2> "$dir/err"; status=$?
  set -e
  [ "$status" -eq 1 ] || fail "cache $action --remote of no server should exit 1, got $status"
  grep -q "redis://127.0.0.1:1/0" "$dir/err" || fail "cache $action --remote: $(cat "$dir/err")"
done
# Every name is listed whole and escaped: a byte that is not UTF-8, a NUL, a newline, a backslash.
"$worker" names "$caches" N
"$dedup" cache ls "$caches" --tag N > "$dir/out" || fail "cache ls of odd names"
[ "$(grep -c '^N ' "$dir/out")" -eq 4 ] || fail "cache ls: one line per odd name: $(cat "$dir/out")"
for name in 'bad\\xff' 'nul\\x00in' 'new\\x0aline' 'back\\\\slash'; do
  grep -q "^N  *$name " "$dir/out" || fail "cache ls shows $name: $(cat "$dir/out")"
done
"$dedup" cache ls "$caches" --tag N --json | /usr/bin/python3 -c '
import json, sys
e = {x["name"]: x for x in json.load(sys.stdin)["caches"][0]["entries"]}
assert set(e) == {"bad\\xff", "nul\x00in", "new\nline", "back\\slash"}, list(e)
assert e["bad\\xff"]["name_hex"] == "626164ff", e
assert "name_hex" not in e["nul\x00in"], e
' || fail "cache ls --json of odd names"
# ls and stats change nothing; gc removes the files under values/ that no entry references.
echo '{}' > "$caches/cacheN/values/orphan.json"
files() { (cd "$caches" && find . -type f -printf '%p %s %T@\n' | sort); }
before=$(files)
"$dedup" cache ls "$caches" > /dev/null
"$dedup" cache stats "$caches" --json > /dev/null
[ "$before" = "$(files)" ] || fail "cache ls|stats changed files: $before // $(files)"
"$dedup" cache gc "$caches" | grep -q "removed 1 unreferenced file from 3 caches" \
  || fail "cache gc"
[ ! -e "$caches/cacheN/values/orphan.json" ] || fail "cache gc left the orphan"
"$dedup" cache gc "$caches" --json | /usr/bin/python3 -c '
import json, sys
assert json.load(sys.stdin)["files"] == 0
' || fail "cache gc --json"
# A cache this user may not write (here on a read-only bind mount) is listed all the same.
if unshare -m true 2>/dev/null; then
  unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" "$1" &&
    mount -o remount,bind,ro "$1" && "$2" cache ls "$1" --tag N && "$2" cache stats "$1"' \
    sh "$caches" "$dedup" > "$dir/out" 2>&1 || fail "cache ls|stats read-only: $(cat "$dir/out")"
  [ "$(grep -c '^N ' "$dir/out")" -eq 5 ] || fail "cache ls read-only: $(cat "$dir/out")"
  grep -q "4 entries, .* bytes in 3 caches" "$dir/out" || fail "cache stats read-only: $(cat "$dir/out")"
else
  echo "SKIP: dedup cache ls of a read-only mount (no private mount namespace here)"
fi
expect_cache_fail() {
  set +e
  "$dedup" cache "$@" 2> "$dir/err" > /dev/null; status=$?
  set -e
  [ "$status" -eq 1 ] || fail "cache $* should exit 1, got $status"
}
expect_cache_fail ls "$dir/no-such-dir"
grep -q "no-such-dir: no such directory" "$dir/err" || fail "cache ls of a missing DIR: $(cat "$dir/err")"
mkdir "$dir/empty"
expect_cache_fail stats "$dir/empty"
grep -q "holds no cache with prefix 'cache'" "$dir/err" || fail "cache stats of no cache: $(cat "$dir/err")"
expect_cache_fail ls "$caches" --tag C
grep -q "dedup: .*cacheC" "$dir/err" || fail "cache ls --tag of a missing tag: $(cat "$dir/err")"
expect_usage cache frobnicate "$caches"
grep -q "Run 'dedup cache --help'" "$dir/err" || fail "cache usage hint: $(cat "$dir/err")"
echo "cli: all checks passed"

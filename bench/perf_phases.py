#!/usr/bin/env python3
"""Where the time of a W1 load goes, by phase, from a perf profile.

Usage:
  perf record -o perf.data -F 2000 build/release/bench/dedup-bench --only "W1 refs" \
      --contenders d --reps 7
  perf report -i perf.data --no-children --sort symbol --stdio | python3 bench/perf_phases.py

Each symbol's share is given to the first phase whose pattern it matches; the phases follow a
load's path: finding the structure, computing a key, hashing, the table, building a miss, the ref
itself, the allocator, and the kernel (reading the file, page faults). Inlined code counts where it
was inlined, so the split is by function, not by line.
"""
import re
import sys

PHASES = [
    ("not a load: making W1, the census", r"count_records|append_record|append_ref|format_uuid|"
                                          r"make_document|census|content<|to_string|operator\+"),
    ("structure (simdjson stage 1)", r"stage1|json_structural_indexer"),
    ("span + hash", r"XXH|hash_key|raw_view|has_bytes|skip_child|key_scratch"),
    ("key of a data coordinate", r"encode_|walk_members<butler::DataCoordinate|classify|"
                                 r"__insertion_sort|get_string|__memchr"),
    ("table", r"_Hashtable|find_or_reserve|find_alias|add_alias|intern_by_|table_access|memcmp|"
              r"string_view.*compare|read_shared|sharing_gate|intern_table"),
    ("building misses", r"read_value|read_struct<butler::(DatasetType|DimensionRecord|"
                        r"DataCoordinate)|build_entry|publish|_Rb_tree|choose_alternative"),
    ("the ref itself", r"DatasetRef|parse_uuid|find_member|for_each_element|open_rewound|"
                       r"parse_fast|read_document|expect<|make_istring|substr|_M_replace|"
                       r"append|push_back"),
    ("allocator", r"operator new|operator delete|malloc|_int_free|_int_malloc|free|cfree|"
                  r"_Sp_counted|__shared_count|memmove|memcpy|memset|unlink_chunk"),
    ("kernel", r"^\[k\]"),
]


def main():
    totals = {name: 0.0 for name, _ in PHASES}
    other = 0.0
    line_re = re.compile(r"^\s*([\d.]+)%\s+(\[[.k]\])\s+(.*)$")
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        share, kind, symbol = float(m.group(1)), m.group(2), m.group(3)
        text = symbol if kind == "[.]" else "[k] " + symbol
        for name, pattern in PHASES:
            if re.search(pattern, text):
                totals[name] += share
                break
        else:
            other += share
    print("| phase | share of samples |")
    print("|---|---:|")
    for name, _ in PHASES:
        print(f"| {name} | {totals[name]:.1f}% |")
    print(f"| other | {other:.1f}% |")


if __name__ == "__main__":
    main()

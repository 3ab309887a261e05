#!/usr/bin/env python3
"""Generates a Catch2 test from the examples in dedup's public headers and its markdown pages.

Usage: gen_examples.py --out FILE --prelude HEADER [--root DIR] FILE...
(the build runs it on include/dedup/*.hpp, include/dedup/detail/**/*.hpp, README.md and docs/*.md;
see tests/CMakeLists.txt)

In a header, every ``` block inside `///` comments becomes one TEST_CASE named for its header and
the entity documented below the comment ("example: context.hpp scope"). In a markdown file (a
FILE ending in .md), every ```cpp block becomes one TEST_CASE named for the file and the nearest
heading above it ("example: docs/cache.md Get or compute"). A second block under one name adds
" #2". The generated file includes every header given, then the prelude
(tests/examples_prelude.hpp), which provides what the examples use (`j`, `text`, `json`,
`parser`, `o`, `n`, `use`, a refs.json in the current directory), so the examples stay short.
Each block is preceded by a #line directive, so that a compiler error names the header or page
and the line where the example is written.

The fence rule (the word after the opening ```):
  in headers     in markdown
  ```            ```cpp            statements: run inside the test case's body; `assert(x)`
                                   becomes CHECK((x)).
  ```namespace   ```cpp-namespace  declarations that must be at namespace scope (a struct, a
                                   specialization of dedup::options, an #include): compiled at
                                   global scope, before the test cases, not run. The blocks of
                                   every file share that scope, so their names must differ.
  ```text        ```sh, ```text,   (or any other word) not C++ meant to compile: left out of the
                 ``` ...           test.
"""
import argparse
import os
import re
import sys

OPEN = re.compile(r"^\s*///\s?```(\w*)\s*$")
DOC = re.compile(r"^\s*///\s?(.*)$")
MD_FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w-]*)\s*$")
MD_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
ENTITY_PATTERNS = [
    re.compile(r"\b(?:class|struct|enum\s+class|enum)\s+(?:alignas\(\d+\)\s+)?(\w+)"),
    re.compile(r"\b(\w+)\s*=[^=]"),  # a variable: inline constexpr ... name = ...
    # A function: the name before its parameters (not a decltype(auto) return type).
    re.compile(r"\b(?!decltype\b|alignas\b)(\w+)\s*\("),
]
# The fence words of each kind of file: statements, namespace-scope declarations.
HEADER_FENCES = {"": "statements", "cpp": "statements", "namespace": "namespace"}
MARKDOWN_FENCES = {"cpp": "statements", "cpp-namespace": "namespace"}


def entity_name(lines, i):
    """The name declared by the first code line at or after line i (templates skipped)."""
    for line in lines[i:]:
        text = line.strip()
        if not text or text.startswith("//") or text.startswith("template"):
            continue
        for pattern in ENTITY_PATTERNS:
            m = pattern.search(text)
            if m:
                return m.group(1)
        return "example"
    return "example"


def header_blocks(path):
    """(info word, first line number, block lines, entity name) of each ``` block in /// comments."""
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        info, body, i = m.group(1), [], i + 1
        first = i + 1
        while i < len(lines) and not OPEN.match(lines[i]):
            doc = DOC.match(lines[i])
            if not doc:
                sys.exit(f"{path}:{i + 1}: a ``` block in a doc comment is not closed")
            body.append(doc.group(1))
            i += 1
        i += 1
        yield info, first, body, entity_name(lines, i)


def plain_heading(text):
    """A heading as a test name can hold it: no markup, nothing Catch2 reads as a test spec."""
    text = re.sub(r"[^A-Za-z0-9 _.:/()+=-]", "", text.replace(",", " "))
    return " ".join(text.split()) or "top"


def markdown_blocks(path):
    """(info word, first line number, block lines, nearest heading) of each fenced block."""
    lines = open(path, encoding="utf-8").read().splitlines()
    heading, i = "top", 0
    while i < len(lines):
        m = MD_FENCE.match(lines[i])
        if not m:
            h = MD_HEADING.match(lines[i])
            if h:
                heading = plain_heading(h.group(1))
            i += 1
            continue
        indent, ticks, info = len(m.group(1)), m.group(2), m.group(3)
        close = re.compile(r"^\s*" + ticks + r"`*\s*$")
        body, i = [], i + 1
        first = i + 1
        while i < len(lines) and not close.match(lines[i]):
            line = lines[i]
            # A block inside a list item is indented like its fence: the code is what follows.
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        if i == len(lines):
            sys.exit(f"{path}:{first - 1}: a ``` block is not closed")
        i += 1
        yield info, first, body, heading


def skip_literal(text, k):
    """The index just past the string or character literal starting at k (raw strings too)."""
    if text.startswith('R"', k):
        delim = text[k + 2:text.index("(", k)]
        return text.index(")" + delim + '"', k) + len(delim) + 2
    quote, k = text[k], k + 1
    while text[k] != quote:
        k += 2 if text[k] == "\\" else 1
    return k + 1


def checks(code):
    """`assert(x)` -> `CHECK((x))`: parenthesized, since Catch2 refuses a bare `a && b`."""
    out, k = [], 0
    for m in re.finditer(r"\bassert\(", code):
        if m.start() < k:
            continue
        depth, j = 1, m.end()
        while depth:
            if code.startswith('R"', j) or code[j] in "\"'":
                j = skip_literal(code, j)
                continue
            depth += {"(": 1, ")": -1}.get(code[j], 0)
            j += 1
        out += [code[k:m.start()], "CHECK((", code[m.end():j - 1], "))"]
        k = j
    return "".join(out) + code[k:]


def header_name(path):
    """The header as a user includes it after `dedup/`: "context.hpp", "detail/hash.hpp"."""
    marker = "include" + os.sep + "dedup" + os.sep
    return path.split(marker, 1)[1] if marker in path else os.path.basename(path)


def page_name(path, root):
    """A file as the repository names it: "README.md", "docs/cache.md", "include/dedup/codec.hpp"."""
    return os.path.relpath(path, root) if root else os.path.basename(path)


def c_string(text):
    """text as a C string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Marks where the generated file's own line numbering resumes after an example's #line.
RESUME = "#line RESUME"


def examples(files, root):
    """(file's name for #line, kind, first line, code, test name) of every example of every file.

    #line names a file relative to the root, so that the generated file is the same in every
    checkout and a compiler cache can share its object."""
    for path in files:
        where = page_name(path, root)
        if path.endswith(".md"):
            name, fences, found = where, MARKDOWN_FENCES, markdown_blocks(path)
        else:
            name, fences, found = header_name(path), HEADER_FENCES, header_blocks(path)
        for info, first, body, place in found:
            if info in fences:
                yield where, fences[info], first, "\n".join(body), f"example: {name} {place}"


def generate(files, prelude, root, out):
    top, cases, names = [], [], {}
    for path, kind, first, code, name in examples(files, root):
        where = f"#line {first} {c_string(path)}"
        if kind == "namespace":
            top.append(f"{where}\n{code}\n{RESUME}\n")
            continue
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name += f" #{names[name]}"
        # Not indented: a raw string literal spanning lines must keep its text as written.
        body = checks(code)
        cases.append(f'TEST_CASE("{name}", "[example]") {{\n'
                     f"  dedup_examples::example_dir here;\n{where}\n{body}\n{RESUME}\n}}\n")
    headers = [f for f in files if not f.endswith(".md")]
    includes = "".join(f'#include "dedup/{header_name(h)}"\n' for h in headers)
    # The prelude as seen from the generated file: no checkout's absolute path in the text.
    prelude = os.path.relpath(prelude, os.path.dirname(os.path.abspath(out)))
    text = ("// Generated by scripts/gen_examples.py from the examples of include/dedup/ and the"
            " markdown pages: do not edit.\n" + includes + f"#include {c_string(prelude)}\n\n"
            "using namespace dedup_examples;\n\n" + "\n".join(top) + "\n" + "\n".join(cases))
    return text


def resume_lines(text, out):
    """Each RESUME mark becomes a #line giving the next line its number in the generated file."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line == RESUME:
            lines[i] = f"#line {i + 2} {c_string(os.path.basename(out))}"
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--prelude", required=True, help="the header the examples stand on")
    parser.add_argument("--root", help="the directory markdown pages are named from")
    parser.add_argument("files", nargs="+", help="headers and markdown pages")
    args = parser.parse_args()
    text = generate(sorted(args.files), args.prelude, args.root, args.out)
    text = resume_lines(text, args.out)
    # Rewritten only when it changes, so that an edit that moves no example (prose rewritten in
    # place, a header's code) leaves the generated file as it was.
    if not os.path.exists(args.out) or open(args.out, encoding="utf-8").read() != text:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()

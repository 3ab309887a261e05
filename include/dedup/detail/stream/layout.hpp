// Finding where an input's records are from its first bytes: the one rule behind the reader's
// `automatic` format and `dedup load`, so that the two cannot come to read one file differently.
#pragma once

#include <string>
#include <string_view>

#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/stream/splitter.hpp"

namespace dedup::detail {

/// Where an input's records are, as its start shows them.
///
/// ```text
/// if (found.mode == dedup::detail::splitter::mode::array) use(found.pointer);
/// ```
struct sniffed_layout {
  splitter::mode mode = splitter::mode::lines;
  std::string pointer{};  // the array's pointer, when a named member holds the records
  bool empty = false;     // nothing but blanks
};

/// The one rule that finds an input's layout from its start, behind the reader's `automatic`
/// format and `dedup load`: an object with the member `member` (when one is named) holds its
/// records in the array there; a file named `*.ndjson` or `*.jsonl` is lines, when `by_name`; an
/// input that starts with `[` is that array; an empty `*.json` file is an empty document (which
/// array mode rejects); anything else is lines. Reads no more than it must, and consumes nothing.
///
/// ```text
/// auto found = dedup::detail::sniff_layout(in, ".json", "refs", false);  // {"refs": [...]}
/// assert(found.pointer == "/refs");
/// ```
inline sniffed_layout sniff_layout(splitter& in, std::string_view extension,
                                   std::string_view member, bool by_name) {
  using mode = splitter::mode;
  if (!member.empty() && in.starts_object_with(member))
    return {mode::array, pointer_to("", member), false};
  if (by_name && (extension == ".ndjson" || extension == ".jsonl")) return {};
  int first = in.first_byte();
  if (first == '[') return {mode::array};
  if (first < 0 && extension == ".json") return {mode::array, "", true};
  return {mode::lines, "", first < 0};
}

}  // namespace dedup::detail

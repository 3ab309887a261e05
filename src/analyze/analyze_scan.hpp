// analyze_scan.hpp: the one pass of `dedup analyze` over any JSON: a structural hash of every
// object and array, grouped by the JSON pointer pattern where it occurs, and the key candidates
// found afterwards from the distinct values of each pattern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <simdjson.h>

#include "dedup/detail/stream/splitter.hpp"

namespace dedup::cli::analysis {

/// What a sharing writer is assumed to spend on one reference instead of a repeated subtree
/// (about `{"$ref":123}`), in the savings the report shows.
inline constexpr std::uint64_t reference_bytes = 12;

/// How many differently named members the objects of a pattern need, between them, before the
/// pattern may be read as a map (`{"<id>": {...}, ...}`), its members collapsed into `*`.
inline constexpr std::size_t map_min_members = 16;

/// One distinct subtree of a pattern: its compact size, where it was first seen, and for an
/// object the hash of each member's value by member (the pattern of that member), so that key
/// candidates can be tested after the pass without keeping the subtree.
struct distinct_value {
  std::uint64_t bytes = 0;
  std::uint64_t order = 0;  // of first appearance in the whole input
  std::string first_pointer;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> members;  // child pattern, value hash
};

/// Every object or array found at one pointer pattern (`/refs/*/datasetType`).
struct pattern {
  std::string text;
  std::uint32_t parent = 0;
  std::string member;  // the member name this pattern adds to its parent's ("" for `*`)
  std::uint64_t member_hash = 0, member_bytes = 0;  // of the name, worked out once
  std::uint64_t occurrences = 0, bytes = 0, saved = 0;
  bool all_objects = true;
  std::unordered_map<std::uint64_t, distinct_value> distinct;
  std::uint64_t last_hash = 0;  // the hash of the last occurrence: a run of repeats skips the map
  // Member patterns in order of first appearance: objects of one pattern mostly list their
  // members in one order, so the member at position i is found at i without hashing its name.
  std::vector<std::pair<std::string, std::uint32_t>> children;
  std::optional<std::uint32_t> elements;  // the `*` child: elements, or members of a map
  bool map = false;        // an object keyed by data: every member goes to the `*` child
  std::uint8_t kinds = 0;  // of the values met here, one bit per simdjson json_type
  std::size_t map_check = map_min_members;  // children at which to ask again whether it is a map
};

/// A key candidate of a pattern and the warning about the key a user would likely pick first.
struct key_report {
  std::vector<std::string> members;  // empty: no set of up to three members identifies them
  std::string warning;
};

/// The pass: feed it documents (or records of one array, or NDJSON lines) one at a time.
class scanner {
 public:
  /// `base` is the pattern of each fed value (`/refs/*` for the elements of /refs, `/*` for
  /// NDJSON lines, "" for a whole document), `base_pointer` the pointer of their container.
  /// The patterns named in `maps` are maps from the start; others are found maps as the pass goes
  /// (when `find_maps`), which `new_maps` lists: the counts are exact only when it is empty.
  ///
  ///     scanner scan("/*", "", {"/*/votes"}, false);  // /*/votes/u7 counts as /*/votes/*
  scanner(std::string base, std::string base_pointer, std::unordered_set<std::string> maps = {},
          bool find_maps = true);

  /// Hashes one document: record `index` of the input (ignored for a whole document). A malformed
  /// document is a `simdjson::simdjson_error`, thrown from where the walk found it.
  void feed(simdjson::ondemand::document& doc, std::size_t index);

  const std::vector<pattern>& patterns() const { return patterns_; }
  /// What a sharing writer would save over the whole input, each byte counted once.
  std::uint64_t saved() const { return saved_; }
  std::uint64_t bytes() const { return bytes_; }
  /// The patterns found to be maps in this pass, which had members of their own before.
  const std::vector<std::string>& new_maps() const { return new_maps_; }

 private:
  struct summary {
    std::uint64_t hash = 0, bytes = 0, saved = 0;
  };
  struct step {
    std::string_view member;
    std::size_t index = 0;
    bool is_index = false;
  };
  /// One container recorded in a pattern, kept so that a subtree met again with the same bytes
  /// can be counted again without walking it.
  struct counted {
    std::uint32_t pattern = 0;
    std::uint64_t hash = 0, bytes = 0;
  };
  /// A subtree's exact bytes already walked and found repeated: the containers it holds (itself
  /// last), as a slice of `memo_steps_`.
  struct memo {
    std::size_t first = 0, count = 0;
  };

  template <class V>
  summary visit(V& v, std::uint32_t at);
  summary visit_array(simdjson::ondemand::array a, std::uint32_t at);
  summary visit_object(simdjson::ondemand::object o, std::uint32_t at);
  summary walk_array(simdjson::ondemand::array& a, std::uint32_t at);
  summary walk_object(simdjson::ondemand::object& o, std::uint32_t at);
  template <class C, class Walk>
  summary through_memo(C& container, std::uint32_t at, Walk&& walk);
  summary replay(const memo& m);
  summary record(std::uint32_t at, summary s, bool object,
                 std::vector<std::pair<std::uint32_t, std::uint64_t>>& members);
  std::uint32_t elements_of(std::uint32_t at);
  std::uint32_t member_of(std::uint32_t at, std::string_view member, std::size_t position);
  std::uint32_t add_child(std::uint32_t at, std::string text, std::string member);
  std::string pointer() const;
  bool looks_like_map(const pattern& p) const;

  std::vector<pattern> patterns_;
  std::vector<step> path_;
  std::string base_pointer_;
  bool whole_document_;
  std::uint64_t saved_ = 0, bytes_ = 0, distinct_seen_ = 0;
  // Member hashes of the objects being visited, one vector per depth, reused.
  std::vector<std::vector<std::pair<std::uint32_t, std::uint64_t>>> member_scratch_;
  bool last_repeated_ = false;  // whether the container last recorded was a repeat
  std::vector<counted> trail_;  // the containers recorded in the document being fed
  std::vector<counted> memo_steps_;
  std::unordered_map<std::uint64_t, memo> memos_;  // by pattern and exact bytes
  std::unordered_set<std::string> maps_;
  bool find_maps_;
  std::vector<std::string> new_maps_;
};

/// The smallest set of up to three member names whose values tell the distinct objects of `p`
/// apart (every member is a candidate; sets of two and three are tried while the rows tested stay
/// under 20 million), and a warning when the single member that tells most of them apart would
/// merge some that differ elsewhere (keying on a name alone, the wrong-key bug).
key_report find_key(const pattern& p, const std::vector<pattern>& all);

/// How the file is read: by records of one array or lines, or as one document.
struct plan {
  detail::splitter::mode mode = detail::splitter::mode::lines;
  std::string pointer;  // of the array whose elements are the records
  bool whole = false;
  std::string name;
};

/// What a scan read.
struct outcome {
  std::size_t records = 0;
  std::size_t end = 0;  // where the last record ends
  double seconds = 0;
};

/// A file scanned: how it was read, what was read, and the scanner that saw it.
struct input_scan {
  analysis::plan how;
  analysis::outcome got;
  std::optional<scanner> scan;
};

/// Scans `file` as `dedup analyze` reads it: the records of a top-level array or of the one array
/// member `{"NAME": [...]}`, the lines of NDJSON (`ndjson`, or a `.ndjson`/`.jsonl` name), or else
/// the whole document; again, with the maps found known from the start, when a pass found maps.
/// A record that does not parse is a `dedup::error` at its place.
input_scan scan_input(const std::filesystem::path& file, bool ndjson);

}  // namespace dedup::cli::analysis

// dedup-bench's reading rows (bench/reading.hpp).
#include "bench/reading.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <string_view>
#include <utility>

#include "bench/contenders.hpp"
#include "bench/models.hpp"
#include "bench/peers.hpp"
#include "butler/model.hpp"
#include "dedup/simdjson.hpp"

namespace bench {
namespace {

namespace od = simdjson::ondemand;

/// The same document with the members of every object in reverse order: nothing in declared order.
void reverse_members(od::value v, std::string& out) {
  if (v.type().value() == od::json_type::object) {
    std::vector<std::string> members;
    for (auto field : v.get_object()) {
      std::string m = "\"";
      m += field.unescaped_key().value();  // W1 has no escapes in keys
      m += "\":";
      reverse_members(field.value().value(), m);
      members.push_back(std::move(m));
    }
    out += '{';
    for (auto it = members.rbegin(); it != members.rend(); ++it) {
      if (it != members.rbegin()) out += ',';
      out += *it;
    }
    out += '}';
  } else if (v.type().value() == od::json_type::array) {
    out += '[';
    bool first = true;
    for (auto element : v.get_array()) {
      if (!first) out += ',';
      first = false;
      reverse_members(element.value(), out);
    }
    out += ']';
  } else {
    out += dedup::detail::trim_right(v.raw_json_token());
  }
}

/// The same refs in a seeded random order: a ref's data coordinate is rarely the one just read, so
/// what dedup gains from repeats met close together (the tables' memo of exact bytes) is gone.
std::string shuffle_refs(const simdjson::padded_string& text) {
  std::vector<std::string_view> refs;
  od::parser parser;
  od::document doc = parser.iterate(text);
  for (auto ref : doc["refs"]) {
    od::object object = ref.get_object().value();
    refs.push_back(dedup::detail::trim_right(object.raw_json().value()));
  }
  std::shuffle(refs.begin(), refs.end(), std::mt19937_64(20261205));
  std::string out = "{\"refs\":[";
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (i) out += ',';
    out += refs[i];
  }
  return out + "]}";
}

std::size_t count_records(const simdjson::padded_string& text, std::string_view array) {
  od::parser parser;
  od::document doc = parser.iterate(text);
  od::array elements = doc[array].get_array();
  return elements.count_elements().value();
}

/// The peers must build what (c) builds, and (h) what (d) builds: the census's content hash of
/// each result is compared, so a peer that skips or misreads a member fails instead of looking
/// fast.
void check_peers(std::vector<row>& rows, std::size_t first) {
  for (std::size_t i = first; i < rows.size(); ++i) {
    char letter = rows[i].contender[1];
    if (letter < 'f' || rows[i].f.failed) continue;
    char reference = letter == 'h' ? 'd' : 'c';
    for (std::size_t j = first; j < rows.size(); ++j) {
      const figures& r = rows[j].f;
      if (rows[j].contender[1] != reference || r.failed || r.checksum == rows[i].f.checksum)
        continue;
      rows[i].f.failed = true;
      std::snprintf(rows[i].f.message, sizeof rows[i].f.message,
                    "built something else than (%c): content hash differs", reference);
    }
  }
}

/// Each row's time against the floor (e) and against (a), in the rows from `first` on.
void set_ratios(std::vector<row>& rows, std::size_t first) {
  const row* floor = nullptr;
  const row* a = nullptr;
  for (std::size_t i = first; i < rows.size(); ++i) {
    if (rows[i].contender[1] == 'e') floor = &rows[i];
    if (rows[i].contender[1] == 'a') a = &rows[i];
  }
  for (std::size_t i = first; i < rows.size(); ++i) {
    if (floor && !floor->f.failed) rows[i].floor_ratio = floor->f.seconds / rows[i].f.seconds;
    if (a && !a->f.failed) rows[i].a_ratio = a->f.seconds / rows[i].f.seconds;
    if (a && a->f.seconds_kept > 0 && rows[i].f.seconds_kept > 0)
      rows[i].kept_a_ratio = a->f.seconds_kept / rows[i].f.seconds_kept;
  }
}

/// The rows of the contenders in `only` on one document, each measured in processes of its own.
template <class Interned, class Value>
void measure(std::vector<row>& rows, const std::string& workload,
             const simdjson::padded_string& text, std::string_view records_array, int reps,
             std::string_view only) {
  std::size_t records = count_records(text, records_array);
  ::malloc_trim(0);  // what the parent freed would otherwise count in every child's resident set
  std::size_t first = rows.size();
  for (const contender& c : contenders<Interned, Value>(text)) {
    if (only.find(c.name[1]) == std::string_view::npos) continue;
    std::cerr << "  " << workload << ": " << c.name << "...\n";
    rows.push_back({workload, c.name, text.size(), records, isolated(c, reps)});
    figures kept = isolated(c, reps, true);
    rows.back().f.seconds_kept = kept.failed ? 0 : kept.seconds_kept;
  }
  set_ratios(rows, first);
  check_peers(rows, first);
}

/// W1's variants compare dedup with the value structs and the floor, unless asked for others.
std::string variant_contenders(const settings& s) {
  return s.contenders == "abcdefghi" ? "cde" : s.contenders;
}

void read_w1_members_reversed(const settings& s, std::vector<row>& rows) {
  std::string reversed;
  {
    simdjson::padded_string original = w1_document(s);
    od::parser parser;
    od::document doc = parser.iterate(original);
    reverse_members(doc.get_value().value(), reversed);
  }
  simdjson::padded_string w1r(reversed);
  reversed = std::string();
  measure<butler::RefList, value_ref_list>(rows, "W1, members reversed", w1r, "refs", s.reps,
                                           variant_contenders(s));
}

void read_w1_refs_shuffled(const settings& s, std::vector<row>& rows) {
  simdjson::padded_string shuffled(shuffle_refs(w1_document(s)));
  measure<butler::RefList, value_ref_list>(rows, "W1, refs shuffled", shuffled, "refs", s.reps,
                                           variant_contenders(s));
}

/// A real-world document of ../shared/data, `workload` ("W2 citm_catalog"), whose records are the
/// elements of `records_array`; skipped, with a note, when the file is absent.
template <class Interned, class Value>
void read_shared_data(const settings& s, const std::string& workload, const char* file,
                      std::string_view records_array, std::vector<row>& rows,
                      std::vector<std::string>& notes) {
  if (!s.wants(workload)) return;
  if (auto text = load_shared_data(file)) {
    measure<Interned, Value>(rows, workload, *text, records_array, s.small_reps(), s.contenders);
  } else {
    notes.push_back(workload.substr(0, workload.find(' ')) + " skipped: " DEDUP_SHARED_DATA "/" +
                    file + " not found.");
  }
}

/// How (i) had to be written, when it ran; or that it was not built, when it was asked for.
void note_boost_json(const settings& s, const std::vector<row>& rows,
                     std::vector<std::string>& notes) {
  if (s.contenders.find('i') == std::string::npos) {
  } else if constexpr (!peers::has_boost_json) {
    notes.push_back(
        "(i) Boost.JSON skipped: dedup-bench was built without Boost.JSON "
        "(libboost-json not found).");
  } else if (std::any_of(rows.begin(), rows.end(),
                         [](const row& r) { return r.contender[1] == 'i'; })) {
    notes.push_back(peers::boost_json_note);
  }
}

}  // namespace

std::vector<row> reading_rows(const settings& s, std::vector<std::string>& notes) {
  std::vector<row> rows;
  std::string w1 = w1_name(s);
  if (s.wants(w1))
    measure<butler::RefList, value_ref_list>(rows, w1, w1_document(s), "refs", s.reps,
                                             s.contenders);
  if (s.wants("W1, members reversed")) read_w1_members_reversed(s, rows);
  if (s.wants("W1, refs shuffled")) read_w1_refs_shuffled(s, rows);
  read_shared_data<citm::catalog<shared>, citm::catalog<by_value>>(
      s, "W2 citm_catalog", "citm_catalog.json", "performances", rows, notes);
  read_shared_data<twitter::timeline<shared>, twitter::timeline<by_value>>(
      s, "W3 twitter", "twitter.json", "statuses", rows, notes);
  note_boost_json(s, rows, notes);
  return rows;
}

}  // namespace bench

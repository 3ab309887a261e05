// The one pass of `dedup analyze`: structural hashes bottom-up, repeats counted per pattern.
#include "analyze_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unordered_set>

#include "dedup/detail/hash.hpp"
#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"

namespace dedup::cli::analysis {
namespace {

// Combines two hashes: a full 64x64->128 multiply folded back (wyhash's mum), called once per
// value of the input, where a general hash of the 16 bytes would cost several times as much.
__extension__ typedef unsigned __int128 uint128;  // GCC and Clang have it; ISO C++ does not

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  uint128 m = static_cast<uint128>(a ^ 0xa0761d6478bd642fULL) * (b ^ 0xe7037ed1a0b428dbULL);
  return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
}

// Distinct seeds per kind, so that "1", 1, 1.0 and [1] never hash alike.
enum : std::uint64_t {
  seed_null = 1,
  seed_bool,
  seed_int,
  seed_uint,
  seed_double,
  seed_string,
  seed_array,
  seed_object
};

// The bytes `s` takes as a compact JSON string, quotes and escapes included.
// Branch-free, so that the loop over the (almost always escape-free) bytes vectorizes.
std::uint64_t string_bytes(std::string_view s) {
  std::uint64_t n = s.size() + 2;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool short_escape = c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r';
    n += short_escape + 5 * (u < 0x20 && !short_escape);
  }
  return n;
}

constexpr std::uint8_t kind_bit(simdjson::ondemand::json_type t) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(t));
}

template <class N>
std::uint64_t number_bytes(N v) {
  char buf[32];
  return static_cast<std::uint64_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
}

}  // namespace

scanner::scanner(std::string base, std::string base_pointer, std::unordered_set<std::string> maps,
                 bool find_maps)
    : base_pointer_(std::move(base_pointer)),
      whole_document_(base.empty()),
      maps_(std::move(maps)),
      find_maps_(find_maps) {
  patterns_.push_back({});
  patterns_[0].map = maps_.contains(base);
  patterns_[0].text = std::move(base);
}

void scanner::feed(simdjson::ondemand::document& doc, std::size_t index) {
  trail_.clear();
  if (!whole_document_) path_.push_back({{}, index, true});
  summary s = visit(doc, 0);
  if (!whole_document_) path_.pop_back();
  if (!doc.current_location().error()) throw simdjson::simdjson_error(simdjson::TRAILING_CONTENT);
  bytes_ += s.bytes;
  saved_ += s.saved;
}

std::uint32_t scanner::add_child(std::uint32_t at, std::string text, std::string member) {
  auto id = static_cast<std::uint32_t>(patterns_.size());
  pattern p;
  p.parent = at;
  p.text = std::move(text);
  p.member = std::move(member);
  p.member_hash = detail::hash_key(p.member);
  p.member_bytes = string_bytes(p.member);
  p.map = maps_.contains(p.text);
  patterns_.push_back(std::move(p));
  return id;
}

std::uint32_t scanner::elements_of(std::uint32_t at) {
  if (patterns_[at].elements) return *patterns_[at].elements;
  std::uint32_t id = add_child(at, patterns_[at].text + "/*", "");
  patterns_[at].elements = id;
  return id;
}

std::uint32_t scanner::member_of(std::uint32_t at, std::string_view member, std::size_t position) {
  if (patterns_[at].map) return elements_of(at);
  const auto& known = patterns_[at].children;
  if (position < known.size() && known[position].first == member) return known[position].second;
  for (const auto& [name, id] : known)
    if (name == member) return id;
  std::string text = patterns_[at].text;
  detail::append_token(text, member);
  std::uint32_t id = add_child(at, std::move(text), std::string(member));
  patterns_[at].children.emplace_back(std::string(member), id);
  return id;
}

std::string scanner::pointer() const {
  std::string out = base_pointer_;
  for (const step& s : path_) {
    if (s.is_index) {
      out += '/';
      out += std::to_string(s.index);
    } else {
      detail::append_token(out, s.member);
    }
  }
  return out;
}

template <class V>
scanner::summary scanner::visit(V& v, std::uint32_t at) {
  using simdjson::ondemand::json_type;
  json_type type = v.type().value();
  patterns_[at].kinds |= kind_bit(type);
  switch (type) {
    case json_type::array:
      return visit_array(v.get_array().value(), at);
    case json_type::object:
      return visit_object(v.get_object().value(), at);
    case json_type::number:
      switch (v.get_number_type().value()) {
        case simdjson::ondemand::number_type::signed_integer: {
          std::int64_t n = v.get_int64().value();
          return {mix(seed_int, static_cast<std::uint64_t>(n)), number_bytes(n), 0};
        }
        case simdjson::ondemand::number_type::unsigned_integer: {
          std::uint64_t n = v.get_uint64().value();
          return {mix(seed_uint, n), number_bytes(n), 0};
        }
        case simdjson::ondemand::number_type::floating_point_number:
          break;
      }
      {
        double d = v.get_double().value();
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        return {mix(seed_double, bits), number_bytes(d), 0};
      }
    case json_type::string: {
      std::string_view text = v.get_string().value();
      return {mix(seed_string, detail::hash_key(text)), string_bytes(text), 0};
    }
    case json_type::boolean: {
      bool b = v.get_bool().value();
      return {mix(seed_bool, b), b ? 4u : 5u, 0};
    }
    case json_type::null:
      if (!v.is_null().value()) throw simdjson::simdjson_error(simdjson::N_ATOM_ERROR);
      break;
  }
  return {seed_null, 4, 0};
}

// A container is first looked up by its exact bytes: a subtree met again as the same bytes counts
// again as it did, without a walk. Only repeats are kept, and only patterns that have repeated are
// looked up, so a pattern whose subtrees are all distinct (records with an id) costs nothing more.
template <class C, class Walk>
scanner::summary scanner::through_memo(C& container, std::uint32_t at, Walk&& walk) {
  const pattern& p = patterns_[at];
  if (p.occurrences == p.distinct.size()) return walk(container);
  std::string_view raw = detail::trim_right(container.raw_json().value());
  std::uint64_t key = mix(at, detail::hash_key(raw));
  if (auto it = memos_.find(key); it != memos_.end()) return replay(it->second);
  container.reset().value();
  std::size_t first = trail_.size();
  summary s = walk(container);
  if (last_repeated_ && trail_.size() > first) {
    memos_.emplace(key, memo{memo_steps_.size(), trail_.size() - first});
    memo_steps_.insert(memo_steps_.end(), trail_.begin() + static_cast<std::ptrdiff_t>(first),
                       trail_.end());
  }
  return s;
}

scanner::summary scanner::replay(const memo& m) {
  const counted* steps = memo_steps_.data() + m.first;
  summary s;
  for (std::size_t i = 0; i < m.count; ++i) {
    const counted& c = steps[i];
    pattern& p = patterns_[c.pattern];
    ++p.occurrences;
    p.bytes += c.bytes;
    s = {c.hash, c.bytes, c.bytes > reference_bytes ? c.bytes - reference_bytes : 0};
    p.saved += s.saved;
    p.last_hash = c.hash;
    trail_.push_back(c);
  }
  last_repeated_ = true;
  return s;  // the container itself is the last step
}

scanner::summary scanner::visit_array(simdjson::ondemand::array a, std::uint32_t at) {
  return through_memo(a, at, [&](simdjson::ondemand::array& all) { return walk_array(all, at); });
}

scanner::summary scanner::visit_object(simdjson::ondemand::object o, std::uint32_t at) {
  return through_memo(o, at, [&](simdjson::ondemand::object& all) { return walk_object(all, at); });
}

// Empty containers are recorded like any other: a pattern that is often `[]` repeats that often.
scanner::summary scanner::walk_array(simdjson::ondemand::array& a, std::uint32_t at) {
  std::uint32_t elements = elements_of(at);
  summary s{seed_array, 2, 0};
  std::size_t i = 0;
  for (auto element : a) {
    simdjson::ondemand::value e = element.value();
    path_.push_back({{}, i, true});
    summary c = visit(e, elements);
    path_.pop_back();
    s.hash = mix(s.hash, c.hash);
    s.bytes += c.bytes + (i ? 1 : 0);
    s.saved += c.saved;
    ++i;
  }
  last_repeated_ = false;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> none;
  return record(at, s, false, none);
}

scanner::summary scanner::walk_object(simdjson::ondemand::object& o, std::uint32_t at) {
  std::size_t depth = path_.size();
  if (member_scratch_.size() <= depth) member_scratch_.resize(depth + 1);
  member_scratch_[depth].clear();
  summary s{0, 2, 0};
  std::uint64_t n = 0;
  for (auto member : o) {
    simdjson::ondemand::field field;
    if (auto failed = std::move(member).get(field)) throw simdjson::simdjson_error(failed);
    std::string_view key = field.unescaped_key().value();
    std::uint32_t c = member_of(at, key, n);
    // A map's members share the `*` child, which names none of them: its name is the key's own.
    bool map = patterns_[at].map;
    std::uint64_t name_hash = map ? detail::hash_key(key) : patterns_[c].member_hash;
    std::uint64_t name_bytes = map ? string_bytes(key) : patterns_[c].member_bytes;
    path_.push_back({key, 0, false});
    summary v = visit(field.value(), c);
    path_.pop_back();
    s.hash += mix(name_hash, v.hash);  // a sum: member order does not count
    s.bytes += name_bytes + 1 + v.bytes + (n ? 1 : 0);
    s.saved += v.saved;
    member_scratch_[depth].emplace_back(c, v.hash);
    ++n;
    // Found as soon as it shows, the members after it go to `*` and the maps inside show too.
    pattern& p = patterns_[at];
    if (find_maps_ && !p.map && p.children.size() >= p.map_check) {
      p.map_check = 2 * p.children.size();  // asked again as names double: linear in all
      if (looks_like_map(p)) {
        p.map = true;
        new_maps_.push_back(p.text);
      }
    }
  }
  s.hash = mix(seed_object + (n << 8), s.hash);
  last_repeated_ = false;
  return record(at, s, true, member_scratch_[depth]);
}

// A map: at least `map_min_members` differently named members (counted over all of the pattern's
// objects), whose values are all objects or all arrays (nulls aside), and, for objects, of one
// type: each member name of the values is used by two of them on average. Records whose members
// are sub-records of different types fail the last test, records of scalars the one before.
bool scanner::looks_like_map(const pattern& p) const {
  constexpr std::uint8_t object = kind_bit(simdjson::ondemand::json_type::object);
  constexpr std::uint8_t array = kind_bit(simdjson::ondemand::json_type::array);
  constexpr std::uint8_t null = kind_bit(simdjson::ondemand::json_type::null);
  std::uint8_t shape = 0;
  std::size_t names = 0;
  std::unordered_set<std::string_view> distinct;
  for (const auto& [name, id] : p.children) {
    const pattern& value = patterns_[id];
    std::uint8_t kind = value.kinds & ~null;
    if (!kind) continue;
    if ((kind != object && kind != array) || (shape && kind != shape)) return false;
    shape = kind;
    for (const auto& [member, child] : value.children) distinct.insert(member), ++names;
  }
  return shape == array || (shape == object && names >= 2 * distinct.size());
}

scanner::summary scanner::record(std::uint32_t at, summary s, bool object,
                                 std::vector<std::pair<std::uint32_t, std::uint64_t>>& members) {
  pattern& p = patterns_[at];
  ++p.occurrences;
  trail_.push_back({at, s.hash, s.bytes});
  p.bytes += s.bytes;
  p.all_objects = p.all_objects && object;
  auto repeat = [&] {  // a reference replaces it whole, with all it holds
    s.saved = s.bytes > reference_bytes ? s.bytes - reference_bytes : 0;
    p.saved += s.saved;
    last_repeated_ = true;
    return s;
  };
  if (s.hash == p.last_hash && p.occurrences > 1) return repeat();
  p.last_hash = s.hash;
  auto [it, inserted] = p.distinct.try_emplace(s.hash);
  if (!inserted) return repeat();
  it->second.bytes = s.bytes;
  it->second.order = distinct_seen_++;
  it->second.first_pointer = pointer();
  std::sort(members.begin(), members.end());
  it->second.members = members;
  return s;
}

namespace {

/// Each distinct object's value hash for each of the pattern's members (0: absent), looked up
/// in the row's own sorted members rather than copied into a rows x members table, whose size
/// sparse members would multiply.
struct member_table {
  std::vector<std::uint32_t> columns;  // child pattern ids
  std::vector<const distinct_value*> rows;

  explicit member_table(const pattern& p) {
    for (const auto& [name, id] : p.children) columns.push_back(id);
    std::sort(columns.begin(), columns.end());  // ids follow first appearance: the natural order
    for (const auto& [hash, value] : p.distinct) rows.push_back(&value);
    std::sort(rows.begin(), rows.end(),
              [](auto* a, auto* b) { return a->first_pointer < b->first_pointer; });
  }

  std::uint64_t cell(std::size_t row, std::size_t column) const {
    const auto& members = rows[row]->members;
    auto it = std::lower_bound(members.begin(), members.end(),
                               std::pair<std::uint32_t, std::uint64_t>{columns[column], 0});
    return it != members.end() && it->first == columns[column] ? it->second : 0;
  }
  std::uint64_t combined(std::size_t row, const std::vector<std::size_t>& set) const {
    std::uint64_t h = 0;
    for (std::size_t c : set) h = mix(h, cell(row, c));
    return h;
  }
  std::size_t distinct_of(const std::vector<std::size_t>& set) const {
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t r = 0; r < rows.size(); ++r) seen.insert(combined(r, set));
    return seen.size();
  }
  /// The distinct values of every column, in one sweep over the rows' members.
  std::vector<std::size_t> distinct_by_column() const {
    std::vector<std::unordered_set<std::uint64_t>> seen(columns.size());
    std::vector<std::size_t> present(columns.size());
    for (const distinct_value* row : rows) {
      std::uint32_t last = 0;
      for (const auto& [column, hash] : row->members) {
        auto at = std::lower_bound(columns.begin(), columns.end(), column);
        if (at == columns.end() || *at != column) continue;
        auto c = static_cast<std::size_t>(at - columns.begin());
        seen[c].insert(hash);
        present[c] += column != last;  // members are sorted: a name twice counts once
        last = column;
      }
    }
    std::vector<std::size_t> out(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c)  // absence is a value, as `cell` has it
      out[c] = seen[c].size() + (present[c] < rows.size() && !seen[c].contains(0));
    return out;
  }
};

/// Calls f(set) for every set of `k` of the first `n` columns, in order, until f returns true.
template <class F>
bool each_subset(std::size_t n, std::size_t k, std::vector<std::size_t>& set, F&& f) {
  if (set.size() == k) return f(set);
  for (std::size_t c = set.empty() ? 0 : set.back() + 1; c < n; ++c) {
    set.push_back(c);
    if (each_subset(n, k, set, f)) return true;
    set.pop_back();
  }
  return false;
}

std::string merge_warning(const member_table& t, const std::vector<pattern>& all, std::size_t col,
                          std::size_t merged) {
  std::unordered_map<std::uint64_t, std::size_t> first;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    auto [it, inserted] = first.try_emplace(t.cell(r, col), r);
    if (inserted) continue;
    return "keying on \"" + all[t.columns[col]].member + "\" alone would merge " +
           std::to_string(merged) + " distinct values that differ elsewhere (e.g. " +
           t.rows[it->second]->first_pointer + " and " + t.rows[r]->first_pointer + ")";
  }
  return {};
}

}  // namespace

key_report find_key(const pattern& p, const std::vector<pattern>& all) {
  key_report out;
  if (!p.all_objects || p.distinct.size() < 2) return out;
  member_table t(p);
  std::size_t want = t.rows.size(), best_col = 0, best = 0;
  std::vector<std::size_t> single = t.distinct_by_column();
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    if (single[c] > best) best = single[c], best_col = c;
    if (single[c] == want && out.members.empty()) out.members.push_back(all[t.columns[c]].member);
  }
  // Sets grow only while the work stays small; beyond, the report says "whole value".
  std::size_t budget = 20'000'000;
  for (std::size_t k = 2; k <= 3 && out.members.empty(); ++k) {
    std::vector<std::size_t> set;
    each_subset(t.columns.size(), k, set, [&](const std::vector<std::size_t>& s) {
      if (budget < want) return true;
      budget -= want;
      if (t.distinct_of(s) != want) return false;
      for (std::size_t c : s) out.members.push_back(all[t.columns[c]].member);
      return true;
    });
  }
  if (best < want && !t.columns.empty()) out.warning = merge_warning(t, all, best_col, want - best);
  return out;
}

}  // namespace dedup::cli::analysis

// dedup-bench's intern table rows (bench/tables.hpp).
#include "bench/tables.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <boost/flyweight.hpp>
#include <boost/flyweight/key_value.hpp>

#include "bench/models.hpp"
#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace bench {
namespace {

using steady = std::chrono::steady_clock;
namespace od = simdjson::ondemand;

/// What each table stores per key in the comparison.
struct payload {
  std::string key;
  explicit payload(std::string_view k) : key(k) {}
};

/// The keys dedup computes for the dataset type (read as `TypeModel`) and data coordinate of every
/// ref of W1, in order.
template <class TypeModel>
std::vector<std::string> key_stream(const simdjson::padded_string& text) {
  std::vector<std::string> keys;
  od::parser parser;
  od::document doc = parser.iterate(text);
  for (auto ref : doc["refs"]) {
    for (auto field : ref.get_object()) {
      std::string key;
      std::string_view name = field.unescaped_key().value();
      dedup::detail::simdjson_source src(field.value().value());
      if (name == "datasetType")
        dedup::detail::encode_key<TypeModel>(src, {}, key);
      else if (name == "dataId")
        dedup::detail::encode_key<butler::DataCoordinate>(src, {}, key);
      else
        continue;
      keys.push_back(std::move(key));
    }
  }
  return keys;
}

/// ns per miss (filling an empty table with the distinct keys) and per hit (the whole stream on
/// the filled table), medians over `reps`. Each lookup's result is kept, as a deserializer keeps
/// it; releasing the results is not timed.
template <class Table>
table_row time_table(const std::string& name, const std::string& label,
                     const std::vector<std::string_view>& stream,
                     const std::vector<std::string_view>& distinct, int reps) {
  std::vector<double> hit, miss;
  for (int r = 0; r < reps; ++r) {
    Table table;
    std::vector<typename Table::handle> kept;
    kept.reserve(stream.size());
    auto t0 = steady::now();
    for (std::string_view k : distinct) kept.push_back(table.get(k));
    auto t1 = steady::now();
    kept.clear();
    for (std::string_view k : stream) kept.push_back(table.get(k));
    auto t2 = steady::now();
    miss.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / distinct.size());
    hit.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count() / stream.size());
  }
  return {name, label, median(hit), median(miss)};
}

struct dedup_table {
  using handle = std::shared_ptr<const payload>;
  dedup::intern_table<payload> table;
  handle get(std::string_view k) {
    return table.intern(k, [&] { return payload(k); });
  }
};

/// The table of a scope no other thread has joined: the one a deserializer uses (no locks).
struct dedup_scope_table {
  using handle = std::shared_ptr<const payload>;
  dedup::scope scope;
  dedup::intern_table<payload>& table = scope.get().table<payload>();
  handle get(std::string_view k) {
    return table.intern(k, [&] { return payload(k); });
  }
};

struct flyweight_table {
  using handle = boost::flyweights::flyweight<
      boost::flyweights::key_value<std::string_view, payload>, boost::flyweights::hashed_factory<>,
      boost::flyweights::simple_locking, boost::flyweights::refcounted>;
  handle get(std::string_view k) { return handle(k); }
};

/// No table: the hash of each key alone, which any table that hashes its keys pays on every lookup.
struct hash_only {
  using handle = std::size_t;
  handle get(std::string_view k) { return dedup::detail::hash_key(k); }
};

/// No table: the hash of each key and a copy of a `shared_ptr` it selects among a few held ones,
/// the least any table that hashes its keys and hands out `shared_ptr`s pays on every hit (the
/// copy is an atomic increment, as Flyweight's handle makes).
struct hash_and_handout {
  using handle = std::shared_ptr<const payload>;
  std::array<handle, 64> held;
  hash_and_handout() {
    for (handle& h : held) h = std::make_shared<const payload>("");
  }
  handle get(std::string_view k) { return held[dedup::detail::hash_key(k) % held.size()]; }
};

struct map_table {
  using handle = std::shared_ptr<const payload>;
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, handle, hash, std::equal_to<>> map;
  handle get(std::string_view k) {
    if (auto it = map.find(k); it != map.end()) return it->second;
    auto made = std::make_shared<const payload>(k);
    map.emplace(std::string(k), made);
    return made;
  }
};

/// Every table on one key stream, `label`; the stream's size goes to `notes`.
void compare_tables(std::vector<std::string> keys, const std::string& label, int reps,
                    std::vector<table_row>& tables, std::vector<std::string>& notes) {
  std::vector<std::string_view> stream(keys.begin(), keys.end()), distinct;
  std::unordered_set<std::string_view> seen;
  for (std::string_view k : stream)
    if (seen.insert(k).second) distinct.push_back(k);
  tables.push_back(time_table<dedup_scope_table>("dedup::intern_table, in a scope", label, stream,
                                                 distinct, reps));
  tables.push_back(time_table<dedup_table>("dedup::intern_table, standalone (shared)", label,
                                           stream, distinct, reps));
  tables.push_back(time_table<flyweight_table>(
      "Boost.Flyweight (hashed, simple_locking, refcounted)", label, stream, distinct, reps));
  tables.push_back(time_table<map_table>("std::unordered_map<std::string, shared_ptr>", label,
                                         stream, distinct, reps));
  tables.push_back(
      time_table<hash_only>("XXH3 of the key alone (no table)", label, stream, distinct, reps));
  tables.push_back(time_table<hash_and_handout>("XXH3 of the key and a shared_ptr copy (no table)",
                                                label, stream, distinct, reps));
  notes.push_back("Intern tables, " + label + ": " + std::to_string(stream.size()) + " lookups, " +
                  std::to_string(distinct.size()) + " distinct keys.");
}

}  // namespace

std::vector<table_row> table_rows(const settings& s, std::vector<std::string>& notes) {
  std::vector<table_row> tables;
  std::cerr << "  intern tables...\n";
  simdjson::padded_string text = w1_document(s);
  int reps = std::max(3, s.reps);
  compare_tables(key_stream<butler::DatasetType>(text), "exact-bytes type keys", reps, tables,
                 notes);
  compare_tables(key_stream<member_keyed_type>(text), "member type keys", reps, tables, notes);
  return tables;
}

}  // namespace bench

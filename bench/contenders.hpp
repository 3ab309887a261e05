// The contenders of dedup-bench's reading rows on one document: nlohmann and simdjson On-Demand,
// each with and without dedup, the floor, and the peers (bench/peers.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/floor.hpp"
#include "bench/isolated.hpp"
#include "bench/peers.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "memory.hpp"

namespace bench {

/// (a) to (e): nlohmann and On-Demand, with and without dedup, and the floor. `Interned` holds
/// repeated parts shared, `Value` by value.
template <class Interned, class Value>
std::vector<contender> dedup_contenders(const simdjson::padded_string& text) {
  namespace od = simdjson::ondemand;
  auto parser = std::make_shared<od::parser>();
  std::string_view bytes(text.data(), text.size());
  return {
      {"(a) nlohmann, value structs",
       [bytes](probe& p) {
         p.begin();
         Value v = nlohmann::json::parse(bytes).get<Value>();
         p.end(v);
       }},
      {"(b) nlohmann + dedup",
       [bytes](probe& p) {
         p.begin();
         dedup::scope s;
         auto v = dedup::from_simple<Interned>(nlohmann::json::parse(bytes));
         p.end(v);
       }},
      {"(c) simdjson, value structs",
       [parser, &text](probe& p) {
         p.begin();
         Value v = dedup::parse_fast<Value>(*parser, text);
         p.end(v);
       }},
      {"(d) simdjson + dedup",
       [parser, &text](probe& p) {
         p.begin();
         dedup::scope s;
         auto v = dedup::parse_fast<Interned>(*parser, text);
         p.end(v);
         if (p.repeat) {
           std::size_t before = dedup::memory::allocations();
           auto again = dedup::parse_fast<Interned>(*parser, text);
           p.repeat_allocations = dedup::memory::allocations() - before;
         }
       }},
      {"(e) simdjson visit, floor",
       [parser, &text](probe& p) {
         p.begin();
         od::document doc = parser->iterate(text);
         std::uint64_t n = bench::visit(doc.get_value().value());
         p.end(n);
       }},
  };
}

/// (f) to (i): the peers, RapidJSON and, where it is built, Boost.JSON.
template <class Interned, class Value>
std::vector<contender> peer_contenders(const simdjson::padded_string& text) {
  std::string_view bytes(text.data(), text.size());
  return {
      {"(f) RapidJSON Parse, hand conversion",
       [bytes](probe& p) {
         p.begin();
         Value v;
         bench::peers::rapidjson_parse(bytes, v);
         p.end(v);
       }},
      // ParseInsitu overwrites its input: each load gets a fresh copy, made before the clock.
      {"(g) RapidJSON ParseInsitu, hand conversion",
       [bytes](probe& p) {
         std::string copy(bytes);
         p.begin();
         Value v;
         bench::peers::rapidjson_insitu(copy.data(), v);
         p.end(v);
       }},
      {"(h) RapidJSON ParseInsitu + hand interning",
       [bytes](probe& p) {
         std::string copy(bytes);
         p.begin();
         Interned v;
         bench::peers::rapidjson_intern(copy.data(), v);
         p.end(v);
       }},
#ifdef DEDUP_BENCH_BOOST_JSON
      {"(i) Boost.JSON + Describe, value_to",
       [bytes](probe& p) {
         p.begin();
         Value v;
         bench::peers::boost_json_load(bytes, v);
         p.end(v);
       }},
#endif
  };
}

/// The contenders on one document, in the order of the table.
template <class Interned, class Value>
std::vector<contender> contenders(const simdjson::padded_string& text) {
  std::vector<contender> all = dedup_contenders<Interned, Value>(text);
  for (contender& c : peer_contenders<Interned, Value>(text)) all.push_back(std::move(c));
  return all;
}

}  // namespace bench

// bench/peers.hpp: the loaders of dedup-bench's peer contenders (f) to (i), what a user would pick
// instead of dedup, on the benchmark's own structs (bench/models.hpp). Each loads one whole
// document; the bench times the call and checks what it built against (c) or (d).
#pragma once

#include <string_view>

#include "bench/models.hpp"

namespace bench::peers {

// (f) RapidJSON `Parse` into its DOM, then a conversion into the value structs written by hand,
// member by member, as a RapidJSON user writes one (bench/peers_rapidjson.cpp).
void rapidjson_parse(std::string_view text, value_ref_list& out);
void rapidjson_parse(std::string_view text, citm::catalog<by_value>& out);
void rapidjson_parse(std::string_view text, twitter::timeline<by_value>& out);

// (g) The same with `ParseInsitu`, which decodes strings in place: `text` is a mutable,
// NUL-terminated copy of the document that the call overwrites.
void rapidjson_insitu(char* text, value_ref_list& out);
void rapidjson_insitu(char* text, citm::catalog<by_value>& out);
void rapidjson_insitu(char* text, twitter::timeline<by_value>& out);

// (h) `ParseInsitu`, then a hand-written conversion that interns the repeated parts itself, one
// std::unordered_map per type keyed by the members that identify a value: the structs with
// shared parts that dedup (d) builds.
void rapidjson_intern(char* text, butler::RefList& out);
void rapidjson_intern(char* text, citm::catalog<shared>& out);
void rapidjson_intern(char* text, twitter::timeline<shared>& out);

/// Whether (i) is built: only where Boost.JSON is installed (bench/CMakeLists.txt).
#ifdef DEDUP_BENCH_BOOST_JSON
inline constexpr bool has_boost_json = true;
#else
inline constexpr bool has_boost_json = false;
#endif

// (i) Boost.JSON `parse`, then `value_to<Value>` through Boost.Describe descriptions of the value
// structs (bench/peers_boost_json.cpp), where has_boost_json.
void boost_json_load(std::string_view text, value_ref_list& out);
void boost_json_load(std::string_view text, citm::catalog<by_value>& out);
void boost_json_load(std::string_view text, twitter::timeline<by_value>& out);

/// What the bench prints under its table about how (i) had to be written.
extern const char* const boost_json_note;

}  // namespace bench::peers

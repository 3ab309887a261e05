// The parameter hash of a cache entry: XXH3 over the canonical simple form of its arguments, in
// which every object's members are ordered by name, so neither member order nor map order (an
// unordered_map's iteration) changes it; arrays keep their order, which is part of the value.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dedup/detail/codec/codecs_struct.hpp"
#include "dedup/detail/codec/traits.hpp"
#include "dedup/detail/hash.hpp"
#include "dedup/detail/writer/text_sink.hpp"

namespace dedup::detail {

/// A sink writing compact JSON with each object's members sorted by name (scalars are spelled by
/// `text_sink`), so equal values give equal text however their members were ordered.
///
/// ```
/// std::string out;
/// dedup::detail::canonical_sink sink(out);
/// sink.begin_object(); sink.key("b"); sink.integer(std::int64_t{1});
/// sink.key("a"); sink.null(); sink.end_object();
/// assert(out == R"({"a":null,"b":1})");
/// ```
class canonical_sink {
 public:
  explicit canonical_sink(std::string& out) : out_(out) {}

  void null() {
    scalar([](text_sink& s) { s.null(); });
  }
  void boolean(bool v) {
    scalar([&](text_sink& s) { s.boolean(v); });
  }
  void integer(std::int64_t v) {
    scalar([&](text_sink& s) { s.integer(v); });
  }
  void integer(std::uint64_t v) {
    scalar([&](text_sink& s) { s.integer(v); });
  }
  void number(double v) {
    scalar([&](text_sink& s) { s.number(v); });
  }
  void string(std::string_view v) {
    scalar([&](text_sink& s) { s.string(v); });
  }
  void begin_array() { open_.push_back({false}); }
  void begin_object() { open_.push_back({true}); }
  void key(std::string_view name) {
    open_.back().key.clear();
    text_sink(open_.back().key).string(name);
  }
  void end_array() {
    std::string text = "[" + std::move(open_.back().text) + "]";
    open_.pop_back();
    emit(std::move(text));
  }
  void end_object() {
    auto& members = open_.back().members;
    std::sort(members.begin(), members.end());
    std::string text = "{";
    for (std::size_t i = 0; i < members.size(); ++i)
      text += (i ? "," : "") + members[i].first + ":" + members[i].second;
    text += '}';
    open_.pop_back();
    emit(std::move(text));
  }

 private:
  struct frame {
    bool object = false;
    std::string text{};                                          // an array's elements so far
    std::vector<std::pair<std::string, std::string>> members{};  // quoted name, value text
    std::string key{};
  };
  template <class F>
  void scalar(F&& f) {
    std::string text;
    text_sink s(text);
    f(s);
    emit(std::move(text));
  }
  void emit(std::string text) {
    if (open_.empty()) {
      out_ += text;
    } else if (open_.back().object) {
      open_.back().members.emplace_back(std::move(open_.back().key), std::move(text));
    } else {
      if (!open_.back().text.empty()) open_.back().text += ',';
      open_.back().text += text;
    }
  }

  std::string& out_;
  std::vector<frame> open_;
};
static_assert(json_sink<canonical_sink>);

/// Writes one argument canonically: a value with a codec as its simple form, anything that
/// converts to a string view (a literal) as a string.
template <class A>
void write_canonical(canonical_sink& sink, const A& arg) {
  if constexpr (has_codec<A>)
    write_to<A>(sink, arg);
  else if constexpr (std::is_convertible_v<const A&, std::string_view>)
    sink.string(std::string_view(arg));
  else
    static_assert(has_codec<A>, "dedup::disk_cache: a parameter needs a codec (dedup/codec.hpp)");
}

/// The hash of an entry's parameters: 0 for none (nothing hashed), else XXH3 of the canonical
/// text of the array of the arguments.
///
/// ```
/// std::map<std::string, int> m{{"a", 1}, {"b", 2}};
/// assert(dedup::detail::parameters_hash(m, 3) != dedup::detail::parameters_hash(m, 4));
/// assert(dedup::detail::parameters_hash() == 0);
/// ```
template <class... Args>
std::uint64_t parameters_hash(const Args&... args) {
  if constexpr (sizeof...(Args) == 0) {
    return 0;
  } else {
    std::string text;
    canonical_sink sink(text);
    sink.begin_array();
    (write_canonical(sink, args), ...);
    sink.end_array();
    std::uint64_t h = XXH3_64bits(text.data(), text.size());
    return h ? h : 1;  // 0 means "no parameters"
  }
}

}  // namespace dedup::detail

// The nlohmann backend's sink: the codecs write a value event by event (detail/codec/source.hpp)
// and this builds the nlohmann::json DOM that `to_simple` returns. Only dedup/nlohmann.hpp includes
// it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dedup/detail/codec/codecs_struct.hpp"
#include "dedup/detail/codec/traits.hpp"

namespace dedup::detail {

/// Builds one nlohmann::json value from the events of a codec's `write`.
class nlohmann_sink {
 public:
  using json = nlohmann::json;

  void null() { put(nullptr); }
  void boolean(bool v) { put(v); }
  void integer(std::int64_t v) { put(v); }
  void integer(std::uint64_t v) { put(v); }
  void number(double v) { put(v); }
  void string(std::string_view v) { put(std::string(v)); }
  void begin_array() { open_.push_back(put(json::array())); }
  void begin_object() { open_.push_back(put(json::object())); }
  void end_array() { open_.pop_back(); }
  void end_object() { open_.pop_back(); }
  void key(std::string_view name) { key_.assign(name); }

  /// The value written; the sink is empty afterwards.
  json take() { return std::move(root_); }

 private:
  json* put(json v) {
    if (open_.empty()) return &(root_ = std::move(v));
    json& parent = *open_.back();
    if (parent.is_array()) return &parent.emplace_back(std::move(v));
    return &(parent[key_] = std::move(v));
  }

  json root_;
  std::vector<json*> open_;
  std::string key_;
};
static_assert(json_sink<nlohmann_sink>);

/// The simple form of v as a DOM.
template <class T>
nlohmann::json write(const T& v) {
  nlohmann_sink sink;
  write_to<T>(sink, v);
  return sink.take();
}

}  // namespace dedup::detail

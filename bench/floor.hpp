// The floor every On-Demand reader is measured against: a walk that visits every value of the
// document and builds nothing. One copy, for dedup-bench's loads and its wire section.
#pragma once

#include <cstdint>

#include <simdjson.h>

namespace bench {

/// Visits every value of the document and builds nothing: the floor of any On-Demand reader.
inline std::uint64_t visit(simdjson::ondemand::value v) {
  std::uint64_t n = 0;
  switch (v.type().value()) {
    case simdjson::ondemand::json_type::object:
      for (auto field : v.get_object()) {
        n += static_cast<unsigned char>(*field.key().value().raw());
        n += visit(field.value().value());
      }
      break;
    case simdjson::ondemand::json_type::array:
      for (auto element : v.get_array()) n += visit(element.value());
      break;
    case simdjson::ondemand::json_type::string:
      n += v.get_string().value().size();
      break;
    case simdjson::ondemand::json_type::number:
      n += static_cast<std::uint64_t>(v.get_double().value() != 0);
      break;
    case simdjson::ondemand::json_type::boolean:
      n += v.get_bool().value();
      break;
    case simdjson::ondemand::json_type::null:
      n += v.is_null().value();
      break;
  }
  return n;
}

}  // namespace bench

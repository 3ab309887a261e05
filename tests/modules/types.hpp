// The types the module test reads: one known to every module, and one of each library's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dedup/nlohmann.hpp"
#include "dedup/simdjson.hpp"

#define MODULE_API __attribute__((visibility("default")))

namespace modules {

/// Read by both libraries and the program: one table slot, one instance per key in a scope.
struct common {
  BOOST_HANA_DEFINE_STRUCT(common, (std::string, name), (int, size));
};

/// Each library's own interned type, unknown to the other: without one process-wide registry both
/// would get the same slot number, and one library would use the other's table as its own type.
struct only_in_a {
  BOOST_HANA_DEFINE_STRUCT(only_in_a, (std::string, label));
};
struct only_in_b {
  BOOST_HANA_DEFINE_STRUCT(only_in_b, (std::vector<int>, values), (std::string, label));
};

}  // namespace modules

template <>
struct dedup::options<modules::common> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};
template <>
struct dedup::options<modules::only_in_a> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};
template <>
struct dedup::options<modules::only_in_b> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};

/// What each library exports: reads in the caller's scope, and its own view of the current one and
/// of the stream record and the input being read (as verify mode names it, as a hit checks bytes).
#define MODULE_FUNCTIONS(lib)                                                                   \
  MODULE_API std::shared_ptr<const modules::common> lib##_read_common(const std::string& text); \
  MODULE_API std::string lib##_read_own(const std::string& text);                               \
  MODULE_API std::uint64_t lib##_own_entries();                                                 \
  MODULE_API std::uint64_t lib##_common_entries();                                              \
  MODULE_API const void* lib##_current();                                                       \
  MODULE_API std::optional<std::size_t> lib##_record();                                         \
  MODULE_API const char* lib##_input_end();

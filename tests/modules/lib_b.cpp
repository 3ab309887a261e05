// Library B (built with hidden visibility): reads the common type and its own.
#include "types.hpp"

MODULE_FUNCTIONS(b)

std::shared_ptr<const modules::common> b_read_common(const std::string& text) {
  return dedup::parse<modules::common>(text);
}
std::string b_read_own(const std::string& text) {
  return dedup::parse<modules::only_in_b>(text)->label;
}
std::uint64_t b_own_entries() {
  return dedup::stats<modules::only_in_b>().entries;
}
std::uint64_t b_common_entries() {
  return dedup::stats<modules::common>().entries;
}
const void* b_current() {
  return dedup::detail::current_context;
}
std::optional<std::size_t> b_record() {
  return dedup::detail::current_record;
}
const char* b_input_end() {
  return dedup::detail::simdjson_source::input_end;
}

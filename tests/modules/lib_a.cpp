// Library A (built with hidden visibility): reads the common type and its own.
#include "types.hpp"

MODULE_FUNCTIONS(a)

std::shared_ptr<const modules::common> a_read_common(const std::string& text) {
  return dedup::parse<modules::common>(text);
}
std::string a_read_own(const std::string& text) {
  return dedup::parse<modules::only_in_a>(text)->label;
}
std::uint64_t a_own_entries() {
  return dedup::stats<modules::only_in_a>().entries;
}
std::uint64_t a_common_entries() {
  return dedup::stats<modules::common>().entries;
}
const void* a_current() {
  return dedup::detail::current_context;
}
std::optional<std::size_t> a_record() {
  return dedup::detail::current_record;
}
const char* a_input_end() {
  return dedup::detail::simdjson_source::input_end;
}

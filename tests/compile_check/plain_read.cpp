// A plain read, on either backend, includes nothing of the compact form (dedup/compact.hpp): its
// identity table's name is declared here as something else, which cannot compile where a backend
// header brought the table in.
#include <string>

#include "dedup/nlohmann.hpp"
#include "dedup/simdjson.hpp"

namespace dedup::detail {
using compact_table = void;
}  // namespace dedup::detail

namespace plain {
struct item {
  BOOST_HANA_DEFINE_STRUCT(item, (std::string, name));
};
}  // namespace plain

std::size_t read_on_both_backends() {
  simdjson::padded_string text(std::string(R"({"name":"calexp"})"));
  return dedup::parse_fast<plain::item>(text).name.size() +
         dedup::parse<plain::item>(R"({"name":"bias"})").name.size();
}

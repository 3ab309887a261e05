// Interns through the simdjson backend alone, which must not bring in any nlohmann header;
// exits 0 only if repeats are shared.
#include <dedup/simdjson.hpp>

#ifdef NLOHMANN_JSON_VERSION_MAJOR
#error "dedup/simdjson.hpp included an nlohmann_json header"
#endif

#include "../consumer/instrument.hpp"

int main() {
  simdjson::padded_string text(std::string_view(R"({"name": "HSC", "detectors": 112})"));
  dedup::scope s;
  auto a = dedup::parse_fast<Instrument>(text);
  auto b = dedup::parse_fast<Instrument>(text);
  return a == b && a->detectors == 112 ? 0 : 1;
}

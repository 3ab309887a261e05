// Compiled twice by tests/CMakeLists.txt: with DEDUP_KEY_MEMBER "name" it must compile, with
// "nmae" it must not (the docs promise a misspelled key member is a compile error). One source
// for both, so that the failing build can fail for no other reason than the spelling.
#include <dedup/nlohmann.hpp>

#include <memory>
#include <string>

struct Instrument {
  BOOST_HANA_DEFINE_STRUCT(Instrument, (std::string, name), (int, detectors));
};
template <>
struct dedup::options<Instrument> : dedup::default_options {
  static constexpr auto key = dedup::key_members(DEDUP_KEY_MEMBER);
};

std::shared_ptr<const Instrument> read_instrument(const nlohmann::json& j) {
  return dedup::from_simple<Instrument>(j);
}

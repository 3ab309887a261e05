// The type every consumer project interns: one definition for all of them.
#pragma once

#include <string>

#include <dedup/reflect.hpp>

struct Instrument {
  BOOST_HANA_DEFINE_STRUCT(Instrument, (std::string, name), (int, detectors));
};
template <>
struct dedup::options<Instrument> : dedup::default_options {
  static constexpr auto key = dedup::key_members("name");
};

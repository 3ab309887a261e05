// disk_cache_fixture.hpp: the value the disk cache's fault tests store, shared by the test and
// the worker program it spawns, so that both sides agree on its layout fingerprint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/hana/define_struct.hpp>

#include "dedup/detail/hash.hpp"

namespace dedup_fault {

/// A value that proves itself whole: `digest` is the hash of everything else, so a torn or
/// mixed-up value (one writer's payload under another's sequence number) fails `intact()`.
///
/// ```
/// auto v = dedup_fault::make_value(1, 2, 100);
/// assert(dedup_fault::intact(v) && v.payload.size() == 100);
/// ```
struct stamped {
  BOOST_HANA_DEFINE_STRUCT(stamped, (std::int64_t, writer), (std::int64_t, seq),
                           (std::string, payload), (std::uint64_t, digest));
};

inline std::uint64_t digest_of(std::int64_t writer, std::int64_t seq, std::string_view payload) {
  std::string all = std::to_string(writer) + "/" + std::to_string(seq) + "/";
  all += payload;
  return static_cast<std::uint64_t>(dedup::detail::hash_key(all));
}

/// A value of `bytes` payload characters that varies with (writer, seq), so that the checksum
/// of one value never matches another's.
inline stamped make_value(std::int64_t writer, std::int64_t seq, std::size_t bytes) {
  stamped v{writer, seq, std::string(bytes, 'a'), 0};
  for (std::size_t i = 0; i < bytes; ++i)
    v.payload[i] = static_cast<char>('a' + (static_cast<std::size_t>(writer * 7 + seq) + i) % 26);
  v.digest = digest_of(writer, seq, v.payload);
  return v;
}

inline bool intact(const stamped& v) {
  return v.digest == digest_of(v.writer, v.seq, v.payload);
}

/// The fault tests set inline_limit to this: values above it go to files.
inline constexpr std::size_t inline_limit = 4096;
/// Payload sizes on either side of it.
inline constexpr std::size_t small_bytes = 600;
inline constexpr std::size_t large_bytes = 6000;

}  // namespace dedup_fault

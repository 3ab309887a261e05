// How a value becomes the bytes that the disk cache (every tier) and the shared store keep, and
// those bytes a value again: the one place that knows the stored formats. Below it, the cache's
// index and the store's backends know bytes only (the cache checksums them whole, format byte
// included), so every tier that moves bytes carries the format with them.
//
// A stored value is one of:
//   - a byte buffer (`std::vector<std::byte>`, `std::vector<std::uint8_t>`): the byte
//     `stored_format::raw` then the buffer's bytes as they are, never JSON text;
//   - a value in which some shared instance is met more than once: the byte
//     `stored_format::compact` then its compact document (dedup/compact.hpp), each shared
//     instance written once;
//   - any other value, and every value that earlier versions stored: its plain JSON text, no
//     format byte. With nothing repeated the compact document holds the same as the plain text,
//     plus its envelope (about 40 bytes) and a format byte: plain text is smaller, and reads as
//     fast. Plain JSON text as dedup writes it starts with `{`, `[`, `"`, `-`, a digit, `t`, `f`
//     or `n`, never a control byte, so the first byte tells the three apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dedup/compact.hpp"
#include "dedup/error.hpp"
#include "dedup/simdjson.hpp"

namespace dedup::detail {

/// The first byte of a stored value that is not plain JSON text.
///
/// ```
/// std::string bytes = dedup::detail::encode_value(std::vector<std::byte>{std::byte{7}});
/// assert(bytes == std::string{static_cast<char>(dedup::detail::stored_format::raw), '\x07'});
/// ```
enum class stored_format : char { compact = '\x01', raw = '\x02' };

/// Whether T is a byte buffer, stored raw rather than as JSON text.
///
/// ```
/// static_assert(dedup::detail::raw_bytes_value<std::vector<std::byte>>);
/// static_assert(dedup::detail::raw_bytes_value<std::vector<std::uint8_t>>);
/// static_assert(!dedup::detail::raw_bytes_value<std::string>);
/// ```
template <class T>
inline constexpr bool raw_bytes_value =
    std::is_same_v<T, std::vector<std::byte>> || std::is_same_v<T, std::vector<std::uint8_t>>;

/// The bytes stored for `value`: a byte buffer's format byte and its bytes; else, if some shared
/// instance in it is met more than once, the compact format byte and its compact document; else
/// its plain JSON text.
///
/// ```
/// assert(dedup::detail::encode_value(std::vector<int>{1, 2}) == "[1,2]");  // nothing shared
/// dedup::scope s;
/// auto list = dedup::parse<butler::RefList>(dedup_examples::refs_text());  // two equal refs
/// std::string bytes = dedup::detail::encode_value(list);
/// assert(bytes.front() == static_cast<char>(dedup::detail::stored_format::compact));
/// assert(bytes.find(R"({"$ref":0})") != std::string::npos);  // the dataset type, again
/// ```
template <class T>
std::string encode_value(const T& value) {
  std::string out;
  if constexpr (raw_bytes_value<T>) {
    out.reserve(value.size() + 1);
    out += static_cast<char>(stored_format::raw);
    out.append(reinterpret_cast<const char*>(value.data()), value.size());
  } else {
    compact_census census;  // as to_compact: instances met once are written in place
    write_to<T>(census, value);
    if (!census.any_repeated()) {
      write_text(out, value);
      return out;
    }
    out += static_cast<char>(stored_format::compact);
    compact_sink sink(out, &census);
    write_compact_envelope(sink, [&] { write_to<T>(sink, value); });
  }
  return out;
}

/// The same error located in the value rather than in the compact document around it, so that a
/// pointer names the same place whichever format the entry was stored in.
///
/// ```
/// dedup::error e("/value/refs/3", "expected object, found number");
/// assert(dedup::detail::in_stored_value(e).pointer() == "/refs/3");
/// ```
inline error in_stored_value(const error& e) {
  constexpr std::string_view envelope = "/value";
  std::string_view p = e.pointer();
  if (!p.starts_with(envelope) || (p.size() > envelope.size() && p[envelope.size()] != '/'))
    return e;
  return error(std::string(p.substr(envelope.size())), e.detail());
}

/// T from a compact document that starts `skip` bytes into `bytes`, read where it lies (the
/// padding after it is the buffer's own), in the caller's scope.
///
/// ```
/// simdjson::padded_string bytes(std::string(1, '\x01') + dedup::to_compact(std::vector<int>{4}));
/// assert((dedup::detail::read_compact_at<std::vector<int>>(bytes, 1) == std::vector<int>{4}));
/// ```
template <class T>
simple_result_t<T> read_compact_at(const simdjson::padded_string& bytes, std::size_t skip) {
  simdjson::ondemand::parser& parser = thread_parser();
  thread_buffers_bound bound(parser);
  try {
    std::size_t size = bytes.size() - skip;
    simdjson::ondemand::document doc =
        iterate_checked(parser, bytes.data() + skip, size, size + simdjson::SIMDJSON_PADDING);
    return std::move(read_simdjson_document<compact_document<T>>(
                         doc, std::string_view(bytes.data() + skip, size))
                         .value);
  } catch (const error& e) {
    throw in_stored_value(e);
  }
}

/// The value of stored `bytes` (any of the formats above), interned in the current scope as
/// `parse_fast` would. Bytes that do not hold a T are a `dedup::error` (its pointer in the value).
///
/// ```
/// dedup::scope s;
/// auto list = dedup::parse<butler::RefList>(dedup_examples::refs_text());
/// auto bytes = dedup::detail::encode_value(list);  // compact: the refs share their parts
/// auto back = dedup::detail::decode_value<butler::RefList>(simdjson::padded_string(bytes));
/// assert(back->refs[0]->dataset_type == list.refs[1]->dataset_type);  // one instance
/// simdjson::padded_string plain(std::string("[3]"));  // plain JSON text, no format byte
/// assert((*dedup::detail::decode_value<std::vector<int>>(plain) == std::vector<int>{3}));
/// ```
template <class T>
std::shared_ptr<const T> decode_value(const simdjson::padded_string& bytes) {
  const char first = bytes.size() ? bytes.data()[0] : '\0';
  if (first == static_cast<char>(stored_format::raw)) {
    if constexpr (raw_bytes_value<T>) {
      using byte = typename T::value_type;
      auto data = reinterpret_cast<const byte*>(bytes.data() + 1);
      return std::make_shared<const T>(data, data + (bytes.size() - 1));
    } else {
      throw error("", "a raw byte buffer where a JSON value was expected");
    }
  }
  const bool compact = first == static_cast<char>(stored_format::compact);
  const auto lead = static_cast<unsigned char>(first);
  if (!compact && lead < 0x20 && first != '\t' && first != '\n' && first != '\r')
    throw error("", "a stored value of an unknown format (first byte " +
                        std::to_string(static_cast<int>(lead)) + ")");
  if constexpr (interned<T>)
    return compact ? read_compact_at<T>(bytes, 1) : parse_fast<T>(bytes);
  else
    return std::make_shared<const T>(compact ? read_compact_at<T>(bytes, 1) : parse_fast<T>(bytes));
}

}  // namespace dedup::detail

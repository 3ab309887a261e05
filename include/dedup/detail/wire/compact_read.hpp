// Reading the compact form's documents and streams (dedup/compact.hpp): the envelope
// `{"dedup":"compact","version":1,...}` around a document's value, read through a compact source
// (detail/wire/compact_source.hpp) with a table of its own, and a stream's header line, which a
// reader of lines also finds here. `parse_compact` and `parse_compact_fast` read `compact_document`
// through each backend's ordinary document reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dedup/detail/codec/intern.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/wire/compact_source.hpp"
#include "dedup/detail/wire/compact_table.hpp"

namespace dedup::detail {

/// The marker and version that open every compact document and stream.
inline constexpr std::string_view compact_marker = "compact";
inline constexpr std::int64_t compact_version = 1;

/// Checks the marker members of a compact document or stream header at `p` (`"dedup":"compact"`,
/// `"version":1`) and calls on_value(value source, its path) for `value` after them; with
/// `want_value` false (a stream's header) a `value` is an error, as is any other member.
template <class S, class F>
void walk_compact_envelope(S& src, const path& p, bool want_value, F&& on_value) {
  if (json_kind k = src.kind(p); k != json_kind::object)
    fail_kind(p, "a compact document (an object with \"dedup\":\"compact\")", kind_name(k));
  bool marker = false, version = false, value = false, deferred = false;
  src.for_each_member(p, [&](std::string_view key, S& v) {
    path here = p.member(key);
    bool& seen = key == "dedup" ? marker : key == "version" ? version : value;
    if ((key == "value" && !want_value) || (key != "dedup" && key != "version" && key != "value"))
      fail(here, "unexpected member '" + excerpt(key) + "' in a compact " +
                     (want_value ? "document" : "stream header"));
    if (seen) fail(here, "duplicate member '" + excerpt(key) + "'");
    seen = true;
    if (key == "dedup" && read_text(v, here) != compact_marker)
      fail(here, "expected \"compact\", found \"" + excerpt(v.get_string(here)) + "\"");
    if (key == "version") {
      if (v.kind(here) != json_kind::integer || v.get_int64(here) != compact_version)
        fail(here, "unsupported compact version: this reader reads version 1");
    }
    if (key == "value") {
      if (marker && version)
        on_value(v, here);
      else
        deferred = true;
    }
  });
  if (!marker) fail(p.member("dedup"), "missing member 'dedup': not a compact document");
  if (!version) fail(p.member("version"), "missing member 'version' of a compact document");
  if (want_value && !value) fail(p.member("value"), "missing member 'value' of a compact document");
  if (deferred) {
    src.for_each_member(p, [&](std::string_view key, S& v) {
      if (key == "value") on_value(v, p.member(key));
    });
  }
}

/// Writes a compact document's envelope, `{"dedup":"compact","version":1,"value":...}`, with
/// `write_value()` writing its value.
template <class K, class F>
void write_compact_envelope(K& sink, F&& write_value) {
  sink.begin_object();
  sink.key("dedup");
  sink.string(compact_marker);
  sink.key("version");
  sink.integer(compact_version);
  sink.key("value");
  write_value();
  sink.end_object();
}

/// A compact document's value, read as T with its own identity table; what `parse_compact<T>` and
/// `parse_compact_fast<T>` read through the ordinary document readers of each backend.
template <class T>
struct compact_document {
  simple_result_t<T> value{};
};

/// A compact stream's first line, `{"dedup":"compact","version":1}`.
struct compact_header {};

/// T as a definition is read: inside a scope, an interned T is the table's instance for its key.
template <class T, class S>
simple_result_t<T> read_compact_value(S& src, const path& p, context* ctx) {
  if constexpr (interned<T>) {
    std::string key;
    if (ctx) {
      key_scratch scratch;
      encode_key<T>(src, p, key_scratch::buffer());
      key.assign(scratch.view());
    }
    return intern_compact<T>(src, p, ctx, key);
  } else {
    return read_value<T>(src, p, ctx);
  }
}

/// The name of the member whose opening quote is at `line[i]`, decoded, with `i` moved past its
/// closing quote; nothing if it is not a well-formed name.
inline std::optional<std::string> line_member_name(std::string_view line, std::size_t& i) {
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i >= line.size() || line[i] != '"') return std::nullopt;
  std::size_t start = ++i;
  while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
  if (i >= line.size()) return std::nullopt;
  std::string name(line.substr(start, i++ - start));
  std::size_t n = unescape_to(name, name.data());
  if (n == std::string::npos) return std::nullopt;
  name.resize(n);
  return name;
}

/// Whether an NDJSON line is a compact stream's header: an object whose first member is `dedup`,
/// or whose members start `version`, then `dedup` (a header holds these two, in either order).
/// Only the first members are looked at, since every line is checked under the reader's lock.
///
/// ```
/// assert(dedup::detail::compact_header_line(R"({"dedup":"compact","version":7})"));
/// assert(!dedup::detail::compact_header_line(R"({"run":"dedup"})"));
/// ```
inline bool compact_header_line(std::string_view line) {
  if (!line.starts_with('{')) return false;
  std::size_t i = 1;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (line.substr(i).starts_with(R"("dedup")")) return true;  // what the writer writes
  if (!line.substr(i).starts_with(R"("version")") &&
      line.substr(i, line.find('"', i + 1) - i).find('\\') == std::string_view::npos)
    return false;
  auto first = line_member_name(line, i);
  if (first == "dedup") return true;
  if (first != "version") return false;
  while (i < line.size() && line[i] != ',' && line[i] != '"' && line[i] != '{' && line[i] != '[')
    ++i;  // past `:` and the version's scalar
  return i < line.size() && line[i] == ',' && line_member_name(line, ++i) == "dedup";
}

}  // namespace dedup::detail

namespace dedup {

template <class T>
struct codec<detail::compact_document<T>> {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::object; }
  static std::string expected_name() { return "compact document"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, detail::compact_document<T>& out) {
    detail::walk_compact_envelope(src, p, true, [&](S& v, const detail::path& at) {
      detail::compact_table table;
      detail::compact_reading reading{&table, 0};
      detail::compact_source compact(v, reading);
      out.value = detail::read_compact_value<T>(compact, at, ctx);
    });
  }
  template <class K>
  static void write(K& sink, const detail::compact_document<T>& d) {
    detail::write_compact_envelope(sink, [&] {
      if constexpr (interned<T>)
        detail::write_to<T>(sink, *d.value);
      else
        detail::write_to<T>(sink, d.value);
    });
  }
};

template <>
struct codec<detail::compact_header> {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::object; }
  static std::string expected_name() { return "compact stream header"; }
  template <class S>
  static void read(S& src, const detail::path& p, context*, detail::compact_header&) {
    detail::walk_compact_envelope(src, p, false, [](S&, const detail::path&) {});
  }
};

}  // namespace dedup

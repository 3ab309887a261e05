// Reading the compact form (dedup/compact.hpp): a shared member is `{"$id":N,"$value":V}` (V read
// as its type, interned in a scope as any value is, and recorded as N) or `{"$ref":N}` (the
// instance recorded as N). Both backends include this, so the shared-pointer codec's compact path
// is defined wherever it can be instantiated. A reader of lines also finds a stream's header
// lines here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dedup/detail/codec/intern.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/wire/compact_table.hpp"

namespace dedup::detail {

/// The type of a definition or reference, named at compile time.
template <class U>
inline constexpr compact_type compact_type_of{type_name<U>()};

/// What a compact wrapper object holds, found in one walk of its members.
struct compact_wrapper {
  std::optional<std::uint64_t> id, ref;
  bool has_value = false;
  bool value_done = false;
};

/// What a `$id` or `$ref` must be, for the messages of every way one can be wrong.
inline constexpr std::string_view compact_id_kind = "a non-negative integer id below 2^64";

template <class S>
std::uint64_t read_compact_id(S& src, const path& p) {
  json_kind k = src.kind(p);
  if (k != json_kind::integer) fail_kind(p, compact_id_kind, kind_name(k));
  try {
    return src.get_uint64(p);
  } catch (const error&) {  // a backend's own words for a negative or too large integer
    fail_kind(p, compact_id_kind, "an integer out of that range");
  }
}

/// Walks a wrapper's members, calling on_value(value source, its path) for `$value` once its `$id`
/// is known (a `$value` before its `$id` is taken on a second walk); checks the wrapper's shape.
template <class S, class F>
compact_wrapper walk_compact_wrapper(S& src, const path& p, F&& on_value) {
  if (json_kind k = src.kind(p); k != json_kind::object)
    fail_kind(p, R"(a compact reference ({"$id":N,"$value":...} or {"$ref":N}))", kind_name(k));
  compact_wrapper w;
  auto once = [&](bool seen, const path& here, std::string_view key) {
    if (seen) fail(here, "duplicate member '" + excerpt(key) + "'");
  };
  src.for_each_member(p, [&](std::string_view key, S& value) {
    path here = p.member(key);
    if (key == "$id") {
      once(w.id.has_value(), here, key);
      w.id = read_compact_id(value, here);
    } else if (key == "$ref") {
      once(w.ref.has_value(), here, key);
      w.ref = read_compact_id(value, here);
    } else if (key == "$value") {
      once(w.has_value, here, key);
      w.has_value = true;
      if (w.id) on_value(value, here, *w.id), w.value_done = true;
    } else {
      fail(here, "unexpected member '" + excerpt(key) +
                     "' in a compact reference (only $id with $value, or $ref)");
    }
  });
  if (w.ref && (w.id || w.has_value)) fail(p, "a $ref stands alone: no $id or $value beside it");
  if (!w.ref && !w.id) fail(p, "missing member '$id' or '$ref' of a compact reference");
  if (w.id && !w.has_value) fail(p.member("$value"), "missing member '$value' beside '$id'");
  if (w.id && !w.value_done) {
    src.for_each_member(p, [&](std::string_view key, S& value) {
      if (key == "$value") on_value(value, p.member(key), *w.id);
    });
  }
  return w;
}

/// U for a definition: inside a scope, the table's instance for its key (`key`, computed by the
/// caller); the value is read in full even on a hit, so that the definitions inside it land.
template <class U, class S>
std::shared_ptr<const U> intern_compact(S& src, const path& p, context* ctx,
                                        const std::string& key) {
  if (ctx) {
    intern_table<U>& table = ctx->table<U>();
    const policy pol = table.policy();
    if (pol.enabled) {
      auto found = table_access::find_or_reserve(table, key, hash_key(key));
      if (found.value) {
        U fresh = read_value<U>(src, p, ctx);
        if (pol.verify && !equal_values<U>(fresh, *found.value))
          report_collision<U>(p, found.origin());
        return std::move(found.value);
      }
      auto value = read_new<U>(src, p, ctx);
      if (found.reservation)
        publish_entry(table, found.reservation, value, pol.verify ? origin_of(p) : std::string());
      return value;
    }
  }
  return read_new<U>(src, p, ctx);
}

/// Whether the value at `p` is a compact wrapper: an object whose first member is `$id`, `$ref` or
/// `$value` (the writer puts `$id` or `$ref` first). Anything else is the member's value written in
/// place, once: a writer that knows an instance is not shared (`to_compact`) gives it no id.
template <class S>
bool is_compact_wrapper(S& src, const path& p) {
  if (src.kind(p) != json_kind::object) return false;
  std::string_view first = src.first_key(p);
  return first == "$id" || first == "$ref" || first == "$value";
}

template <class U, class S>
std::shared_ptr<const U> read_compact_shared(S& src, const path& p, context* ctx) {
  if (!is_compact_wrapper(src, p)) return read_shared<U>(src, p, ctx);
  compact_reading& reading = *current_compact;
  std::shared_ptr<const U> out;
  compact_wrapper w = walk_compact_wrapper(src, p, [&](S& value, const path& at, std::uint64_t id) {
    reading.table->begin(id, compact_type_of<U>, reading.record, p.member("$id"));
    std::string key;
    if (ctx) {  // for the table, and for a later `$ref` inside a parent's key
      key_scratch scratch;
      encode_key<U>(value, at, key_scratch::buffer());
      key.assign(scratch.view());
    }
    out = intern_compact<U>(value, at, ctx, key);
    reading.table->define(id, out, std::move(key));
  });
  if (w.ref) {
    out = std::static_pointer_cast<const U>(
        reading.table->resolve(*w.ref, compact_type_of<U>, reading.record, p.member("$ref")));
  }
  return out;
}

template <class U, class S>
void encode_compact_shared(S& src, const path& p, std::string& out) {
  if (!is_compact_wrapper(src, p)) return encode_key<U>(src, p, out);
  compact_reading& reading = *current_compact;
  compact_wrapper w = walk_compact_wrapper(src, p, [&](S& value, const path& at, std::uint64_t id) {
    std::size_t mark = out.size();
    encode_key<U>(value, at, out);
    reading.table->announce(id, reading.record, std::string_view(out).substr(mark));
  });
  if (w.ref) {
    reading.table->append_key(*w.ref, compact_type_of<U>, reading.record, p.member("$ref"), out);
  }
}

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
      detail::compact_guard reading(table, 0);
      out.value = detail::read_compact_value<T>(v, at, ctx);
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

// The source of a compact read (dedup/compact.hpp): a cursor over a backend's source that carries
// the read's identity table, as a compact sink carries its ids when writing, so that the codecs
// of shared members and strings take the compact path from the source's type alone and a plain
// read neither branches on compact state nor includes this header. Here too: what a shared member
// is in that form, `{"$id":N,"$value":V}` (V read as its type, interned in a scope as any value
// is, and recorded as N), `{"$ref":N}` (the instance recorded as N), or the value in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dedup/context.hpp"
#include "dedup/detail/codec/intern.hpp"
#include "dedup/detail/codec/source.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/detail/wire/compact_table.hpp"
#include "dedup/istring.hpp"

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

/// U for a shared member of the compact form: a definition, a reference, or the value in place.
template <class U, class S>
std::shared_ptr<const U> read_compact_shared(S& src, const path& p, context* ctx) {
  if (!is_compact_wrapper(src, p)) return read_shared<U>(src, p, ctx);
  const compact_reading& reading = src.reading();
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

/// The key bytes of a shared member of the compact form: a definition's value's key (announced,
/// for a reference to it inside the same parent), a reference's instance's key, or the value's.
template <class U, class S>
void encode_compact_shared(S& src, const path& p, std::string& out) {
  if (!is_compact_wrapper(src, p)) return encode_key<U>(src, p, out);
  const compact_reading& reading = src.reading();
  compact_wrapper w = walk_compact_wrapper(src, p, [&](S& value, const path& at, std::uint64_t id) {
    std::size_t mark = out.size();
    encode_key<U>(value, at, out);
    reading.table->announce(id, reading.record, std::string_view(out).substr(mark));
  });
  if (w.ref) {
    reading.table->append_key(*w.ref, compact_type_of<U>, reading.record, p.member("$ref"), out);
  }
}

/// Declares `unique_member_names` where the wrapped source does (see `check_well_formed`).
template <class S>
struct unique_names_of {};
template <class S>
requires requires {
  S::unique_member_names;
}
struct unique_names_of<S> {
  static constexpr bool unique_member_names = S::unique_member_names;
};

/// A source `S` read in the compact form: every call goes to `S`, the values it walks to are
/// compact sources in turn, and the codecs find `compact_form` and ask it for shared members,
/// their keys and unscoped strings. It holds pointers only: made per value walked to, it costs
/// two words.
///
/// ```
/// nlohmann::json j = nlohmann::json::parse(R"({"$id":0,"$value":{"name":"calexp"}})");
/// dedup::detail::nlohmann_source plain(j);
/// dedup::detail::compact_table table;
/// dedup::detail::compact_reading reading{&table, 0};
/// dedup::detail::compact_source src(plain, reading);
/// static_assert(dedup::detail::compact_form_source<decltype(src)>);
/// ```
template <json_source S>
class compact_source : public unique_names_of<S> {
 public:
  static constexpr bool compact_form = true;

  compact_source(S& inner, const compact_reading& reading) : inner_(&inner), reading_(&reading) {}

  /// The table and record of the read.
  const compact_reading& reading() const noexcept { return *reading_; }

  /// The shared member at `p`, its key's bytes, and an istring outside a scope (the read's own
  /// pool: repeats share one buffer, as they did when written).
  template <class U>
  std::shared_ptr<const U> read_shared_member(const path& p, context* ctx) {
    return read_compact_shared<U>(*this, p, ctx);
  }
  template <class U>
  void encode_shared_member(const path& p, std::string& out) {
    encode_compact_shared<U>(*this, p, out);
  }
  istring unscoped_string(std::string_view text) const {
    return istring(reading_->table->shared_text(text));
  }

  json_kind kind(const path& p) { return inner_->kind(p); }
  bool get_bool(const path& p) { return inner_->get_bool(p); }
  std::int64_t get_int64(const path& p) { return inner_->get_int64(p); }
  std::uint64_t get_uint64(const path& p) { return inner_->get_uint64(p); }
  double get_double(const path& p) { return inner_->get_double(p); }
  std::string_view get_string(const path& p) { return inner_->get_string(p); }
  std::string_view first_key(const path& p) { return inner_->first_key(p); }

  template <class F>
  void for_each_element(const path& p, F&& f) {
    inner_->for_each_element(p, [&](S& element, std::size_t i) {
      compact_source wrapped(element, *reading_);
      f(wrapped, i);
    });
  }
  template <class F>
  void for_each_member(const path& p, F&& f) {
    inner_->for_each_member(p, [&](std::string_view key, S& value) {
      compact_source wrapped(value, *reading_);
      f(key, wrapped);
    });
  }

  // The bytes of the input, where `S` gives them (see has_raw_bytes and points_into_input).
  std::string_view raw_view(const path& p) requires has_raw_bytes<S> { return inner_->raw_view(p); }
  bool has_bytes(std::size_t size, std::uint64_t hash, const path& p) requires has_raw_bytes<S> {
    return inner_->has_bytes(size, hash, p);
  }
  const char* value_start(const path& p) requires points_into_input<S> {
    return inner_->value_start(p);
  }
  std::string_view walked_view(const path& p) requires points_into_input<S> {
    return inner_->walked_view(p);
  }
  static const char* document_end() noexcept requires points_into_input<S> {
    return S::document_end();
  }

 private:
  S* inner_;
  const compact_reading* reading_;
};

}  // namespace dedup::detail

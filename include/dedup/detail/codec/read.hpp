// The reader: a simple form to C++ values, interning inside a scope. It is written once over a
// source (detail/codec/source.hpp): each kind's codec reads its values (dedup/codec.hpp,
// detail/codecs*), and this header holds the pieces they share: scalars, member walks and
// well-formedness checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/detail/codec/traits.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/detail/table/journal.hpp"

namespace dedup::detail {

inline constexpr std::size_t no_member = static_cast<std::size_t>(-1);

// ---- scalars -----------------------------------------------------------------------------------

template <class S>
json_kind expect(S& src, const path& p, json_kind want, std::string_view expected) {
  json_kind k = src.kind(p);
  if (k != want) fail_kind(p, expected, kind_name(k));
  return k;
}

template <class I, class S>
I read_integer(S& src, const path& p) {
  expect(src, p, json_kind::integer, "integer");
  auto out_of_range = [&](auto v) {
    fail(p, "expected integer in the range of " + std::string(type_name<I>()) + ", found " +
                std::to_string(v));
  };
  if constexpr (std::is_signed_v<I>) {
    std::int64_t v = src.get_int64(p);
    if (v < std::numeric_limits<I>::min() || v > std::numeric_limits<I>::max()) out_of_range(v);
    return static_cast<I>(v);
  } else {
    std::uint64_t v = src.get_uint64(p);
    if (v > std::numeric_limits<I>::max()) out_of_range(v);
    return static_cast<I>(v);
  }
}

template <class F, class S>
F read_floating(S& src, const path& p) {
  json_kind k = src.kind(p);
  if (k != json_kind::number && k != json_kind::integer) fail_kind(p, "number", kind_name(k));
  double d = src.get_double(p);
  if constexpr (sizeof(F) < sizeof(double)) {
    // A finite number that would round to infinity is out of range, as for integers; the bound is
    // the largest finite value plus half its ulp, so what rounds to the largest value is kept.
    using limits = std::numeric_limits<F>;
    const double beyond = std::ldexp(1.0, limits::max_exponent) -
                          std::ldexp(1.0, limits::max_exponent - limits::digits - 1);
    if (std::isfinite(d) && (d >= beyond || d <= -beyond))
      fail(p, "expected number in the range of " + std::string(type_name<F>()) + ", found " +
                  std::to_string(d));
  }
  return static_cast<F>(d);
}

template <class S>
std::string_view read_text(S& src, const path& p) {
  expect(src, p, json_kind::string, "string");
  return src.get_string(p);
}

/// Publishes the value of a key reserved in `table`, journaled so that a failed read takes it back:
/// the one way an entry enters a table while reading.
template <class V, class Ticket>
auto publish_entry(intern_table<V>& table, Ticket& reservation, std::shared_ptr<const V>& value,
                   std::string origin = {}, spelling bytes = {}) {
  journal_entry(table, reservation.key());
  return reservation.publish(value, std::move(origin), bytes);
}

/// An istring, shared through the context's string table inside a scope (a compact source shares
/// one outside a scope as well: see the istring codec).
inline istring make_istring(std::string_view text, context* ctx) {
  if (!ctx) return istring(std::string(text));
  auto& table = ctx->table<std::string>();
  if (!table.policy().enabled) return istring(std::string(text));
  auto found = table_access::find_or_reserve(table, text, hash_key(text));
  if (found.value) return istring(std::move(found.value));
  if (!found.reservation) return istring(std::string(text));
  auto made = std::make_shared<const std::string>(text);
  publish_entry(table, found.reservation, made);
  return istring(std::move(made));
}

// ---- reading
// -------------------------------------------------------------------------------------

/// Reads the value at `src` into `out` as T's codec says.
template <class T, json_source S>
void read_into(S& src, const path& p, context* ctx, T& out) {
  static_assert(has_codec<T>, "dedup: no codec for this type: see dedup/codec.hpp");
  codec<T>::read(src, p, ctx, out);
}

template <class T, class S>
std::shared_ptr<const T> read_shared(S& src, const path& p, context* ctx);

/// The member index of wire name `key` in T, trying `hint` first: documents usually list members in
/// declared order, so the common case is one comparison.
template <class T>
std::size_t find_member(std::string_view key, std::size_t hint) {
  const auto& names = wire_names<T>();
  if (hint < names.size() && names[hint] == key) return hint;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == key) return i;
  return no_member;
}

/// How deeply a document may nest: deeper text is an error on every backend, so that a walk of
/// an ignored value (or the nlohmann DOM's) never exhausts the stack.
inline constexpr std::size_t max_depth = 1024;

inline std::size_t depth_of(const path& p) {
  std::size_t depth = 0;
  for (const path* at = p.parent; at; at = at->parent) ++depth;
  return depth;
}

/// What a thread-kept scratch buffer (key bytes, member names) may keep once the outermost use of
/// it ends: one grown past it for a huge document is released, so that a thread does not hold
/// that memory until it exits.
inline constexpr std::size_t scratch_retained_bound = std::size_t{1} << 20;

/// Releases `buffer`'s memory if it grew past `scratch_retained_bound` bytes; call it only when
/// nothing is in the buffer.
template <class Buffer>
void release_if_grown(Buffer& buffer) {
  if (buffer.capacity() * sizeof(typename Buffer::value_type) > scratch_retained_bound)
    Buffer().swap(buffer);
}

/// The member names met so far in one object, to reject a repeated one. Names live as long as the
/// read (see the sources); nested objects stack their own region of one buffer per thread, so this
/// allocates nothing once the buffer has grown.
class seen_names {
 public:
  seen_names() : mark_(names().size()) {}
  seen_names(const seen_names&) = delete;
  seen_names& operator=(const seen_names&) = delete;
  ~seen_names() {
    names().resize(mark_);
    if (mark_ == 0) release_if_grown(names());
  }

  /// Adds `key`, met at `here`; a `dedup::error` if it was met before.
  void add(std::string_view key, const path& here) {
    auto& all = names();
    if (std::find(all.begin() + static_cast<std::ptrdiff_t>(mark_), all.end(), key) != all.end())
      fail(here, "duplicate member '" + excerpt(key) + "'");
    all.push_back(key);
  }

 private:
  static std::vector<std::string_view>& names() {
    thread_local std::vector<std::string_view> all;
    return all;
  }
  std::size_t mark_;
};

/// Checks that a value is well-formed JSON throughout without building anything (no object in it
/// repeats a member name, its scalars parse, it nests at most `max_depth` deep): for a value the
/// model ignores, and for the members a hit's key leaves unread (detail/codec/intern.hpp). Sources
/// built from a DOM, which was checked as it was parsed, declare `unique_member_names` and skip the
/// walk.
template <class S>
void check_well_formed(S& src, const path& p, std::size_t depth) {
  if constexpr (!requires { S::unique_member_names; }) {
    json_kind kind = src.kind(p);
    if (depth >= max_depth && (kind == json_kind::object || kind == json_kind::array))
      fail(p, "nesting deeper than " + std::to_string(max_depth) + " levels");
    switch (kind) {
      case json_kind::object: {
        seen_names names;
        src.for_each_member(p, [&](std::string_view key, S& value) {
          path here = p.member(key);
          names.add(key, here);
          check_well_formed(value, here, depth + 1);
        });
        break;
      }
      case json_kind::array:
        src.for_each_element(
            p, [&](S& e, std::size_t i) { check_well_formed(e, p.element(i), depth + 1); });
        break;
      case json_kind::boolean:
        (void)src.get_bool(p);
        break;
      case json_kind::string:
        (void)src.get_string(p);
        break;
      case json_kind::integer:  // simdjson types "-012" as an integer, and fails to read it
      case json_kind::number:
        (void)src.get_double(p);
        break;
      case json_kind::null:  // checked when its kind was found
        break;
    }
  }
}

/// Walks the members of an object in document order, rejecting unknown (unless T allows them) and
/// duplicate members, and calls f(member index, value source, member path) for each known one.
/// Returns the bit set of members seen.
template <class T, class S, class F>
std::uint64_t walk_members(S& src, const path& p, F&& f) {
  static_assert(member_count<T> <= 64, "dedup: a struct may have at most 64 members");
  expect(src, p, json_kind::object, "object");
  std::uint64_t seen = 0;
  std::size_t hint = 0;
  // The names of unknown members, kept only for a type that allows them.
  [[maybe_unused]] std::conditional_t<options<T>::ignore_unknown_members, seen_names,
                                      std::monostate>
      ignored;
  src.for_each_member(p, [&](std::string_view key, S& value) {
    path here = p.member(key);
    std::size_t i = find_member<T>(key, hint);
    if (i == no_member) {
      if constexpr (options<T>::ignore_unknown_members) {
        ignored.add(key, here);
        return check_well_formed(value, here, depth_of(here));
      } else
        fail(here, "unexpected member '" + excerpt(key) + "' in " + std::string(type_name<T>()));
    }
    if (seen & (std::uint64_t{1} << i)) fail(here, "duplicate member '" + excerpt(key) + "'");
    seen |= std::uint64_t{1} << i;
    hint = i + 1;
    f(i, value, here);
  });
  return seen;
}

template <class T>
[[noreturn]] void fail_missing(const path& p, std::size_t i) {
  const std::string& name = wire_names<T>()[i];
  fail(p.member(name), "missing member '" + name + "' of " + std::string(type_name<T>()));
}

template <class T, class S>
void read_struct(S& src, const path& p, context* ctx, T& out) {
  std::uint64_t seen = walk_members<T>(src, p, [&](std::size_t i, S& value, const path& here) {
    visit_member<T>(i,
                    [&](auto I) { read_into(value, here, ctx, member<decltype(I)::value>(out)); });
  });
  for (std::size_t i = 0; i < member_count<T>; ++i) {
    if (seen & (std::uint64_t{1} << i)) continue;
    visit_member<T>(i, [&](auto I) {
      if constexpr (!may_be_absent<member_type<T, decltype(I)::value>>)
        fail_missing<T>(p, decltype(I)::value);
    });
  }
}

template <class T, class S>
void read_array_struct(S& src, const path& p, context* ctx, T& out) {
  walk_array_members<T>(src, p, [&](std::size_t i, S& element, const path& here) {
    visit_member<T>(
        i, [&](auto I) { read_into(element, here, ctx, member<decltype(I)::value>(out)); });
  });
}

template <class T, json_source S>
T read_value(S& src, const path& p, context* ctx) {
  T out{};
  read_into(src, p, ctx, out);
  return out;
}

/// A new shared instance of the value at `src`, read in place: a struct with many members is not
/// moved into its allocation afterwards.
template <class T, json_source S>
std::shared_ptr<const T> read_new(S& src, const path& p, context* ctx) {
  auto out = std::make_shared<T>();
  read_into(src, p, ctx, *out);
  return out;
}

}  // namespace dedup::detail

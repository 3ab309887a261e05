// Interning while reading: an object of an interned type is looked up by its key before anything is
// built, and built at most once per key in a context. Exact-bytes keys are a fast alias in front of
// the canonical key: a hit on the bytes skips the object unparsed; a miss computes the canonical
// key, and if that entry exists the new bytes become another alias of it, so every spelling of one
// value (member order, whitespace, escapes, either backend) ends in one entry.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/detail/api.hpp"
#include "dedup/detail/codec/codecs_struct.hpp"
#include "dedup/detail/codec/key.hpp"
#include "dedup/detail/codec/read.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/reflect.hpp"

namespace dedup::detail {

/// Whether a source can give an object's exact bytes; one that cannot (nlohmann keeps no text)
/// goes straight to the canonical key.
template <class S>
concept has_raw_bytes = requires(S& src, const path& p, std::size_t n, std::uint64_t h) {
  { src.raw_view(p) } -> std::same_as<std::string_view>;
  { src.has_bytes(n, h, p) } -> std::same_as<bool>;
};

/// Whether a source reads a document whose input it can point into, so that a table's memo of
/// exact bytes (detail/table/bytes_memo.hpp) can find an object's repeat before computing its key.
template <class S>
concept points_into_input = has_raw_bytes<S> && requires(S& src, const path& p) {
  { src.value_start(p) } -> std::same_as<const char*>;
  { src.walked_view(p) } -> std::same_as<std::string_view>;
  { S::document_end() } -> std::same_as<const char*>;
};

/// Whether a hit on T's key leaves members unread: a member key that leaves some out, or keys only
/// on whether one is present.
template <class T>
constexpr bool key_skips_members() {
  if constexpr (options<T>::key.kind != key_kind::members) {
    return false;
  } else {
    constexpr auto slots = key_slots<T>();
    std::uint64_t read = 0;
    for (const key_slot& s : slots)
      if (!s.presence_only) read |= std::uint64_t{1} << s.member;
    return read !=
           (member_count<T> == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << member_count<T>)-1);
  }
}

/// The index of the record being read by a stream reader on this thread, if any, so that verify
/// mode can say which document an entry came from. One per process, like the rest of the reader's
/// state (detail/api.hpp): a record read in one module names itself in another's messages.
DEDUP_API inline thread_local std::optional<std::size_t> current_record;

/// Where a value is first read, as verify mode reports it.
inline std::string origin_of(const path& p) {
  std::string pointer = p.render();
  std::string at = pointer.empty() ? std::string("the document root") : "'" + pointer + "'";
  return current_record ? "record " + std::to_string(*current_record) + ", " + at : at;
}

template <class T>
[[noreturn]] void report_collision(const path& p, const std::string& origin) {
  std::string first =
      origin.empty() ? std::string("an unknown place (verify was off then)") : origin;
  std::string here = current_record ? " (record " + std::to_string(*current_record) + ")" : "";
  fail(p, "key collision in the table of " + std::string(type_name<T>()) + ": this value" + here +
              " has the key of the one first read at " + first +
              " but differs from it (the key leaves out an identity member)");
}

/// Verify mode's check of a hit: the value here, read in full (outside any table, so its shared
/// members are fresh), must equal the one in the table structurally, shared members by pointee.
template <class T, class S>
void verify_hit(S& src, const path& p, const policy& pol, const T& held,
                const std::string& origin) {
  if (pol.verify && !equal_values<T>(read_value<T>(src, p, nullptr), held))
    report_collision<T>(p, origin);
}

/// Builds the value of a reserved key and publishes it, journaled so a failed read takes it back.
/// With `spelled`, the entry keeps the size and hash of the bytes it was built from.
template <class T, class S>
void build_entry(S& src, const path& p, context* ctx, intern_table<T>& table, const policy& pol,
                 table_access::lookup<T>& found, bool spelled) {
  spelling bytes;
  if constexpr (has_raw_bytes<S>) {
    if (spelled) {
      std::string_view raw = src.raw_view(p);
      bytes = {hash_key(raw), static_cast<std::uint32_t>(raw.size())};
    }
  }
  auto value = read_new<T>(src, p, ctx);
  found.entry = publish_entry(table, found.reservation, value,
                              pol.verify ? origin_of(p) : std::string(), bytes);
  found.value = std::move(value);
}

/// The end of the input `S` reads, or null where it cannot point into its input.
template <class S>
const char* document_end_of() {
  if constexpr (points_into_input<S>)
    return S::document_end();
  else
    return nullptr;
}

/// Whether T's key reads the whole object: equal bytes then make equal keys, so a repeat of an
/// object's bytes can skip its key.
template <class T>
constexpr bool key_reads_whole_value() {
  return options<T>::key.kind == key_kind::whole_value;
}

/// The memo of exact bytes (see `bytes_memo`) that T's lookups from a source S use, or null: only
/// for a key that leaves members unread (the hit path hashes the object's bytes anyway, so they are
/// known; not when the input is trusted, which skips that) or that reads the whole object (the
/// canonical key walks every member, which costs more than a compare), outside verify mode (which
/// checks every hit), and on a private table.
template <class T, class S>
bytes_memo<table_node<T>>* memo_for(intern_table<T>& table, const policy& pol) {
  if constexpr ((key_skips_members<T>() || key_reads_whole_value<T>()) && points_into_input<S>) {
    bool wanted = !pol.verify && (key_reads_whole_value<T>() || !pol.trusted_input);
    if (wanted && document_end_of<S>()) return table_access::memo(table);
  }
  return nullptr;
}

/// The size of the object's bytes, for the memo to remember, where no other step measures them (a
/// key that leaves members unread has them from its hit's check or from the entry's spelling): a
/// whole-value key's walk has passed the whole object, so its end is where that walk stopped.
template <class T, class S>
std::size_t walked_size(S& src, const path& p, const void* memo) {
  if constexpr (key_reads_whole_value<T>() && points_into_input<S>) {
    if (memo) return src.walked_view(p).size();
  }
  return 0;
}

/// The instance for T's canonical key: found, built, or (where waiting would never end) built by
/// value; `hit` says whether it was found. With a source that keeps bytes, a hit whose key leaves
/// members unread checks those members, unless its bytes are those the entry was built from or the
/// input is trusted. Bytes met before in the document resolve through the table's memo at once.
template <class T, class S>
table_access::lookup<T> intern_by_key(S& src, const path& p, context* ctx, intern_table<T>& table,
                                      const policy& pol, bool& hit) {
  constexpr bool check_skipped = key_skips_members<T>() && has_raw_bytes<S>;
  bytes_memo<table_node<T>>* memo = memo_for<T, S>(table, pol);
  [[maybe_unused]] const char* start = nullptr;
  if constexpr (points_into_input<S>) {
    if (memo) {
      start = src.value_start(p);
      if (const table_node<T>* seen = memo->find(start, S::document_end())) {
        src.raw_view(p);  // passes the object: its bytes are those of the entry's
        table_access::count_hit(table);
        hit = true;
        return {seen->value, seen, {}};
      }
    }
  }
  table_access::lookup<T> found;
  {
    key_scratch key;
    encode_key<T>(src, p, key_scratch::buffer());
    found = table_access::find_or_reserve(table, key.view(), hash_key(key.view()));
  }
  hit = found.value != nullptr;
  if (found.value) {
    if constexpr (check_skipped) {
      const spelling& seen = found.entry->bytes;
      if (!pol.trusted_input && !src.has_bytes(seen.size, seen.hash, p))
        check_well_formed(src, p, depth_of(p));
      else if (memo)
        memo->remember(start, document_end_of<S>(), seen.size, found.entry);
    }
    if (std::size_t size = walked_size<T>(src, p, memo))
      memo->remember(start, document_end_of<S>(), size, found.entry);
    verify_hit(src, p, pol, *found.value, found.origin());
  } else if (found.reservation) {
    build_entry<T>(src, p, ctx, table, pol, found, check_skipped && !pol.trusted_input);
    if (memo && found.entry) {
      std::size_t size = walked_size<T>(src, p, memo);
      memo->remember(start, document_end_of<S>(), size ? size : found.entry->bytes.size,
                     found.entry);
    }
  } else {
    found.value = read_new<T>(src, p, ctx);
  }
  return found;
}

/// T with an exact-bytes key, on a source that keeps bytes: the bytes first, then the canonical
/// key, whose entry the bytes then stand for.
template <class T, class S>
std::shared_ptr<const T> intern_by_bytes(S& src, const path& p, context* ctx,
                                         intern_table<T>& table, const policy& pol, bool& hit) {
  expect(src, p, json_kind::object, "object");
  key_scratch alias;
  key_scratch::buffer() += 'r';
  key_scratch::buffer() += src.raw_view(p);
  std::size_t alias_hash = hash_key(alias.view());
  if (auto seen = table_access::find_alias(table, alias.view(), alias_hash); seen.value) {
    hit = true;
    return std::move(seen.value);  // bytes read in full before: nothing to check
  }
  auto found = intern_by_key<T>(src, p, ctx, table, pol, hit);
  if (found.entry) {
    std::string_view added = table_access::add_alias(table, alias.view(), alias_hash, found);
    if (!added.empty()) journal_entry(table, added);
  }
  return std::move(found.value);
}

/// T by shared pointer: from the context's table inside a scope (building it on a miss), fresh
/// outside one, when T is not interned, its policy is off, or the self-tuning policy turned it off.
template <class T, class S>
std::shared_ptr<const T> read_shared(S& src, const path& p, context* ctx) {
  if constexpr (!interned<T>) {
    return read_new<T>(src, p, ctx);
  } else {
    if (!ctx) return read_new<T>(src, p, ctx);
    intern_table<T>& table = ctx->table<T>();
    const policy pol = table.policy();
    const bool adaptive = table_access::judged(table, pol);
    if (!pol.enabled || (adaptive && table_access::tuned_off(table)))
      return read_new<T>(src, p, ctx);
    bool hit = false;
    std::shared_ptr<const T> out;
    if constexpr (options<T>::key.kind == key_kind::raw_bytes && has_raw_bytes<S>)
      out = intern_by_bytes<T>(src, p, ctx, table, pol, hit);
    else
      out = std::move(intern_by_key<T>(src, p, ctx, table, pol, hit).value);
    if (adaptive) table_access::judge(table, hit);
    return out;
  }
}

/// Reads a whole document as T in the current context; on failure the tables are left as they were.
template <class T, class S>
simple_result_t<T> read_document(S& src, const path& root) {
  check_scope_order();
  transaction tx;
  context* ctx = current_context;
  simple_result_t<T> out;
  if constexpr (interned<T>)
    out = read_shared<T>(src, root, ctx);
  else
    read_into(src, root, ctx, out);
  tx.commit();
  return out;
}

/// A compact document, as `parse_compact` and `parse_compact_fast` read it through `read_document`:
/// defined with its codec in detail/wire/compact_read.hpp, which dedup/compact.hpp includes, so
/// that a plain read includes nothing of the compact form.
template <class T>
struct compact_document;

}  // namespace dedup::detail

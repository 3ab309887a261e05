// Keys: a canonical byte string computed from the simple form without building anything,
// type-directed, so equal values give equal bytes whatever the backend and the member order.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dedup/detail/codec/read.hpp"

namespace dedup::detail {

// ---- scratch space for keys --------------------------------------------------------------------

/// Where key segments are put in canonical order: one buffer per thread, used only after the
/// nested keys of a segment are complete, so reordering allocates nothing once it has grown (maps
/// written unsorted, as data ids are, reorder on every key).
inline std::string& reorder_scratch() {
  thread_local std::string bytes;
  return bytes;
}

/// A region at the end of the thread's key buffer; nested keys stack above it, so computing a key
/// allocates nothing once the buffer has grown to the deepest key.
class key_scratch {
 public:
  key_scratch() : mark_(buffer().size()) {}
  key_scratch(const key_scratch&) = delete;
  key_scratch& operator=(const key_scratch&) = delete;
  /// The outermost key of a read releases the buffers a huge key grew (`scratch_retained_bound`).
  ~key_scratch() {
    std::string& bytes = buffer();
    bytes.resize(mark_);
    if (mark_ == 0 && bytes.capacity() > scratch_retained_bound) [[unlikely]]
      release_grown();
  }
  static std::string& buffer() {
    thread_local std::string bytes;
    return bytes;
  }
  std::string_view view() const { return std::string_view(buffer()).substr(mark_); }

 private:
  /// The reorder buffer holds parts of one key at a time, so it can have grown only with this one.
  [[gnu::noinline]] static void release_grown() {
    release_if_grown(buffer());
    release_if_grown(reorder_scratch());
  }
  std::size_t mark_;
};

inline void put_u32(std::string& out, std::uint32_t v) {
  out.append(reinterpret_cast<const char*>(&v), 4);
}
inline void put_u64(std::string& out, std::uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), 8);
}

/// Appends the canonical key bytes of the value at `src` as T's codec encodes it.
template <class T, json_source S>
void encode(S& src, const path& p, std::string& out) {
  static_assert(has_codec<T>, "dedup: no codec for this type: see dedup/codec.hpp");
  codec<T>::encode(src, p, out);
}

template <class T, json_source S>
void encode_key(S& src, const path& p, std::string& out);

/// Re-orders the segments [starts[i], ends[i]) of `out` (beginning at `base`) into ascending
/// `order[i]`; documents usually come in order, so this rarely copies.
template <std::size_t N>
void canonical_order(std::string& out, std::size_t base, const std::array<std::uint32_t, N>& start,
                     const std::array<std::uint32_t, N>& end) {
  bool sorted = true;
  for (std::size_t k = 1; k < N; ++k) sorted = sorted && start[k - 1] <= start[k];
  if (sorted) return;
  std::string& ordered = reorder_scratch();
  ordered.clear();
  for (std::size_t k = 0; k < N; ++k) ordered.append(out, start[k], end[k] - start[k]);
  out.replace(base, std::string::npos, ordered);
}

/// Appends the key fields `slots` of the object at `src`, in slot order.
template <class T, auto Slots, class S>
void encode_fields(S& src, const path& p, std::string& out) {
  constexpr std::size_t n = Slots.size();
  constexpr auto position = [] {  // member index -> key position
    std::array<std::size_t, member_count<T>> pos{};
    pos.fill(no_member);
    for (std::size_t k = 0; k < Slots.size(); ++k) pos[Slots[k].member] = k;
    return pos;
  }();
  std::size_t base = out.size();
  std::array<std::uint32_t, n> start{}, end{};
  std::uint64_t seen = walk_members<T>(src, p, [&](std::size_t i, S& value, const path& here) {
    std::size_t k = position[i];
    if (k == no_member) return;
    start[k] = static_cast<std::uint32_t>(out.size());
    visit_member<T>(i, [&](auto I) {
      using M = member_type<T, decltype(I)::value>;
      if (!Slots[k].presence_only)
        encode<M>(value, here, out);
      else if (value.kind(here) != json_kind::null)
        out += '1';
      else  // a nullable writes back the null it read, so null is not absent in its key either
        out += is_nullable<M>::value ? 'N' : '0';
    });
    end[k] = static_cast<std::uint32_t>(out.size());
  });
  for (std::size_t k = 0; k < n; ++k) {
    if (seen & (std::uint64_t{1} << Slots[k].member)) continue;
    start[k] = static_cast<std::uint32_t>(out.size());
    visit_member<T>(Slots[k].member, [&](auto I) {
      using M = member_type<T, decltype(I)::value>;
      if constexpr (is_nullable<M>::value)  // absent is not null for a nullable
        out += Slots[k].presence_only ? '0' : 'a';
      else if constexpr (is_optional<M>::value)
        out += Slots[k].presence_only ? '0' : 'n';
      else
        fail_missing<T>(p, decltype(I)::value);
    });
    end[k] = static_cast<std::uint32_t>(out.size());
  }
  canonical_order(out, base, start, end);
}

/// Where `encode_map` notes its entries: on the stack for a small map (a data id has a handful),
/// in a buffer per thread past that, shared by nested maps, each using its own top region.
class map_entries {
 public:
  struct entry {
    std::uint32_t start, end, key_size;  // the entry's bytes in the key; its name at start + 5
  };
  map_entries() : mark_(spill().size()) {}
  map_entries(const map_entries&) = delete;
  map_entries& operator=(const map_entries&) = delete;
  ~map_entries() {
    if (n_ <= local_.size()) return;
    spill().resize(mark_);
    if (mark_ == 0) release_if_grown(spill());
  }
  void add(entry e) {
    if (n_ < local_.size()) {
      local_[n_++] = e;
      return;
    }
    if (n_++ == local_.size()) spill().insert(spill().end(), local_.begin(), local_.end());
    spill().push_back(e);
  }
  entry* begin() { return n_ <= local_.size() ? local_.data() : spill().data() + mark_; }
  entry* end() { return begin() + n_; }

 private:
  static std::vector<entry>& spill() {
    thread_local std::vector<entry> entries;
    return entries;
  }
  std::array<entry, 8> local_;
  std::size_t n_ = 0;
  std::size_t mark_;
};

/// Appends the entries of a string-keyed map sorted by key; maps are usually written in one order
/// throughout (data ids unsorted), so the check for order goes as the entries come.
template <class M, class S>
void encode_map(S& src, const path& p, std::string& out) {
  map_entries entries;
  const std::size_t base = out.size();
  auto name = [&out](const map_entries::entry& e) {
    return std::string_view(out).substr(e.start + 5, e.key_size);
  };
  bool sorted = true;
  src.for_each_member(p, [&](std::string_view key, S& value) {
    auto start = static_cast<std::uint32_t>(out.size());
    out += 's';
    put_u32(out, static_cast<std::uint32_t>(key.size()));
    out += key;
    if (start != base) sorted = sorted && !(key < name(*(entries.end() - 1)));
    encode<typename M::mapped_type>(value, p.member(key), out);
    entries.add(
        {start, static_cast<std::uint32_t>(out.size()), static_cast<std::uint32_t>(key.size())});
  });
  if (sorted) return;
  std::sort(entries.begin(), entries.end(),
            [&](const auto& a, const auto& b) { return name(a) < name(b); });
  std::string& ordered = reorder_scratch();
  ordered.clear();
  for (const auto& e : entries) ordered.append(out, e.start, e.end - e.start);
  out.replace(base, std::string::npos, ordered);
}

/// The canonical key of an object of type T: its declared key fields, or all of its members for a
/// whole-value or exact-bytes key (the exact bytes are only an alias in front of this key, see
/// detail/codec/intern.hpp), so equal values give equal keys whatever their spelling and backend.
template <class T, json_source S>
void encode_key(S& src, const path& p, std::string& out) {
  out += 'o';
  encode_fields<T, key_slots<T>()>(src, p, out);
}

}  // namespace dedup::detail

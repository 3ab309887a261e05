// The identity table of a compact read (dedup/compact.hpp): which instance each `$id` names, which
// record defined it, and which records are complete, so that a `$ref` finds its instance, waits
// for it in a parallel reader, or is an error.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dedup/detail/path.hpp"

namespace dedup {
class context;
}

namespace dedup::detail {

/// The type a `$id` was defined as, by address: what a `$ref` checks its member's type against.
/// Its name is known at compile time (`compact_type_of<U>`, in detail/wire/compact_source.hpp), so
/// that a check costs a pointer comparison and only an error spells it.
struct compact_type {
  std::string_view name;
};

/// The instances defined by `$id` in one compact document or stream. A document is one record
/// (index 0, no lock); a parallel reader's workers share one concurrent table, and a reference
/// from record i resolves only to a definition of record i itself or of a complete earlier record.
/// Ids are dense in a well-formed input (0, 1, 2... in order of definition), so they index a
/// vector; one far beyond the ids seen so far goes to a map, so that no input makes the vector
/// larger than twice its definitions.
///
/// ```
/// constexpr dedup::detail::compact_type int_type{"int"};
/// dedup::detail::compact_table table;
/// dedup::detail::path p;
/// table.begin(0, int_type, 0, p);
/// table.define(0, std::make_shared<const int>(7), {});
/// assert(*std::static_pointer_cast<const int>(table.resolve(0, int_type, 0, p)) == 7);
/// ```
class compact_table {
 public:
  /// A concurrent table's records before `first_record` count as complete: a stream's header, and
  /// the records of the streams before it in a concatenation, which define nothing here.
  explicit compact_table(bool concurrent = false, std::size_t first_record = 0)
      : concurrent_(concurrent), complete_below_(first_record) {}

  /// Starts the definition of `id` (as a `type`) by `record`: a duplicate is an error.
  void begin(std::uint64_t id, const compact_type& type, std::size_t record, const path& at) {
    auto lock = guard();
    entry& e = slot(id);
    if (e.type) {
      // A document is one record: only the pointer tells where; a stream names the record.
      fail(at, "duplicate $id " + std::to_string(id) + " (first defined " +
                   (concurrent_ ? "in record " + std::to_string(e.record) : "at " + e.defined_at) +
                   ")");
    }
    e = entry{&type, {}, {}, record, false, concurrent_ ? std::string() : at.render()};
    ++entries_;
  }

  /// Completes the definition of `id` begun by `begin`, with its canonical key when known.
  void define(std::uint64_t id, std::shared_ptr<const void> value, std::string key) {
    auto lock = guard();
    entry& e = *find(id);
    e.value = std::move(value);
    e.key = std::move(key);
    e.defined = true;
    if (!pending_keys_.empty()) pending_keys_.erase(id);
    if (concurrent_) changed_.notify_all();
  }

  /// The instance `id` names for a reference from `record` at `at`, waiting (concurrent tables
  /// only) until the record that defines it is complete; an error if it is undefined before the
  /// reference, defined later, still being read (a cycle), failed, or of another type.
  std::shared_ptr<const void> resolve(std::uint64_t id, const compact_type& type,
                                      std::size_t record, const path& at) {
    auto lock = guard();
    return usable(id, type, record, at, lock).value;
  }

  /// Appends the canonical key of `id`'s instance to `out`, as `resolve` finds it; a key only
  /// announced by `announce` in this same record serves before the definition lands.
  void append_key(std::uint64_t id, const compact_type& type, std::size_t record, const path& at,
                  std::string& out) {
    auto lock = guard();
    if (auto it = pending_keys_.find(id); it != pending_keys_.end() && it->second.first == record)
      return void(out += it->second.second);
    out += usable(id, type, record, at, lock).key;
  }

  /// The key of a `$id` seen while a parent's key was computed, before its definition is read.
  void announce(std::uint64_t id, std::size_t record, std::string_view key) {
    auto lock = guard();
    if (const entry* e = find(id); !e || !e->type) pending_keys_[id] = {record, std::string(key)};
  }

  /// Marks `record` complete; a failed record's definitions become errors for later references.
  void record_done(std::size_t record, bool ok) {
    if (!concurrent_) return;
    std::lock_guard lock(mutex_);
    if (!ok) failed_records_.insert(record);
    done_ahead_.insert(record);
    while (!done_ahead_.empty() && *done_ahead_.begin() == complete_below_) {
      done_ahead_.erase(done_ahead_.begin());
      ++complete_below_;
    }
    changed_.notify_all();
  }

  /// The one buffer of `text` among the strings of this read: what `istring` holds in a compact
  /// read outside a scope, so that repeats share their buffer as they did when written.
  std::shared_ptr<const std::string> shared_text(std::string_view text) {
    auto lock = guard();
    if (auto it = strings_.find(text); it != strings_.end()) return it->second;
    auto made = std::make_shared<const std::string>(text);
    strings_.emplace(std::string_view(*made), made);
    return made;
  }

  /// Ends every wait with an error: the reader is stopping.
  void cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    changed_.notify_all();
  }

 private:
  struct entry {
    const compact_type* type = nullptr;  // null: no such id
    std::shared_ptr<const void> value;
    std::string key;
    std::size_t record = 0;
    bool defined = false;    // false while its value is read
    std::string defined_at;  // the pointer of the `$id`, in a document
  };

  std::unique_lock<std::mutex> guard() {
    return concurrent_ ? std::unique_lock(mutex_) : std::unique_lock<std::mutex>();
  }

  entry* find(std::uint64_t id) {
    if (id < dense_.size()) return &dense_[id];
    auto it = sparse_.find(id);
    return it == sparse_.end() ? nullptr : &it->second;
  }

  /// The entry of `id`, made empty if there is none.
  entry& slot(std::uint64_t id) {
    if (id < dense_.size()) return dense_[id];
    if (id < 2 * entries_ + 4096 && !sparse_.count(id)) {
      dense_.resize(std::max<std::size_t>(id + 1, dense_.size() + dense_.size() / 2));
      return dense_[id];
    }
    return sparse_[id];
  }

  bool complete(std::size_t record) const {
    return !concurrent_ || record < complete_below_ || done_ahead_.count(record);
  }

  const entry& usable(std::uint64_t id, const compact_type& type, std::size_t record,
                      const path& at, std::unique_lock<std::mutex>& lock) {
    auto name = [id] { return "$ref " + std::to_string(id); };
    for (;;) {
      if (cancelled_) fail(at, "the reader stopped before " + name() + " could be resolved");
      const entry* e = find(id);
      if (!e || !e->type) {
        if (!concurrent_ || complete_below_ >= record)
          fail(at, name() + " names an id not defined before it");
      } else if (e->record > record) {
        fail(at,
             name() + " names an id defined only later, in record " + std::to_string(e->record));
      } else if (e->record == record || complete(e->record)) {
        if (!failed_records_.empty() && failed_records_.count(e->record))
          fail(at,
               name() + " names an id of record " + std::to_string(e->record) + ", which failed");
        if (!e->defined) fail(at, name() + " is inside the value it names (a cycle)");
        if (e->type != &type) {
          fail(at, name() + " names a " + std::string(e->type->name) + ", not the " +
                       std::string(type.name) + " this member holds");
        }
        return *e;
      }
      changed_.wait(lock);
    }
  }

  bool concurrent_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<entry> dense_;
  std::unordered_map<std::uint64_t, entry> sparse_;
  std::size_t entries_ = 0;
  std::unordered_map<std::uint64_t, std::pair<std::size_t, std::string>> pending_keys_;
  std::unordered_set<std::size_t> failed_records_;
  std::set<std::size_t> done_ahead_;
  std::unordered_map<std::string_view, std::shared_ptr<const std::string>> strings_;
  std::size_t complete_below_;
  bool cancelled_ = false;
};

/// The compact read a compact source carries (detail/wire/compact_source.hpp): its table, and the
/// record being read.
struct compact_reading {
  compact_table* table = nullptr;
  std::size_t record = 0;
};

}  // namespace dedup::detail

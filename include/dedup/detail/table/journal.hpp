// The rollback journal: the table entries a read added, so that a read that fails takes them back
// and leaves the tables as they were.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/detail/api.hpp"
#include "dedup/table_stats.hpp"

namespace dedup::detail {

/// The journal's door to a table of any type: undoing an entry needs only the table's
/// type-independent face, so the journal does not depend on the intern table itself.
///
/// ```
/// dedup::intern_table<std::string> table;
/// dedup::detail::table_base_access::erase_if_unused(table, "absent");  // nothing to remove
/// assert(table.size() == 0);
/// ```
struct table_base_access {
  static void erase_if_unused(table_base& t, std::string_view key) { t.erase_if_unused(key); }
};

// ---- undoing the entries of a failed read ------------------------------------------------------

/// The entries a top-level read added, so that a read that fails leaves the tables as they were.
struct journal {
  int depth = 0;
  // Keys as views of the tables' own key bytes: a node-based table never moves them, and an entry
  // is only erased by the rollback of the read that added it, so no key is copied on a miss.
  std::vector<std::pair<table_base*, std::string_view>> added;
  // Copies of the keys of tables whose entries can go before the read ends (budgets, weak
  // entries); a deque, so the views into it stay valid as it grows.
  std::deque<std::string> kept_keys;
};
DEDUP_API inline thread_local journal current_journal;

/// Opens a fresh journal frame for a scope and returns the frame it hides, so that the reads of a
/// scope opened in the middle of a read (a codec that parses with a scope of its own) never journal
/// into the outer read, whose rollback would otherwise touch the inner context's tables after that
/// context is gone. An idle frame (no read in progress, so no entries) is left in place, keeping
/// its capacity: `saved` stays empty and `leave_journal_frame` leaves the thread's frame alone.
///
/// ```
/// auto saved = dedup::detail::enter_journal_frame();
/// // ... reads of the inner scope ...
/// dedup::detail::leave_journal_frame(std::move(saved));
/// ```
inline std::optional<journal> enter_journal_frame() noexcept {
  if (current_journal.depth == 0) [[likely]]
    return std::nullopt;
  return std::exchange(current_journal, journal{});
}

/// Closes a scope's journal frame: the frame `enter_journal_frame` hid is current again.
inline void leave_journal_frame(std::optional<journal>&& saved) noexcept {
  if (saved) current_journal = std::move(*saved);
}

class transaction {
 public:
  transaction() : mark_(current_journal.added.size()) { ++current_journal.depth; }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    journal& j = current_journal;
    if (!committed_) {  // newest first, so an entry's parts are no longer held when they are tried
      for (std::size_t i = j.added.size(); i > mark_; --i)
        table_base_access::erase_if_unused(*j.added[i - 1].first, j.added[i - 1].second);
      j.added.resize(mark_);
    }
    if (--j.depth == 0) {
      j.added.clear();
      j.kept_keys.clear();
    }
  }
  void commit() { committed_ = true; }

 private:
  std::size_t mark_;
  bool committed_ = false;
};

/// Records a new entry of `table` in the journal of the read in progress, if any; `key` must be the
/// table's own copy of the key (`ticket::key()`).
inline void journal_entry(table_base& table, std::string_view key) {
  if (current_journal.depth == 0) return;
  if (table.entries_may_vanish()) key = current_journal.kept_keys.emplace_back(key);
  current_journal.added.emplace_back(&table, key);
}

/// Entries of the journal kept past the end of their read, with their keys copied: a read that may
/// yet be discarded (a record the stream reader parsed ahead of its consumer) commits, keeps its
/// entries, and takes them back with `take_back` if it is discarded. Copies, because an entry may
/// be evicted, and its key bytes freed, while it waits.
///
/// ```text
/// std::size_t mark = current_journal.added.size();
/// transaction outer;  // keeps the entries of the committed reads inside it in the journal
/// auto value = read_document<T>(src, root);
/// kept_entries mine = entries_since(mark);
/// outer.commit();
/// // ... if value is never delivered: value.reset(); take_back(mine);
/// ```
using kept_entries = std::vector<std::pair<table_base*, std::string>>;

/// The entries this thread's journal gained since it held `mark` of them.
inline kept_entries entries_since(std::size_t mark) {
  kept_entries out;
  const auto& added = current_journal.added;
  for (std::size_t i = mark; i < added.size(); ++i)
    out.emplace_back(added[i].first, std::string(added[i].second));
  return out;
}

/// Removes kept entries that nothing outside their tables holds, newest first, so that an entry's
/// parts are no longer held by it when they are tried.
inline void take_back(const kept_entries& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    table_base_access::erase_if_unused(*it->first, it->second);
}

}  // namespace dedup::detail

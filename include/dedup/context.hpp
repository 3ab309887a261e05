// dedup/context.hpp: the set of intern tables of one scope, and how a scope makes it current.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <version>
#if defined(__cpp_lib_source_location)
#include <source_location>
#endif
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dedup/detail/table/journal.hpp"
#include "dedup/detail/table/sharing_gate.hpp"
#include "dedup/detail/table/table_access.hpp"
#include "dedup/detail/table/tuning_memory.hpp"
#include "dedup/error.hpp"
#include "dedup/intern_table.hpp"
#include "dedup/policy.hpp"
#include "dedup/reflect.hpp"

namespace dedup {

class context;
class scope;

namespace detail {

/// The types given a slot so far, one registry per process: with `-fvisibility=hidden` each shared
/// library has its own copy of every header static, so a per-library counter would give two types
/// one slot (a table used as the wrong type). Keyed by `std::type_info`, compared with `==`, which
/// matches one type across libraries by name and keeps types local to a translation unit apart.
///
/// ```
/// std::size_t slot = dedup::detail::slot_of_type(typeid(int));
/// assert(dedup::detail::type_registry::of_process().count.load() > slot);
/// ```
struct DEDUP_API type_registry {
  std::mutex mutex;
  std::vector<const std::type_info*> types;
  std::atomic<std::size_t> count{0};

  DEDUP_API static type_registry& of_process() {
    static type_registry registry;
    return registry;
  }
};

/// The slot of a type: the same in every module of the process.
///
/// ```
/// std::size_t slot = dedup::detail::slot_of_type(typeid(butler::DatasetType));
/// assert(slot == dedup::detail::slot_of_type(typeid(butler::DatasetType)));
/// ```
DEDUP_API inline std::size_t slot_of_type(const std::type_info& type) {
  type_registry& r = type_registry::of_process();
  std::lock_guard lock(r.mutex);
  for (std::size_t i = 0; i < r.types.size(); ++i)
    if (*r.types[i] == type) return i;
  r.types.push_back(&type);
  r.count.store(r.types.size(), std::memory_order_release);
  return r.types.size() - 1;
}

/// A small integer per interned type, given once, so a context finds a table by indexing an array
/// instead of hashing a type_index. Cached per module; the registry makes it one per process.
template <class T>
std::size_t type_slot() {
  static const std::size_t slot = slot_of_type(typeid(T));
  return slot;
}

/// Where a context was made, for the self-tuning policy's memory (see `site_of`): a scope's
/// declaration, or for `dedup::run` the type of its function (each lambda its own).
///
/// ```
/// auto f = [] {};
/// assert(dedup::detail::scope_site::of<decltype(f)>().id != 0);
/// ```
struct scope_site {
  std::uint64_t id = 0;
  template <class F>
  static scope_site of() {
    return {hash_key(typeid(F).name()) | 1};
  }
};

/// The innermost open scope's context on this thread; kept equal to the top of `scope_stack`.
DEDUP_API inline thread_local context* current_context = nullptr;

/// The open scopes of one thread, innermost first (linked through `scope::below_`), and a misuse
/// waiting to be reported: a destructor cannot throw, so a scope closed out of order is unlinked at
/// once and reported by the next scope, `run`, `current()` or read on the thread.
struct scope_stack {
  dedup::scope* top = nullptr;
  bool closed_out_of_order = false;
};
DEDUP_API inline thread_local scope_stack open_scopes;

/// Throws, once, the `usage_error` of a scope closed out of order on this thread since the last
/// check.
inline void check_scope_order() {
  if (!open_scopes.closed_out_of_order) [[likely]]
    return;
  open_scopes.closed_out_of_order = false;
  throw usage_error(
      "dedup::scope closed out of order: a scope was destroyed while a scope opened after it on "
      "the same thread was still open; it was unlinked, and the innermost scope still open is "
      "current");
}

/// A number nothing else in this process (no context, no context_var) has had; 64 bits never wrap
/// in practice, so an identity made from it is never reused.
DEDUP_API inline std::uint64_t next_unique_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

/// The intern tables of one scope, one per type, made on first use, and the values of the
/// `context_var`s set in it. A context is always held by `std::shared_ptr`: `scope` makes one, and
/// `current()` hands it out so other threads can join it. All of its members may be used from
/// several threads at once. Until a second thread joins it (or uses one of its tables), its
/// tables are private to the thread that made it and take no locks; the first such thread
/// switches them to the shared protocol, safely even while the owner is interning.
///
/// ```
/// dedup::scope s;
/// auto a = dedup::from_simple<butler::DatasetType>(j);
/// assert(dedup::current()->stats<butler::DatasetType>().entries == 1);
/// ```
class context : public std::enable_shared_from_this<context> {
 public:
  /// How many distinct interned types one program may use.
  static constexpr std::size_t max_interned_types = 1024;

  // The slot array is made with the first table, so an empty scope (`run([] {})`) costs one
  // allocation, not 8 KiB zeroed and scanned.
  context() = default;
  context(const context&) = delete;
  context& operator=(const context&) = delete;
  ~context() {
    if (!release_hooks_.empty()) release_volatile();  // no other thread holds a destroyed context
    std::atomic<table_base*>* slots = tables_.load(std::memory_order_acquire);
    if (!slots) return;
    // Only slots given so far can hold a table.
    std::size_t given = detail::type_registry::of_process().count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < std::min(given, max_interned_types); ++i) delete slots[i].load();
    delete[] slots;
  }

  /// The table of T, made on first use with T's default policy.
  template <class T>
  intern_table<T>& table() {
    std::atomic<table_base*>& slot = slot_of<T>();
    if (table_base* t = slot.load(std::memory_order_acquire))
      return static_cast<intern_table<T>&>(*t);
    auto made = std::make_unique<intern_table<T>>(default_policy<T>(), options<T>::budget);
    detail::table_access::attach(*made, &gate_, checked_slot<T>(), site_);
    table_base* expected = nullptr;
    if (slot.compare_exchange_strong(expected, made.get(), std::memory_order_acq_rel))
      return *made.release();
    return static_cast<intern_table<T>&>(*expected);
  }

  /// Counters of T's table (all zero if T was never interned here).
  template <class T>
  table_stats stats() const {
    std::atomic<table_base*>* slots = tables_.load(std::memory_order_acquire);
    table_base* t = slots ? slots[checked_slot<T>()].load(std::memory_order_acquire) : nullptr;
    return t ? t->stats() : table_stats{};
  }

  /// Overrides T's policy in this context; set it before the table is in concurrent use.
  template <class T>
  void set_policy(policy p) {
    table<T>().set_policy(p);
  }

  /// Bounds T's table in this context (see `dedup::budget`); set it before the table is in
  /// concurrent use.
  ///
  /// ```
  /// dedup::scope s;
  /// dedup::current()->set_budget<butler::DataCoordinate>({.max_entries = 1000});
  /// ```
  template <class T>
  void set_budget(const budget& b) {
    table<T>().set_budget(b);
  }

  /// Whether any table was made here (an empty scope makes none, and no slot array either).
  ///
  /// ```
  /// dedup::scope s;
  /// assert(!s.get().has_tables());
  /// ```
  bool has_tables() const noexcept { return tables_.load(std::memory_order_acquire) != nullptr; }

  /// A number no other context of this process has had.
  std::uint64_t id() const noexcept { return id_; }

  /// Whether this context's scope was marked volatile (`scope::mark_volatile`): what caches
  /// store while it is current is dropped from their memory when that scope ends.
  bool is_volatile() const noexcept { return volatile_.load(std::memory_order_acquire); }
  /// Registers `hook` to run once, when the volatile scope ends (or this context is destroyed).
  /// A hook must not throw and must check that what it names still exists.
  void on_volatile_release(std::function<void()> hook) {
    std::lock_guard lock(vars_mutex_);
    release_hooks_.push_back(std::move(hook));
  }

 private:
  friend class scope;
  template <class>
  friend class context_var;

  template <class T>
  static policy default_policy() {
    policy p = options<T>::policy;
    if (detail::verify_forced_by_environment()) p.verify = true;
    if (detail::trust_forced_by_environment()) p.trusted_input = true;
    return p;
  }

  template <class T>
  static std::size_t checked_slot() {
    std::size_t slot = detail::type_slot<T>();
    if (slot >= max_interned_types)
      throw usage_error("dedup: more than 1024 interned types in one program");
    return slot;
  }

  template <class T>
  std::atomic<table_base*>& slot_of() {
    std::size_t slot = checked_slot<T>();
    std::atomic<table_base*>* slots = tables_.load(std::memory_order_acquire);
    if (!slots) [[unlikely]]
      slots = make_slots();
    return slots[slot];
  }

  std::atomic<table_base*>* make_slots() {
    auto made = std::make_unique<std::atomic<table_base*>[]>(max_interned_types);  // all null
    std::atomic<table_base*>* expected = nullptr;
    if (tables_.compare_exchange_strong(expected, made.get(), std::memory_order_acq_rel))
      return made.release();
    return expected;  // another thread made them first
  }

  // Keyed by the variable's id, never by its address: a variable made where a destroyed one lived
  // must not see the old value (nor read it as another type).
  using var_map = std::unordered_map<std::uint64_t, std::shared_ptr<const void>>;
  var_map vars() const {
    std::lock_guard lock(vars_mutex_);
    return vars_;
  }

  void release_volatile() noexcept {
    std::vector<std::function<void()>> hooks;
    {
      std::lock_guard lock(vars_mutex_);
      hooks.swap(release_hooks_);
    }
    for (auto& hook : hooks) hook();
  }

  std::atomic<std::atomic<table_base*>*> tables_{nullptr};  // max_interned_types slots, or null
  std::atomic<bool> volatile_{false};
  std::vector<std::function<void()>> release_hooks_;  // guarded by vars_mutex_
  mutable std::mutex vars_mutex_;
  var_map vars_;
  std::uint64_t id_ = detail::next_unique_id();
  std::uint64_t site_ = 0;  // where its scope was declared (detail::site_of), 0 if made by hand
  // Declared last, destroyed after the tables (deleted in the destructor's body) that point to it.
  detail::sharing_gate gate_;
};

/// The context current on this thread, or null outside every scope. Hand it to another thread and
/// open `dedup::scope s{ctx};` there to share its tables. Throws `usage_error` (once) if a scope
/// was closed out of order on this thread since the last check (see `scope`).
///
/// ```
/// dedup::scope s;
/// std::shared_ptr<dedup::context> ctx = dedup::current();
/// std::thread([ctx] { dedup::scope joined{ctx}; /* shares s's tables */ }).join();
/// ```
inline std::shared_ptr<context> current() {
  detail::check_scope_order();
  context* c = detail::current_context;
  return c ? c->shared_from_this() : nullptr;
}

/// RAII guard that makes a context current on this thread for its lifetime. `scope s;` makes a
/// fresh context: its tables start empty (shadowing any outer scope's) and its context_vars start
/// with the values current when it opened. `scope s{ctx};` joins an existing context instead, the
/// way a worker thread shares its parent's tables. On destruction the previous context is current
/// again; a fresh context's tables are released once no scope or `current()` holder keeps it.
///
/// The scopes of a thread form a stack and must close innermost first, on the thread that opened
/// them. One closed out of order (`std::optional<scope> a; a.emplace(); scope b; a.reset();`) is
/// unlinked at once, so the innermost scope still open stays current and no closed context can
/// ever become current again; since a destructor must not throw, the misuse is reported as a
/// `usage_error` ("dedup::scope closed out of order ...") by the next scope construction, `run`,
/// `current()` or `from_simple` on that thread, once.
///
/// ```
/// {
///   dedup::scope s;
///   auto a = dedup::from_simple<butler::DatasetType>(j);
///   auto b = dedup::from_simple<butler::DatasetType>(j);
///   assert(a == b);
/// }
/// ```
class scope {
 public:
  /// Makes a fresh context. `where` is this declaration's place in the code, left to its default:
  /// the self-tuning policy judges together the contexts made at one place (see
  /// `policy::adaptive`).
#if defined(__cpp_lib_source_location)
  scope(std::source_location where = std::source_location::current())
      : scope(
            detail::scope_site{detail::site_of(where.file_name(), where.line(), where.column())}) {}
#else  // a standard library without it (libstdc++ under clang 14): the builtins it is made of
  scope(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE(),
        unsigned column = __builtin_COLUMN())
      : scope(detail::scope_site{detail::site_of(file, line, column)}) {}
#endif
  explicit scope(std::shared_ptr<context> joined) {
    detail::check_scope_order();
    if (!joined) throw usage_error("dedup::scope: cannot join a null context");
    joined->gate_.share_if_foreign();  // a second thread: the tables take locks from now on
    ctx_ = std::move(joined);
    push();
  }
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;
  ~scope() {
    pop();
    if (owns_volatile_) ctx_->release_volatile();
  }

  /// The context this scope made current.
  context& get() const noexcept {
    return *ctx_;
  }

  /// Makes this scope volatile, the "loading" of a cache's owner: values that disk caches store
  /// or load while its context is current leave their memory tiers when this scope ends (they
  /// stay on disk). Scopes opened inside it are not volatile unless marked too.
  ///
  /// ```
  /// dedup::scope s;
  /// s.mark_volatile();
  /// assert(s.get().is_volatile());
  /// ```
  void mark_volatile() noexcept {
    ctx_->volatile_.store(true, std::memory_order_release);
    owns_volatile_ = true;
  }

 private:
  // A fresh context made at `site`: `dedup::run` makes one at its function's type.
  template <class F, class... Args>
  friend decltype(auto) run(F&& fn, Args&&... args);
  explicit scope(detail::scope_site site);

  void push() noexcept {
    detail::scope_stack& stack = detail::open_scopes;
    below_ = stack.top;
    stack.top = this;
    detail::current_context = ctx_.get();
    saved_journal_ = detail::enter_journal_frame();
  }

  void pop() noexcept {
    detail::scope_stack& stack = detail::open_scopes;
    if (stack.top == this) {
      stack.top = below_;
      detail::current_context = below_ ? below_->ctx_.get() : nullptr;
      detail::leave_journal_frame(std::move(saved_journal_));
      return;
    }
    // Out of order: the scopes opened after this one stay open and current; the one just above
    // inherits what was below this one (its link and the journal frame this one hid), so this
    // context is never made current again and its frame, which may name its tables, is dropped.
    for (scope* s = stack.top; s; s = s->below_) {
      if (s->below_ == this) {
        s->below_ = below_;
        s->saved_journal_ = std::move(saved_journal_);
        break;
      }
    }
    stack.closed_out_of_order = true;
  }

  std::shared_ptr<context> ctx_;
  scope* below_ = nullptr;
  bool owns_volatile_ = false;
  std::optional<detail::journal> saved_journal_;  // the frame of the read this scope opened in
};

namespace detail {
/// The context that holds context_var values when no scope is open: one per thread, so that
/// `context_var` works everywhere, as Python's does.
DEDUP_API inline context& var_context() {
  if (current_context) return *current_context;
  thread_local auto root = std::make_shared<context>();
  return *root;
}
}  // namespace detail

inline scope::scope(detail::scope_site site) {
  detail::check_scope_order();
  ctx_ = std::make_shared<context>();
  ctx_->vars_ = detail::var_context().vars();
  ctx_->site_ = site.id;
  push();
}

/// Calls `fn(args...)` with a fresh context current on this thread and returns its result; on
/// return or exception the previous context is current again. The functional form of `scope`, like
/// the reference system's `run(fn, *args)`. Like `scope`, it first reports (as `usage_error`) a
/// scope closed out of order on this thread.
///
/// ```
/// auto type = dedup::run([&] { return dedup::from_simple<butler::DatasetType>(j); });
/// assert(type->name == "calexp");
/// ```
template <class F, class... Args>
decltype(auto) run(F&& fn, Args&&... args) {
  scope s(detail::scope_site::of<std::decay_t<F>>());
  return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
}

/// Counters of T's table in the current context (all zero outside a scope).
template <class T>
table_stats stats() {
  context* c = detail::current_context;
  return c ? c->stats<T>() : table_stats{};
}

}  // namespace dedup

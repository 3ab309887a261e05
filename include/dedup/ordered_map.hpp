// dedup/ordered_map.hpp: ordered, bounded, cancellable parallel work over any sequence of items,
// with the workers in the caller's context (the engine of dedup::reader, as a public primitive).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "dedup/context.hpp"
#include "dedup/detail/ordered_engine.hpp"
#include "dedup/error.hpp"

namespace dedup {

/// How far ordered work has got, as passed to `on_progress`: `records` delivered or skipped so
/// far, `bytes` of input up to the end of the last of them, and `total_bytes` of the input (0 when
/// unknown, as for a pipe, or when the items are not bytes of a file, as with `ordered_map`).
///
/// ```
/// o.on_progress = [](const dedup::progress& p) { std::fprintf(stderr, "%zu\r", p.records); };
/// ```
struct progress {
  std::size_t records = 0;
  std::size_t bytes = 0;
  std::size_t total_bytes = 0;
};

/// The most worker threads `ordered_map` (and `reader`) start; more is a `dedup::usage_error`.
///
/// ```
/// dedup::ordered_options m{.threads = std::min<std::size_t>(n, dedup::max_ordered_threads)};
/// ```
inline constexpr std::size_t max_ordered_threads = detail::max_engine_threads;

/// The settings of `ordered_map`: `threads` workers (0: one per hardware thread); `max_queue`, the
/// most items taken ahead of the consumer, in work or done and not yet consumed (0: 256 per
/// worker); a worker takes one item at a time, or up to `max_queue / (2 * threads)` at once (at
/// most 128) while its items are cheap, so a small queue means small batches. `skip_bad` skips the
/// items whose fn threw a `dedup::error`, counting them and passing each error to `on_skip`;
/// `on_progress` is called on the consumer's thread after every item delivered or skipped, and once
/// at the end.
///
/// ```
/// dedup::ordered_options m{.threads = 4, .max_queue = 16, .skip_bad = true};
/// ```
struct ordered_options {
  std::size_t threads = 0;
  std::size_t max_queue = 0;
  bool skip_bad = false;
  std::function<void(const progress&)> on_progress{};
  std::function<void(const error&)> on_skip{};
};

namespace detail {

/// Items of a forward range of lvalues are passed to fn in place; others are copied out of the
/// range under the lock (the element of a single-pass range is gone once its iterator moves).
template <class V>
inline constexpr bool items_in_place =
    std::ranges::forward_range<V>&& std::is_lvalue_reference_v<std::ranges::range_reference_t<V>>;

template <class V>
using map_item_t = std::conditional_t<items_in_place<V>,
                                      std::remove_reference_t<std::ranges::range_reference_t<V>>*,
                                      std::optional<std::ranges::range_value_t<V>>>;

template <class V>
using map_arg_t = decltype(*std::declval<map_item_t<V>&>());

template <class F>
using const_fn_t = const std::decay_t<F>&;

/// ordered_map's policy of the engine: the items of a view, fn applied to each.
template <class V, class F>
struct map_policy : engine_hooks {
  struct no_extra {};
  using item_type = map_item_t<V>;
  using value_type = std::remove_cvref_t<std::invoke_result_t<const F&, map_arg_t<V>>>;
  using extra_type = no_extra;

  map_policy(V view, F fn, ordered_options options)
      : view_(std::move(view)), fn_(std::move(fn)), options_(std::move(options)) {}

  bool pull(item_type& item) {
    if (!it_) it_.emplace(std::ranges::begin(view_));
    if (*it_ == std::ranges::end(view_)) return false;
    if constexpr (items_in_place<V>)
      item = std::addressof(**it_);
    else
      item.emplace(**it_);
    ++*it_;
    return true;
  }

  value_type apply(item_type& item, std::size_t, extra_type&) {
    if constexpr (items_in_place<V>) {
      return std::invoke(fn_, *item);
    } else {
      struct release {  // a copied item is not kept until its worker's next batch
        item_type& item;
        ~release() { item.reset(); }
      } done{item};
      return std::invoke(fn_, *item);
    }
  }

  /// A plain `dedup::error` not yet located in a stream gains the item's index; one of a class
  /// derived from it, or one that fn located itself, is rethrown as it was thrown. The engine
  /// passes no other exception here: those are rethrown as thrown, never skipped.
  std::exception_ptr locate(const error& e, const item_type&, std::size_t index) {
    if (typeid(e) != typeid(error) || e.record()) return std::current_exception();
    return std::make_exception_ptr(e.in_record(index, 0));
  }

  void progressed(std::size_t records, const extra_type*) {
    if (options_.on_progress) options_.on_progress({records, 0, 0});
  }
  void skipped(const error& e) {
    if (options_.on_skip) options_.on_skip(e);
  }

  V view_;
  std::optional<std::ranges::iterator_t<V>> it_;  // begun on the first pull, under the lock
  const F fn_;  // const: workers call it at once, so it must not change state of its own
  ordered_options options_;
};

}  // namespace detail

/// What `ordered_map` takes as its work on the items of a range R: a function callable as const
/// (workers call it at once) on each item, an lvalue of the range's elements when they are passed
/// in place, else a copy.
///
/// ```
/// static_assert(dedup::ordered_work<int (*)(int), std::vector<int>>);
/// static_assert(!dedup::ordered_work<int (*)(std::string), std::vector<int>>);
/// ```
template <class F, class R>
concept ordered_work = std::ranges::viewable_range<R> &&
    std::invocable<detail::const_fn_t<F>, detail::map_arg_t<std::views::all_t<R>>>;

namespace detail {
struct queue_access;
}  // namespace detail

/// The lower-level handle of ordered parallel work (what `ordered_map` iterates): results are
/// pulled with `next()`, and the handle can be moved to another owner or thread and consumed
/// there, with the same guarantees as the range. Destroying it, or `cancel()`, stops and joins the
/// workers: those waiting for room wake, items not started are never started. A moved-from handle
/// is empty: `next()` returns nothing and the counters are 0.
///
/// ```
/// auto q = dedup::make_ordered_queue(std::views::iota(0, 10), [](int i) { return i * i; });
/// std::thread consumer([q = std::move(q)]() mutable {
///   while (auto v = q.next()) use(*v);  // 0, 1, 4, ... 81, in order
/// });
/// consumer.join();
/// ```
template <class Value>
class ordered_queue {
 public:
  using value_type = Value;

  ordered_queue() = default;

  /// The next result in input order, moved out; nothing at the end. A failure is rethrown when
  /// it is reached, after every earlier result (see `ordered_map`).
  std::optional<Value> next() {
    Value* v = engine_ ? engine_->next() : nullptr;
    if (!v) return std::nullopt;
    return std::optional<Value>(std::move(*v));
  }
  /// Stops and joins the workers now; `next()` then returns nothing.
  void cancel() {
    if (engine_) engine_->cancel();
  }

  /// Items delivered so far.
  std::size_t delivered() const noexcept { return engine_ ? engine_->delivered() : 0; }
  /// Items skipped so far with `skip_bad`.
  std::size_t skipped() const noexcept { return engine_ ? engine_->skipped() : 0; }
  /// The number of worker threads.
  std::size_t threads() const noexcept { return engine_ ? engine_->threads() : 0; }
  /// The most items ever taken ahead of the consumer; never more than `max_queue`.
  std::size_t most_ahead() const { return engine_ ? engine_->most_ahead() : 0; }
  /// The index in the input of the item last delivered, or of the failure last thrown.
  std::size_t index() const noexcept { return engine_ ? engine_->index() : 0; }
  /// The context the workers share: the caller's, or the fresh one made for this work.
  std::shared_ptr<context> shared_context() const {
    return engine_ ? engine_->shared_context() : nullptr;
  }

 private:
  friend struct detail::queue_access;
  explicit ordered_queue(std::unique_ptr<detail::ordered_source<Value>> engine) noexcept
      : engine_(std::move(engine)) {}

  std::unique_ptr<detail::ordered_source<Value>> engine_;
};

namespace detail {
/// Makes an `ordered_queue` over an engine; only `make_ordered_queue` does.
struct queue_access {
  template <class Value>
  static ordered_queue<Value> make(std::unique_ptr<ordered_source<Value>> engine) noexcept {
    return ordered_queue<Value>(std::move(engine));
  }
};
}  // namespace detail

/// The input range over an `ordered_queue`'s results, as `ordered_map` returns it. Iterate once;
/// `*it` is the current result, which the consumer may move from.
///
/// ```
/// auto squares = dedup::ordered_map(std::vector{1, 2, 3}, [](int i) { return i * i; });
/// for (int& s : squares) use(s);
/// assert(squares.delivered() == 3);
/// ```
template <class Value>
class ordered_range {
 public:
  using value_type = Value;

  /// The position in the results.
  class iterator {
   public:
    using value_type = Value;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    value_type& operator*() const { return *owner_->current_; }
    value_type* operator->() const { return &*owner_->current_; }
    iterator& operator++() {
      owner_->current_.reset();  // a failure thrown by next() leaves no stale result current
      owner_->current_ = owner_->queue_.next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.done(); }

   private:
    friend class ordered_range;
    bool done() const { return !owner_ || !owner_->current_; }
    explicit iterator(ordered_range* owner) : owner_(owner) {}
    ordered_range* owner_ = nullptr;
  };

  explicit ordered_range(ordered_queue<Value> queue) noexcept : queue_(std::move(queue)) {}

  /// The first result (waiting for it on the first call); the range is single-pass.
  iterator begin() {
    if (!started_) {
      started_ = true;
      current_ = queue_.next();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  /// The handle underneath, for its counters (or to cancel early).
  ordered_queue<Value>& queue() noexcept { return queue_; }
  // The handle's counters: delivered, skipped, threads, most ahead, the current index, the context.
  std::size_t delivered() const noexcept { return queue_.delivered(); }
  std::size_t skipped() const noexcept { return queue_.skipped(); }
  std::size_t threads() const noexcept { return queue_.threads(); }
  std::size_t most_ahead() const { return queue_.most_ahead(); }
  std::size_t index() const noexcept { return queue_.index(); }
  std::shared_ptr<context> shared_context() const { return queue_.shared_context(); }

 private:
  ordered_queue<Value> queue_;
  std::optional<Value> current_;
  bool started_ = false;
};

/// `ordered_map`'s work as a movable handle rather than a range.
///
/// ```
/// auto q = dedup::make_ordered_queue(std::vector{3, 1, 2}, [](int i) { return i + 1; });
/// assert(*q.next() == 4 && *q.next() == 2 && *q.next() == 3 && !q.next());
/// ```
template <std::ranges::input_range R, ordered_work<R> F>
auto make_ordered_queue(R&& items, F&& fn, ordered_options options) {
  using policy = detail::map_policy<std::views::all_t<R>, std::decay_t<F>>;
  using value = typename policy::value_type;
  static_assert(std::is_move_constructible_v<value> && !std::is_void_v<value>,
                "dedup::ordered_map: fn must return a movable value");
  detail::engine_settings settings =
      detail::settle("dedup::ordered_map", options.threads, options.max_queue, options.skip_bad);
  auto engine = std::make_unique<detail::ordered_engine<policy>>(
      settings, dedup::current(), std::views::all(std::forward<R>(items)), std::forward<F>(fn),
      std::move(options));
  return detail::queue_access::make<value>(std::move(engine));
}

/// `make_ordered_queue` with the default options.
template <std::ranges::input_range R, ordered_work<R> F>
auto make_ordered_queue(R&& items, F&& fn) {
  return make_ordered_queue(std::forward<R>(items), std::forward<F>(fn), ordered_options{});
}

/// `fn(item)` for every item of `items` (any input range: a vector, a `std::views::iota`, a
/// single-pass range), run by worker threads, the results yielded in input order as an input
/// range. The workers join the context current here (or one fresh context if none is), so what fn
/// interns is shared across items and with the caller; fn is called concurrently and must be safe
/// so (it is called as const). Items are pulled from `items` under one lock, in batches while they
/// are cheap (a single-pass range is fine); items of a forward range of lvalues are passed in
/// place, others as copies. Result i is handed over as soon as it and all before it are done. No
/// more than `max_queue` results are in work or waiting ahead of the consumer: once it has taken k
/// results, at most k + `max_queue` items were ever started. Leaving
/// the loop, or destroying the range, stops and joins the workers promptly; items not started are
/// never started. A failure is rethrown when the consumer reaches its item, after every earlier
/// result was delivered: a `dedup::error` from fn (a bad item: skipped instead with `skip_bad`) is
/// located at the item (`record()` is its index, `offset()` 0) unless it already names a record
/// or is of a class derived from `dedup::error`, which is rethrown as thrown; any other exception
/// (a `storage_error`, `timeout_error` or `usage_error` among them) is rethrown as the original
/// object, never skipped. In every case `index()` on the range (or
/// handle) is the failed item's index. An lvalue `items` must outlive the range.
///
/// ```
/// dedup::scope s;
/// std::vector<std::string> docs(100, text);  // text: a dataset type's simple form
/// std::vector<std::shared_ptr<const butler::DatasetType>> types;
/// auto parse = [](const std::string& d) {
///   return dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(d));
/// };
/// for (auto& t : dedup::ordered_map(docs, parse, {.threads = 2})) types.push_back(std::move(t));
/// assert(types.size() == 100 && types.front() == types.back());  // one instance, built once
/// assert(dedup::stats<butler::DatasetType>().entries == 1);
/// ```
template <std::ranges::input_range R, ordered_work<R> F>
auto ordered_map(R&& items, F&& fn, ordered_options options) {
  auto queue = make_ordered_queue(std::forward<R>(items), std::forward<F>(fn), std::move(options));
  return ordered_range<typename decltype(queue)::value_type>(std::move(queue));
}

/// `ordered_map` with the default options.
template <std::ranges::input_range R, ordered_work<R> F>
auto ordered_map(R&& items, F&& fn) {
  return ordered_map(std::forward<R>(items), std::forward<F>(fn), ordered_options{});
}

}  // namespace dedup

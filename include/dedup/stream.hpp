// dedup/stream.hpp: an ordered, bounded, cancellable parallel reader of the records of a file.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/detail/layout.hpp"
#include "dedup/detail/splitter.hpp"
#include "dedup/error.hpp"
#include "dedup/simdjson.hpp"

namespace dedup {

/// How a reader finds the records of its input. `automatic` takes the lines of a file named
/// `*.ndjson` or `*.jsonl`, the elements of the array at `reader_options::pointer` when one is
/// given, the elements of a top-level array when the input starts with `[`, and lines otherwise
/// (an empty or blank `*.json` file is an empty document, and an error). In `array` mode the input
/// is one whole JSON document: anything but blanks after it is an error.
///
/// ```
/// dedup::reader_options o{.format = dedup::stream_format::ndjson};
/// ```
enum class stream_format { automatic, ndjson, array };

/// How far a reader has got, as passed to `reader_options::on_progress`: `records` delivered or
/// skipped so far, `bytes` of input up to the end of the last of them, and `total_bytes` of the
/// input (0 when unknown, as for a pipe).
///
/// ```
/// o.on_progress = [](const dedup::progress& p) { std::fprintf(stderr, "%zu\r", p.records); };
/// ```
struct progress {
  std::size_t records = 0;
  std::size_t bytes = 0;
  std::size_t total_bytes = 0;
};

/// The most worker threads a reader starts; more is a `dedup::usage_error` (far more threads than
/// cores only exhaust the process).
/// ```
/// dedup::reader_options o{.threads = std::min<std::size_t>(n, dedup::max_reader_threads)};
/// ```
inline constexpr std::size_t max_reader_threads = 1024;

/// The settings of a `reader`. `threads` workers parse records (0: one per hardware thread, at most
/// `max_reader_threads`); `max_queue` bounds the records they may take ahead of the consumer,
/// parsed or being parsed (0: 256 per worker, a few hundred kB of records), which bounds memory
/// however large the input is. Workers take up to `max_queue / (2 * threads)` records at once (at
/// most 128): batches pay for the hand-offs between threads, so a small queue means small batches
/// and less speed. `pointer` names the array whose elements are the records (`/refs`); `skip_bad`
/// skips records that fail to parse, counting them and passing each error to `on_skip`, instead of
/// throwing; `on_progress` is called on the consumer's thread after every record.
///
/// ```
/// dedup::reader_options o{.threads = 4, .max_queue = 16, .pointer = "/refs", .skip_bad = true};
/// ```
struct reader_options {
  std::size_t threads = 0;
  std::size_t max_queue = 0;
  stream_format format = stream_format::automatic;
  std::string pointer{};
  bool skip_bad = false;
  std::function<void(const progress&)> on_progress{};
  std::function<void(const error&)> on_skip{};
};

namespace detail {

static_assert(splitter::padding >= simdjson::SIMDJSON_PADDING,
              "records must carry simdjson's padding");

/// Parses one record; the one place that knows which backend the reader uses: simdjson On-Demand,
/// straight from the record's buffer (its spare capacity is the padding simdjson reads past the
/// end), with one parser per worker thread so that its buffers are reused.
template <class T>
simple_result_t<T> parse_record(const raw_record& r) {
  thread_local simdjson::ondemand::parser parser;
  thread_buffers_bound bound(parser);  // a worker outlives its reader: keep no huge buffer
  simdjson::ondemand::document doc =
      take(parser.iterate(r.bytes.data(), r.bytes.size(), r.bytes.capacity()), path{});
  struct record_label {  // verify mode names the record an entry came from
    explicit record_label(std::size_t index) { current_record = index; }
    ~record_label() { current_record.reset(); }
  } label(r.index);
  return read_simdjson_document<T>(doc, r.bytes);
}

}  // namespace detail

/// The records of an NDJSON file, or the elements of a JSON array (top-level, or at a JSON pointer
/// such as `/refs`), read as T by worker threads and yielded in input order as an input range of
/// `simple_result_t<T>` (a shared instance for an interned T). The workers all join the context
/// current where the reader is made (or one fresh context, if none is), so repeats across records
/// are one instance. They never take more than `max_queue` records ahead of the consumer.
/// Destroying the reader, or leaving the loop, stops and joins them. A record that fails to parse
/// is thrown when the consumer reaches it, as a `dedup::error` naming its index, byte offset and
/// JSON pointer (`/refs/12/datasetType/name`), after every earlier record was delivered; a broken
/// structure (an array cut short, a missing or doubled comma, content after the document, a
/// byte-order mark) is thrown the same way even with `skip_bad`, located at the start of the record
/// it is in. A reader that throws or is destroyed early takes back the entries that the records it
/// parsed ahead but never delivered added: the tables keep the delivered records' entries, and any
/// entry still held elsewhere (an undelivered record's, shared by a delivered one). Iterate once.
///
/// ```
/// dedup::scope s;
/// for (auto& ref : dedup::reader<butler::DatasetRef>("refs.json", {.pointer = "/refs"}))
///   use(ref);  // std::shared_ptr<const butler::DatasetRef>
/// ```
template <class T>
class reader {
 public:
  using value_type = simple_result_t<T>;

  /// The position in the records; `*it` is the current record, which the consumer may move from.
  class iterator {
   public:
    using value_type = reader::value_type;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    value_type& operator*() const { return *owner_->current_; }
    value_type* operator->() const { return &*owner_->current_; }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.done(); }

   private:
    friend class reader;
    bool done() const { return !owner_ || !owner_->current_; }
    explicit iterator(reader* owner) : owner_(owner) {}
    reader* owner_ = nullptr;
  };

  /// Reads the file at `file`; throws `std::system_error` if it cannot be opened.
  explicit reader(const std::filesystem::path& file, reader_options options = {})
      : reader(open(file), std::move(options), file.extension().string(), file_size(file)) {}

  /// Reads an already open stream (a string stream, standard input), which the reader owns.
  explicit reader(std::unique_ptr<std::istream> in, reader_options options = {})
      : reader(std::move(in), std::move(options), std::string(), 0) {}

  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;
  ~reader() {
    stop();
    take_back_undelivered();
  }

  /// The first record (reading it on the first call); the range is single-pass.
  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  /// The context the workers share: the caller's, or the fresh one made for this reader.
  const std::shared_ptr<dedup::context>& shared_context() const noexcept { return ctx_; }
  /// Records delivered so far.
  std::size_t delivered() const noexcept { return delivered_; }
  /// Records skipped so far with `skip_bad`.
  std::size_t skipped() const noexcept { return skipped_; }
  /// The number of worker threads.
  std::size_t threads() const noexcept { return workers_.size(); }
  /// The most records that were ever taken ahead of the consumer (parsed or being parsed and not
  /// yet consumed); never more than `max_queue`. Lets tests observe the bound.
  std::size_t most_ahead() const {
    std::lock_guard lock(mutex_);
    return most_ahead_;
  }

 private:
  /// A record's result, waiting in the ring for the consumer.
  struct slot {
    bool ready = false;
    bool fatal = false;  // a broken structure or an unexpected exception: never skipped
    std::optional<value_type> value;
    std::optional<error> bad;
    std::exception_ptr failure;
    std::size_t end = 0;
    detail::kept_entries entries;  // what the record added to the tables, until it is delivered
  };

  reader(std::unique_ptr<std::istream> in, reader_options options, const std::string& extension,
         std::size_t total)
      : options_(std::move(options)),
        total_bytes_(total),
        splitter_(std::move(in), detail::splitter::mode::lines, options_.pointer) {
    if (options_.threads > max_reader_threads) {
      throw usage_error("dedup::reader: " + std::to_string(options_.threads) +
                        " threads asked for, at most " + std::to_string(max_reader_threads));
    }
    if (!options_.threads) options_.threads = std::max(1u, std::thread::hardware_concurrency());
    if (!options_.max_queue) options_.max_queue = 256 * options_.threads;
    // Two batches per worker fit in the queue, so a worker can parse one while the other waits.
    batch_ = std::clamp<std::size_t>(options_.max_queue / (2 * options_.threads), 1, 128);
    splitter_.set_mode(pick_mode(extension));
    lines_ = splitter_.get_mode() == detail::splitter::mode::lines;
    ctx_ = dedup::current();
    if (!ctx_) ctx_ = std::make_shared<dedup::context>();
    ring_.resize(options_.max_queue);
    try {
      for (std::size_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      stop();
      throw;
    }
  }

  static std::unique_ptr<std::istream> open(const std::filesystem::path& file) {
    auto in = std::make_unique<std::ifstream>(file, std::ios::binary);
    if (!*in) {
      throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                              "dedup::reader: cannot open " + file.string());
    }
    return in;
  }

  static std::size_t file_size(const std::filesystem::path& file) {
    std::error_code ec;
    auto n = std::filesystem::file_size(file, ec);
    return ec ? 0 : static_cast<std::size_t>(n);
  }

  detail::splitter::mode pick_mode(const std::string& extension) {
    using mode = detail::splitter::mode;
    switch (options_.format) {
      case stream_format::ndjson:
        return mode::lines;
      case stream_format::array:
        return mode::array;
      case stream_format::automatic:
        break;
    }
    if (!options_.pointer.empty()) return mode::array;
    return detail::sniff_layout(splitter_, extension, {}, true).mode;
  }

  // ---- workers: they take records in batches and the consumer gives back room in batches, so
  // that the lock and the wake-ups are paid once per batch: per record they cost as much as
  // parsing a small record does.

  void work() {
    scope joined{ctx_};
    std::vector<detail::raw_record> records;  // reused, so record buffers keep their capacity
    std::vector<slot> results;
    std::unique_lock lock(mutex_);
    for (;;) {
      space_.wait(lock,
                  [&] { return stopping_ || input_done_ || taken_ < consumed_ + ring_.size(); });
      if (stopping_ || input_done_) return;
      std::size_t want = std::min(batch_, consumed_ + ring_.size() - taken_);
      if (records.size() < want) records.resize(want);
      std::size_t first = taken_, n = 0;
      slot broken;
      try {
        while (n < want && splitter_.next(records[n])) ++n;
      } catch (...) {
        broken.fatal = true;  // the splitter cannot resume after a broken structure
        broken.failure = std::current_exception();
      }
      bool end = n < want;
      taken_ += n + (broken.failure ? 1 : 0);
      most_ahead_ = std::max(most_ahead_, taken_ - consumed_);
      if (end) {
        input_done_ = true;
        space_.notify_all();
      }
      lock.unlock();
      results.resize(n);
      for (std::size_t k = 0; k < n; ++k) parse(records[k], results[k]);
      lock.lock();
      for (std::size_t k = 0; k < n; ++k) publish(first + k, std::move(results[k]));
      if (broken.failure) publish(first + n, std::move(broken));
      if (consumer_waiting_) ready_.notify_one();
    }
  }

  void publish(std::size_t index, slot&& result) {
    slot& s = ring_[index % ring_.size()];
    s = std::move(result);
    s.ready = true;
  }

  void parse(const detail::raw_record& rec, slot& result) {
    result = slot{};
    result.end = rec.end;
    try {
      // The outer transaction keeps the record's committed entries in the journal, so they can be
      // copied and taken back if the consumer never gets the record.
      std::size_t mark = detail::current_journal.added.size();
      detail::transaction outer;
      result.value.emplace(detail::parse_record<T>(rec));
      result.entries = detail::entries_since(mark);
      outer.commit();
    } catch (const error& e) {
      result.bad.emplace(relocate(e, rec));
    } catch (...) {
      result.fatal = true;
      result.failure = std::current_exception();
    }
  }

  /// The error of a record, located in the stream: the pointer gains the record's own pointer when
  /// the records are the elements of an array.
  error relocate(const error& e, const detail::raw_record& rec) const {
    if (lines_) return e.in_record(rec.index, rec.offset);
    std::string prefix = detail::pointer_to(options_.pointer, std::to_string(rec.index));
    return error(prefix + e.pointer(), e.detail()).in_record(rec.index, rec.offset);
  }

  // ---- consumer: slots [next_, ready_end_) were seen ready under the lock; the consumer empties
  // them without it, which is safe because no worker writes a slot again before `consumed_` has
  // passed it, and `consumed_` only moves under the lock.

  /// Makes the next record current (or none at the end), rethrowing a failure that reaches it.
  void advance() {
    current_.reset();
    for (;;) {
      if (ended_) return;
      if (next_ == ready_end_ || next_ - published_ >= batch_) {
        if (!sync()) return;
      }
      slot& s = ring_[next_ % ring_.size()];
      slot taken = std::move(s);
      s = slot{};
      ++next_;
      bytes_done_ = std::max(bytes_done_, taken.end);
      if (taken.value) {
        current_ = std::move(taken.value);
        ++delivered_;
        report();
        return;
      }
      if (taken.fatal || !options_.skip_bad) {
        ended_ = true;
        stop();
        take_back_undelivered();
        if (taken.failure) std::rethrow_exception(taken.failure);
        throw *taken.bad;
      }
      ++skipped_;
      if (options_.on_skip) options_.on_skip(*taken.bad);
      report();
    }
  }

  /// Gives back the room of the records consumed so far and, if the next one is not known to be
  /// ready, waits for it. False at the end of the records.
  bool sync() {
    std::unique_lock lock(mutex_);
    consumed_ = published_ = next_;
    space_.notify_all();
    auto next_ready = [&] { return ring_[next_ % ring_.size()].ready; };
    if (next_ == ready_end_) {
      consumer_waiting_ = true;
      ready_.wait(lock, [&] { return next_ready() || (input_done_ && next_ == taken_); });
      consumer_waiting_ = false;
      if (!next_ready()) {  // the end: the whole input is done, trailing blanks included
        ended_ = true;
        bytes_done_ = std::max(bytes_done_, total_bytes_);
        lock.unlock();
        report();
        return false;
      }
    }
    ready_end_ = std::max(ready_end_, next_);
    while (ready_end_ < taken_ && ring_[ready_end_ % ring_.size()].ready) ++ready_end_;
    return true;
  }

  void report() const {
    if (options_.on_progress)
      options_.on_progress({delivered_ + skipped_, bytes_done_, total_bytes_});
  }

  /// Takes back the entries of the records parsed ahead of the consumer: values first, so that none
  /// holds another's entry, then entries, newest first. Workers joined: all taken are published.
  void take_back_undelivered() {
    for (std::size_t i = next_; i < taken_; ++i) ring_[i % ring_.size()].value.reset();
    for (std::size_t i = taken_; i-- > next_;) {
      slot& s = ring_[i % ring_.size()];
      detail::take_back(s.entries);
      s = slot{};
    }
    next_ = ready_end_ = taken_;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    space_.notify_all();
    for (std::thread& t : workers_)
      if (t.joinable()) t.join();
  }

  reader_options options_;
  std::size_t total_bytes_ = 0;
  detail::splitter splitter_;  // used under mutex_ once the workers run
  bool lines_ = true;          // records are lines, not array elements
  std::shared_ptr<dedup::context> ctx_;

  mutable std::mutex mutex_;
  std::condition_variable space_;  // a worker may take another record, or must stop
  std::condition_variable ready_;  // the record the consumer waits for is ready, or there is none
  std::vector<slot> ring_;         // record i waits in ring_[i % max_queue]
  std::size_t batch_ = 1;          // records a worker takes at once
  std::size_t taken_ = 0;          // records taken by workers
  std::size_t consumed_ = 0;       // records the consumer has given the room of back
  std::size_t most_ahead_ = 0;
  bool input_done_ = false;
  bool stopping_ = false;
  bool consumer_waiting_ = false;

  // The consumer's own state.
  bool started_ = false;
  bool ended_ = false;
  std::size_t next_ = 0;       // the record to deliver next
  std::size_t ready_end_ = 0;  // records before this were seen ready
  std::size_t published_ = 0;  // the value of consumed_ the consumer last set
  std::optional<value_type> current_;
  std::size_t delivered_ = 0;
  std::size_t skipped_ = 0;
  std::size_t bytes_done_ = 0;

  std::vector<std::thread> workers_;  // last: joined before anything they use is destroyed
};

}  // namespace dedup

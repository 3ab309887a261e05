// dedup/stream.hpp: an ordered, bounded, cancellable parallel reader of the records of a file.
#pragma once

#include <algorithm>
#include <cerrno>
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
#include <utility>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/detail/stream/layout.hpp"
#include "dedup/detail/stream/ordered_engine.hpp"
#include "dedup/detail/stream/splitter.hpp"
#include "dedup/detail/wire/compact_read.hpp"
#include "dedup/error.hpp"
#include "dedup/ordered_map.hpp"
#include "dedup/simdjson.hpp"

namespace dedup {

/// How a reader finds the records of its input. `automatic` takes the lines of a file named
/// `*.ndjson` or `*.jsonl`, the elements of the array at `reader_options::pointer` when one is
/// given, the elements of a top-level array when the input starts with `[`, and lines otherwise
/// (an empty or blank `*.json` file is an empty document, and an error); lines that start with
/// the compact header `{"dedup":"compact",...}` are a compact stream. In `array` mode the input is
/// one whole JSON document: anything but blanks after it is an error. `compact` is a compact NDJSON
/// stream (dedup/compact.hpp): its first line must be the header, which the reader checks when it
/// is made (a bad one is thrown there, as record 0), and each later record may refer to the
/// definitions of earlier ones. In `automatic` and `compact` lines, every header line starts a new
/// stream with ids of its own (streams concatenated), and one that cannot be read is a structural
/// error; `ndjson` reads header lines as records.
///
/// ```
/// dedup::reader_options o{.format = dedup::stream_format::ndjson};
/// ```
enum class stream_format { automatic, ndjson, array, compact };

/// The most worker threads a reader starts; more is a `dedup::usage_error` (far more threads than
/// cores only exhaust the process).
/// ```
/// dedup::reader_options o{.threads = std::min<std::size_t>(n, dedup::max_reader_threads)};
/// ```
inline constexpr std::size_t max_reader_threads = max_ordered_threads;

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
/// end), with one parser per worker thread so that its buffers are reused. A record of a compact
/// stream is read through a compact source over its stream's table.
template <class T>
simple_result_t<T> parse_record(const raw_record& r, compact_table* compact = nullptr) {
  thread_local simdjson::ondemand::parser parser;
  thread_buffers_bound bound(parser);  // a worker outlives its reader: keep no huge buffer
  simdjson::ondemand::document doc =
      iterate_checked(parser, r.bytes.data(), r.bytes.size(), r.bytes.capacity());
  struct record_label {  // verify mode names the record an entry came from
    explicit record_label(std::size_t index) { current_record = index; }
    ~record_label() { current_record.reset(); }
  } label(r.index);
  if (!compact) return read_simdjson_document<T>(doc, r.bytes);
  compact_reading reading{compact, r.index};
  return read_simdjson_document<T>(doc, r.bytes, [&](simdjson_source& src, const path& root) {
    compact_source in(src, reading);
    return read_document<T>(in, root);
  });
}

/// Checks the text around the records' array (the splitter's `check_around`) as `parse_fast` checks
/// a member the model ignores: well-formed JSON, no member name repeated in an object, so that
/// `{"refs":[...],"refs":[...]}` or a malformed member beside the array is an error at its pointer.
///
/// ```
/// dedup::detail::check_around_array(R"({"version":1,"refs":[]})");  // well-formed: no error
/// ```
inline void check_around_array(std::string_view text) {
  simdjson::padded_string padded(text);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc = take(parser.iterate(padded), path{});
  string_arena::of_this_thread().clear();
  simdjson_source src(doc);
  path root;
  check_well_formed(src, root, 0);
  if (!doc.current_location().error()) fail(root, "malformed JSON: content after the document");
}

/// A record as the reader hands it to a worker: with the identity table of the compact stream it
/// belongs to, if any (each header line of a concatenation of streams starts a table of its own).
struct stream_record : raw_record {
  std::shared_ptr<compact_table> table;
};

/// Marks a compact record complete in its table when its parse ends, failed unless told it
/// succeeded, so that a reference from a later record waits only for what it needs.
class record_completion {
 public:
  record_completion(compact_table* table, std::size_t record) : table_(table), record_(record) {}
  record_completion(const record_completion&) = delete;
  record_completion& operator=(const record_completion&) = delete;
  ~record_completion() {
    if (table_) table_->record_done(record_, ok_);
  }
  void succeeded() noexcept { ok_ = true; }

 private:
  compact_table* table_;
  std::size_t record_;
  bool ok_ = false;
};

/// The reader's policy of the ordered engine: the splitter is the item source, parsing a record is
/// the work, and a slot carries the entries the record added (taken back if it is never delivered)
/// and the byte offset of its end (for progress). In lines, a compact header starts a stream with a
/// table of its own, so that ids never resolve across streams; a header that cannot be read is a
/// structural error (records after it would resolve against nothing they were written with). Each
/// table is told of its records' ends and of the reader's stop.
template <class T>
class record_policy : public engine_hooks {
 public:
  struct extra {
    kept_entries entries;  // what the record added to the tables, until it is delivered
    std::size_t end = 0;
  };
  using item_type = stream_record;
  using value_type = simple_result_t<T>;
  using extra_type = extra;

  /// Reads `in`, named `source` in errors ("" for an input without a name).
  record_policy(std::unique_ptr<std::istream> in, reader_options options, std::string source,
                const std::string& extension, std::size_t total)
      : options_(std::move(options)),
        total_bytes_(total),
        source_(std::move(source)),
        splitter_(std::move(in), splitter::mode::lines, options_.pointer) {
    if (!source_.empty()) splitter_.name_input(source_);
    try {
      splitter_.set_mode(pick_mode(extension));
      lines_ = splitter_.get_mode() == splitter::mode::lines;
      if (!lines_) splitter_.check_around(check_around_array);
      headers_ = lines_ && options_.format != stream_format::ndjson;
      if (lines_ &&
          (options_.format == stream_format::compact ||
           (options_.format == stream_format::automatic && splitter_.starts_object_with("dedup"))))
        open_compact();
    } catch (const error& e) {
      throw e.in_source(source_);
    }
  }

  bool pull(stream_record& r) {
    try {
      for (;;) {
        if (!splitter_.next(r)) return false;
        if (!headers_ || !compact_header_line(r.bytes)) break;
        start_stream(r);
      }
    } catch (const error& e) {
      throw e.in_source(source_);  // a structural error, or a header that cannot be read
    }
    r.table = compact_;
    return true;
  }

  value_type apply(stream_record& rec, std::size_t, extra& x) {
    record_completion completion(rec.table.get(), rec.index);
    x.end = rec.end;
    if (rec.mismatched)
      fail(path{}, "malformed JSON: a closing bracket does not match its opening one");
    // The outer transaction keeps the record's committed entries in the journal, so they can be
    // copied and taken back if the consumer never gets the record.
    std::size_t mark = current_journal.added.size();
    transaction outer;
    value_type v = parse_record<T>(rec, rec.table.get());
    x.entries = entries_since(mark);
    outer.commit();
    completion.succeeded();
    return v;
  }

  /// The error of a record, located in the stream and its input: the pointer gains the record's
  /// own pointer when the records are the elements of an array.
  std::exception_ptr locate(const error& e, const raw_record& rec, std::size_t) const {
    if (lines_)
      return std::make_exception_ptr(e.in_record(rec.index, rec.offset).in_source(source_));
    std::string prefix = pointer_to(options_.pointer, std::to_string(rec.index));
    return std::make_exception_ptr(error(prefix + e.pointer(), e.detail())
                                       .in_record(rec.index, rec.offset)
                                       .in_source(source_));
  }

  void progressed(std::size_t records, const extra* x) {
    // At the end the whole input is done, trailing blanks included.
    bytes_done_ = std::max(bytes_done_, x ? x->end : total_bytes_);
    if (options_.on_progress) options_.on_progress({records, bytes_done_, total_bytes_});
  }
  void skipped(const error& e) {
    if (options_.on_skip) options_.on_skip(e);
  }
  void discard(extra& x) { take_back(x.entries); }
  void on_stop() {
    std::lock_guard lock(tables_mutex_);
    for (auto& weak : tables_) {
      if (auto table = weak.lock()) table->cancel();  // a record waiting on a reference ends
    }
  }

 private:
  /// Checks a compact stream's header line, record 0, before any worker starts.
  void open_compact() {
    stream_record header;
    if (!splitter_.next(header))
      throw error("", "a compact stream starts with its header line, and this one is empty");
    start_stream(header);
  }

  /// Checks a header line and gives the records after it a table of their own.
  void start_stream(const stream_record& header) {
    try {
      (void)parse_record<compact_header>(header);
    } catch (const error& e) {
      std::rethrow_exception(locate(e, header, 0));
    }
    compact_ = std::make_shared<compact_table>(true, header.index + 1);
    std::lock_guard lock(tables_mutex_);
    std::erase_if(tables_, [](const auto& weak) { return weak.expired(); });
    tables_.push_back(compact_);
  }

  splitter::mode pick_mode(const std::string& extension) {
    switch (options_.format) {
      case stream_format::ndjson:
      case stream_format::compact:
        return splitter::mode::lines;
      case stream_format::array:
        return splitter::mode::array;
      case stream_format::automatic:
        break;
    }
    if (!options_.pointer.empty()) return splitter::mode::array;
    return sniff_layout(splitter_, extension, {}, true).mode;
  }

  reader_options options_;
  std::size_t total_bytes_ = 0;
  std::string source_;    // the input's name in errors
  splitter splitter_;     // used under the engine's lock once the workers run
  bool lines_ = true;     // records are lines, not array elements
  bool headers_ = false;  // a line may be a compact header
  std::size_t bytes_done_ = 0;
  std::shared_ptr<compact_table> compact_;  // the definitions of the current compact stream
  std::mutex tables_mutex_;  // the tables of records still in work: pulled, and stopped, apart
  std::vector<std::weak_ptr<compact_table>> tables_;
};

}  // namespace detail

/// The records of an NDJSON file, or the elements of a JSON array (top-level, or at a JSON pointer
/// such as `/refs`), read as T by worker threads and yielded in input order as an input range of
/// `simple_result_t<T>` (a shared instance for an interned T). The workers all join the context
/// current where the reader is made (or one fresh context, if none is), so repeats across records
/// are one instance. They never take more than `max_queue` records ahead of the consumer.
/// Destroying the reader, or leaving the loop, stops and joins them. A record that fails to parse
/// is thrown when the consumer reaches it, as a `dedup::error` naming its index, byte offset and
/// JSON pointer (`/refs/12/datasetType/name`), and the file read (`source()`), after every earlier
/// record was delivered; an input that cannot be read is a `storage_error` instead; a broken
/// structure (an array cut short, a missing or doubled comma, content after the document, a
/// byte-order mark, a malformed or repeated member around the array at `pointer`, a compact header
/// that cannot be read) is thrown the same way even with `skip_bad`, located at the start of the
/// record it is in. A mismatched bracket inside one element is a bad record of its own. A reader
/// that throws or is destroyed early takes back the entries that the records it parsed ahead but
/// never delivered added: the tables keep the delivered records' entries, and any entry still held
/// elsewhere (an undelivered record's, shared by a delivered one). Iterate once. It is the engine
/// of `dedup::ordered_map` over the records, the splitter being its item source.
///
/// ```
/// dedup::scope s;
/// for (auto& ref : dedup::reader<butler::DatasetRef>("refs.json", {.pointer = "/refs"}))
///   use(ref);  // std::shared_ptr<const butler::DatasetRef>
/// ```
///
/// A file that cannot be opened is a `storage_error` carrying the system's errno:
///
/// ```
/// try {
///   dedup::reader<butler::DatasetRef> r(std::filesystem::temp_directory_path());
/// } catch (const dedup::storage_error& e) {
///   assert(e.code() == std::errc::is_a_directory);
/// }
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
    value_type* operator->() const { return owner_->current_; }
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

  /// Reads the file at `file`, named in its errors (`error::source()`). One that cannot be opened
  /// or read (missing, a directory, not readable) is a `storage_error` with the system's errno.
  explicit reader(const std::filesystem::path& file, reader_options options = {})
      : reader(open(file), std::move(options), file.string(), file.extension().string(),
               file_size(file)) {}

  /// Reads an already open stream (a string stream, standard input), which the reader owns.
  explicit reader(std::unique_ptr<std::istream> in, reader_options options = {})
      : reader(std::move(in), std::move(options), std::string(), std::string(), 0) {}

  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

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
  const std::shared_ptr<dedup::context>& shared_context() const noexcept {
    return engine_.shared_context();
  }
  /// Records delivered so far.
  std::size_t delivered() const noexcept { return engine_.delivered(); }
  /// Records skipped so far with `skip_bad`.
  std::size_t skipped() const noexcept { return engine_.skipped(); }
  /// The number of worker threads.
  std::size_t threads() const noexcept { return engine_.threads(); }
  /// The most records that were ever taken ahead of the consumer (parsed or being parsed and not
  /// yet consumed); never more than `max_queue`. Lets tests observe the bound.
  std::size_t most_ahead() const { return engine_.most_ahead(); }

 private:
  reader(std::unique_ptr<std::istream> in, reader_options options, std::string source,
         const std::string& extension, std::size_t total)
      : engine_(
            detail::settle("dedup::reader", options.threads, options.max_queue, options.skip_bad),
            dedup::current(), std::move(in), std::move(options), std::move(source), extension,
            total) {}

  static std::unique_ptr<std::istream> open(const std::filesystem::path& file) {
    return detail::open_file(file);
  }

  static std::size_t file_size(const std::filesystem::path& file) {
    std::error_code ignored;
    auto n = std::filesystem::file_size(file, ignored);
    return ignored ? 0 : static_cast<std::size_t>(n);
  }

  /// Makes the next record current (or none at the end), rethrowing a failure that reaches it.
  void advance() {
    current_ = nullptr;
    current_ = engine_.next();
  }

  // One engine: its destructor stops and joins the workers, then takes back what the records
  // parsed ahead but never delivered added.
  detail::ordered_engine<detail::record_policy<T>> engine_;
  value_type* current_ = nullptr;  // the engine's current record
  bool started_ = false;
};

}  // namespace dedup

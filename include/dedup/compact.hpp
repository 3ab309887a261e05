// dedup/compact.hpp: the compact form, which writes each shared object once and refers to it after,
// so that what a scope shared in memory stays shared on the wire and comes back shared.
//
// A member `std::shared_ptr<const U>` whose U declares a key is written `{"$id":N,"$value":...}`
// the first time its instance (by address) is met and `{"$ref":N}` after; N counts 0, 1, 2... in
// the order of definition across a whole document or stream. Everything else is written plain.
// A document is `{"dedup":"compact","version":1,"value":...}`; a stream is the line
// `{"dedup":"compact","version":1}` then one record a line, each able to refer to the definitions
// of earlier records. Read with `dedup::parse_compact` (dedup/nlohmann.hpp),
// `dedup::parse_compact_fast` (dedup/simdjson.hpp) or `dedup::reader` (dedup/stream.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dedup/detail/wire/compact_read.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/error.hpp"

namespace dedup {

namespace detail {

/// What the shared-pointer codec writes for an instance in the compact form: a definition
/// (`first`, with its id), a reference to `id`, or (`in_place`) the value itself with no id, for
/// an instance met only once.
struct compact_name {
  std::uint64_t id = 0;
  bool first = true;
  bool in_place = false;
};

/// A sink that writes nothing and counts how often each shared instance is met, descending into
/// each once: the pass before a document is written, so that an instance met once goes in place.
class compact_census {
 public:
  void null() {}
  void boolean(bool) {}
  void integer(std::int64_t) {}
  void integer(std::uint64_t) {}
  void number(double) {}
  void string(std::string_view) {}
  void begin_array() {}
  void end_array() {}
  void begin_object() {}
  void end_object() {}
  void key(std::string_view) {}

  template <class U>
  compact_name identity(const std::shared_ptr<const U>& p) {
    std::uint32_t uses = ++uses_[static_cast<const void*>(p.get())];
    if (uses == 2) ++repeated_;
    return {0, uses == 1, false};
  }
  /// Whether the instance at `p` was met more than once.
  bool repeated(const void* p) const {
    auto it = uses_.find(p);
    return it != uses_.end() && it->second > 1;
  }
  /// Whether any instance was met more than once: if none was, the compact document holds
  /// nothing that its plain text would not, and is larger by its envelope.
  bool any_repeated() const noexcept { return repeated_ != 0; }

 private:
  std::unordered_map<const void*, std::uint32_t> uses_;
  std::size_t repeated_ = 0;
};
static_assert(json_sink<compact_census>);

/// A text sink that gives each shared instance an identity: the shared-pointer codec asks
/// `identity(p)` and writes a definition, a reference or the value in place. Without a census (a
/// stream, whose later records are unknown) every instance gets an id, and the sink holds each
/// one, so that no address is reused for another object while the ids are in use.
class compact_sink : public text_sink {
 public:
  explicit compact_sink(std::string& out, const compact_census* census = nullptr)
      : text_sink(out), census_(census) {}

  template <class U>
  compact_name identity(const std::shared_ptr<const U>& p) {
    const void* address = p.get();
    if (census_ && !census_->repeated(address)) return {0, true, true};
    auto [it, added] = ids_.try_emplace(address, ids_.size());
    if (added && !census_) held_.push_back(p);
    return {it->second, added, false};
  }

 private:
  const compact_census* census_;
  std::unordered_map<const void*, std::uint64_t> ids_;
  std::vector<std::shared_ptr<const void>> held_;
};
static_assert(json_sink<compact_sink>);

}  // namespace detail

/// The compact document of a value: `{"dedup":"compact","version":1,"value":...}`, each shared
/// object (a `std::shared_ptr<const U>` member whose U declares a key) written once. A first pass
/// counts the instances: one met twice or more is defined where it is first met and referred to
/// after; one met once is written in place, with no id.
///
/// ```
/// dedup::scope s;
/// auto list = dedup::parse<butler::RefList>(dedup_examples::refs_text());  // two equal refs
/// std::string compact = dedup::to_compact(list);
/// assert(compact.starts_with(R"({"dedup":"compact","version":1,"value":)"));
/// assert(compact.find(R"({"$ref":0})") != std::string::npos);  // the dataset type, again
/// ```
template <class T>
std::string to_compact(const T& value) {
  detail::compact_census census;
  detail::write_to<T>(census, value);
  std::string out;
  detail::compact_sink sink(out, &census);
  detail::write_compact_envelope(sink, [&] { detail::write_to<T>(sink, value); });
  return out;
}

/// Writes a compact NDJSON stream to `out`: the header line on construction, then one record a
/// line. Identities are kept across records, so a record refers to objects defined by earlier
/// ones; the writer holds each object it has written (memory: the distinct objects).
///
/// ```
/// std::ostringstream out;
/// dedup::compact_writer<butler::DatasetRef> writer(out);
/// auto parse = [] { return dedup::parse<butler::RefList>(dedup_examples::refs_text()); };
/// butler::RefList list = dedup::run(parse);
/// for (const auto& ref : list.refs) writer.write(*ref);
/// assert(out.str().starts_with("{\"dedup\":\"compact\",\"version\":1}\n"));
/// ```
template <class T>
class compact_writer {
 public:
  explicit compact_writer(std::ostream& out) : out_(out), sink_(line_) {
    line_ = R"({"dedup":"compact","version":1})";
    flush_line();
  }
  compact_writer(const compact_writer&) = delete;
  compact_writer& operator=(const compact_writer&) = delete;

  /// Writes one record, on a line of its own.
  void write(const T& record) {
    detail::write_to<T>(sink_, record);
    flush_line();
    ++records_;
  }
  /// Records written so far.
  std::size_t records() const noexcept { return records_; }

 private:
  void flush_line() {
    line_ += '\n';
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
    if (!out_) throw storage_error("compact stream", "cannot write the output");
    line_.clear();
  }

  std::ostream& out_;
  std::string line_;
  detail::compact_sink sink_;
  std::size_t records_ = 0;
};

}  // namespace dedup

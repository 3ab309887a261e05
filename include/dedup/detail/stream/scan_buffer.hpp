// The buffered scanner under the record splitter (detail/stream/splitter.hpp): a window over an
// input read in bounded chunks, and the passes that find where a string, scalar or container ends
// without parsing it.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dedup/detail/json_text.hpp"
#include "dedup/detail/stream/container_walk.hpp"
#include "dedup/error.hpp"

namespace dedup::detail {

/// `file` opened for reading in binary mode; one that cannot be opened, or a directory (which
/// opens as a file would and fails only at the first read), is a `storage_error` carrying the
/// system's errno, so that a permission problem is not reported as a missing file.
///
/// ```
/// std::string why;
/// try { dedup::detail::open_file("no/such/file.ndjson"); }
/// catch (const dedup::storage_error& e) { why = e.code().message(); }
/// assert(!why.empty());
/// ```
inline std::unique_ptr<std::istream> open_file(const std::filesystem::path& file) {
  errno = 0;
  auto in = std::make_unique<std::ifstream>(file, std::ios::binary);
  if (!*in) throw system_failure(file.string(), "cannot open", errno ? errno : ENOENT);
  std::error_code ignored;
  if (std::filesystem::is_directory(file, ignored))
    throw system_failure(file.string(), "cannot open", EISDIR);
  return in;
}

/// One record cut from the input: its bytes (with spare capacity for parsers that read past the
/// end, such as simdjson), its index in the stream, its byte offset and where it ends.
struct raw_record {
  std::string bytes;
  std::size_t index = 0;
  std::size_t offset = 0;
  std::size_t end = 0;
  bool mismatched = false;  // a closing bracket in it does not match its opening one
};

/// The splitter's input: the bytes of a stream read a chunk at a time, a scan position in them,
/// and the bytes of the record being cut kept across refills. Errors are located at the record
/// being cut (`count_`), or where the next one would start.
class scan_buffer {
 public:
  /// Bytes added to each record's capacity beyond its size (simdjson's SIMDJSON_PADDING).
  static constexpr std::size_t padding = 64;
  static constexpr std::size_t chunk = std::size_t{1} << 18;

 protected:
  explicit scan_buffer(std::unique_ptr<std::istream> in) : in_(std::move(in)) {
    if (!in_) throw usage_error("dedup: null input stream");
  }

  /// Reads one more chunk, first dropping the bytes already scanned, except those of the element
  /// being cut (from `keep_`). False at the end of the input.
  bool fill() {
    if (eof_) return false;
    std::size_t keep = capturing_ ? keep_ : pos_;
    if (recording_ && keep > record_from_) {
      recorded_.append(buf_, record_from_, keep - record_from_);
      record_from_ = keep;
    }
    if (keep > 0) {
      if (recording_) record_from_ -= keep;
      buf_.erase(0, keep);
      base_ += keep;
      pos_ -= keep;
      if (capturing_) keep_ -= keep;
      scan_ -= std::min(scan_, keep);
    }
    std::size_t old = buf_.size();
    buf_.resize(old + chunk);
    errno = 0;
    in_->read(buf_.data() + old, static_cast<std::streamsize>(chunk));
    int failure = errno;  // a file's read sets it; a stream of another kind may not
    std::size_t got = static_cast<std::size_t>(in_->gcount());
    buf_.resize(old + got);
    if (got == 0) eof_ = true;
    if (in_->bad()) throw system_failure(source_, "cannot read", failure ? failure : EIO);
    return got > 0;
  }

  /// The byte at the scan position, reading more input as needed; -1 at the end of the input.
  int peek_byte() {
    if (pos_ == buf_.size() && !fill()) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }

  // A scalar also ends where a string or container starts, so that a missing comma before one
  // (`[1"a"]`) is found here rather than passed on as one odd record.
  static bool delimiter(int c) {
    return c == ',' || c == ']' || c == '}' || c == '"' || c == '{' || c == '[' || c == ':';
  }

  void skip_space() {
    for (int c = peek_byte(); is_blank(c); c = peek_byte()) ++pos_;
  }

  void emit(raw_record& out, std::size_t start, std::size_t stop) {
    out.bytes.clear();
    out.bytes.reserve(stop - start + padding);
    out.bytes.append(buf_, start, stop - start);
    out.offset = base_ + start;
    out.end = base_ + stop;
    out.mismatched = false;
  }

  /// Starts keeping the bytes scanned, from the scan position on, in `recorded_`.
  void start_recording() {
    recording_ = true;
    record_from_ = pos_;
  }
  /// Stops keeping the bytes scanned, the last kept being the one before the scan position.
  void stop_recording() {
    recorded_.append(buf_, record_from_, pos_ - record_from_);
    recording_ = false;
  }

  /// Throws a structural error at the record being cut, or where the next record would start,
  /// so that `error::offset()` always names a record's start, never the byte where a scan stopped.
  [[noreturn]] void structural(const std::string& where, const std::string& what) const {
    std::string why = what;
    auto mismatch = capturing_ && mismatched_ ? std::optional(count_) : mismatch_in_;
    if (mismatch) {
      why += " (after the mismatched bracket in record " + std::to_string(*mismatch) +
             ", the structure cannot be recovered)";
    }
    throw error(where, why).in_record(count_, base_ + (capturing_ ? keep_ : pos_));
  }

  /// Rejected on every path alike (see `byte_order_mark`).
  void reject_byte_order_mark() {
    while (buf_.size() - pos_ < 3 && fill()) {
    }
    if (std::string_view(buf_).substr(pos_).starts_with(byte_order_mark))
      structural("", "byte-order mark before the document");
  }

  /// What a message shows of the byte `c` found where something else was expected.
  static std::string shown(int c) {
    if (c < 0) return "the end of the input";
    if (c < 0x20 || c >= 0x7f) return "byte " + std::to_string(c);
    return std::string("'") + static_cast<char>(c) + "'";
  }

  /// Skips a string whose opening quote is at the scan position; returns its decoded text when
  /// `decode` (only for member names on the way to the array).
  std::string skip_string(const std::string& where, bool decode) {
    std::string text;  // as written, escapes included, then decoded in place
    ++pos_;
    if (!decode) return pass_string(where), text;
    for (;;) {
      int c = peek_byte();
      if (c < 0) structural(where, "the input ends inside a string");
      ++pos_;
      if (c == '"') break;
      if (decode) text += static_cast<char>(c);
      if (c == '\\') {
        int e = peek_byte();
        if (e < 0) structural(where, "the input ends inside a string");
        ++pos_;
        if (decode) text += static_cast<char>(e);
      }
    }
    std::size_t n = unescape_to(text, text.data());
    if (n == std::string::npos) structural(where, "malformed JSON: invalid escape in string");
    text.resize(n);
    return text;
  }

  /// Passes the rest of a string, its opening quote already passed: memchr finds the next quote
  /// or backslash, where a byte-by-byte loop spent most of the time of a split.
  void pass_string(const std::string& where) {
    for (;;) {
      if (pos_ == buf_.size() && !fill()) structural(where, "the input ends inside a string");
      const char* start = buf_.data() + pos_;
      std::size_t left = buf_.size() - pos_;
      auto* quote = static_cast<const char*>(std::memchr(start, '"', left));
      std::size_t span = quote ? static_cast<std::size_t>(quote - start) : left;
      auto* escape = static_cast<const char*>(std::memchr(start, '\\', span));
      if (!escape && !quote) {
        pos_ = buf_.size();
        continue;
      }
      pos_ += static_cast<std::size_t>((escape ? escape : quote) - start) + 1;
      if (!escape) return;
      if (pos_ == buf_.size() && !fill()) structural(where, "the input ends inside a string");
      ++pos_;  // the escaped byte, a quote perhaps
    }
  }

  /// Skips one value at the scan position, counting brackets outside strings; the record parser
  /// checks the value itself, so this only has to find where it ends.
  void skip_value(const std::string& where) {
    skip_space();
    int c = peek_byte();
    if (c < 0) structural(where, "the input ends where a value was expected");
    if (c == '"') {
      skip_string(where, false);
      return;
    }
    if (c != '{' && c != '[') {  // a scalar runs to the next delimiter
      std::size_t from = base_ + pos_;
      for (; c >= 0 && !is_blank(c) && !delimiter(c); c = peek_byte()) ++pos_;
      // Nothing at all is a missing value (`[,1]`, `[1,,2]`): the structure is broken, not a
      // record.
      if (base_ + pos_ == from) structural(where, "expected a value, found " + shown(c));
      return;
    }
    pass_container(where);
  }

  /// Passes a whole object or array from its opening bracket, counting brackets outside strings.
  /// The bytes are walked straight in the buffer, with the string state kept across refills: a
  /// call per byte was most of the time of a split.
  void pass_container(const std::string& where) {
    container_walk w;
    for (;;) {
      if (w.mismatch && settle_mismatch(where, w)) return;
      if (w.escaped && (pos_ < buf_.size() || fill())) {
        ++pos_;
        w.escaped = false;
      }
      if (pos_ == buf_.size() && !fill()) {
        structural(where, w.in_string ? "the input ends inside a string"
                                      : "the input ends inside a value");
      }
      const char* end = buf_.data() + buf_.size();
      bool closed = false;
      const char* at = walk_blocks(buf_.data() + pos_, end, w, closed);
      if (!closed && !w.escaped && !w.mismatch) at = walk_bytes(at, end, w, closed);
      pos_ = static_cast<std::size_t>(at - buf_.data());
      if (closed) return;
    }
  }

  /// Reads past the mismatched closing bracket at the scan position and decides what it stood
  /// for: a stray bracket when the right one follows it (`{"a":1]}`), the closing of an outer
  /// container whose inner ones were left open (`{"a":[1}`), or the right one mistyped
  /// (`{"a":1]`). True when that closes the container. The record is bad whichever it was; only an
  /// element of the records' array is still cut, to be reported as such, and the structure after it
  /// may be beyond repair.
  bool settle_mismatch(const std::string& where, container_walk& w) {
    if (!capturing_) structural(where, "a closing bracket does not match its opening one");
    mismatched_ = true;
    const char c = buf_[pos_++];
    w.mismatch = false;
    skip_space();
    if (peek_byte() == (w.array_at(0) ? ']' : '}')) return false;
    std::size_t levels = 1;  // to the nearest container that `c` closes, or just the innermost
    for (std::size_t i = 1; i < w.depth; ++i) {
      if (w.array_at(i) == (c == ']')) {
        levels = i + 1;
        break;
      }
    }
    while (levels--) w.pop();
    return w.depth == 0;
  }

  std::unique_ptr<std::istream> in_;
  std::string source_ = "the input";  // what a read failure names
  std::string buf_;
  std::size_t pos_ = 0;    // scan position in buf_
  std::size_t keep_ = 0;   // while capturing_, buf_ bytes from here on are kept
  std::size_t scan_ = 0;   // where the newline search resumes
  std::size_t base_ = 0;   // input offset of buf_[0]
  std::size_t count_ = 0;  // records cut so far: the index of the one being cut
  bool eof_ = false;
  bool capturing_ = false;
  std::string recorded_;  // bytes kept while recording_, from record_from_ in buf_
  std::size_t record_from_ = 0;
  bool recording_ = false;
  bool mismatched_ = false;                 // in the element being cut
  std::optional<std::size_t> mismatch_in_;  // the last element with a mismatched bracket
};

}  // namespace dedup::detail

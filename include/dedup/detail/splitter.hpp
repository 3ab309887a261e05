// The record splitter of the stream reader: cuts an input into the byte spans of its records
// (NDJSON lines, or the elements of an array found through a JSON pointer) without parsing them,
// reading the input in bounded chunks so that memory stays flat however large the input is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/detail/container_walk.hpp"
#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/error.hpp"

namespace dedup::detail {

/// One record cut from the input: its bytes (with spare capacity for parsers that read past the
/// end, such as simdjson), its index in the stream, its byte offset and where it ends.
struct raw_record {
  std::string bytes;
  std::size_t index = 0;
  std::size_t offset = 0;
  std::size_t end = 0;
};

/// Splits a stream into records. Not thread-safe: the reader calls it under its own lock. A
/// structural error (the pointer names nothing, the array is cut short, a missing or doubled
/// comma, anything but blanks after the document, an empty document, a byte-order mark) throws
/// `dedup::error` located at the record it is in, or at the byte where that record would start;
/// the splitter cannot resume.
class splitter {
 public:
  enum class mode : std::uint8_t { lines, array };

  /// Bytes added to each record's capacity beyond its size (simdjson's SIMDJSON_PADDING).
  static constexpr std::size_t padding = 64;
  static constexpr std::size_t chunk = std::size_t{1} << 18;

  splitter(std::unique_ptr<std::istream> in, mode m, std::string pointer)
      : in_(std::move(in)), mode_(m), pointer_(std::move(pointer)) {
    if (!in_) throw usage_error("dedup: null input stream");
  }

  /// Cuts the next record into `out`; false at the end of the records.
  bool next(raw_record& out) {
    if (finished_) return false;
    if (!started_) {
      started_ = true;
      reject_byte_order_mark();
    }
    bool got = mode_ == mode::lines ? next_line(out) : next_element(out);
    if (!got)
      finished_ = true;
    else
      out.index = count_++;
    return got;
  }

  /// The first byte of the input that is not blank, without consuming anything (to tell an
  /// array from lines); -1 for an empty input.
  int first_byte() {
    for (std::size_t i = pos_;; ++i) {
      if (i == buf_.size() && !fill()) return -1;
      if (!is_blank(static_cast<unsigned char>(buf_[i])))
        return static_cast<unsigned char>(buf_[i]);
    }
  }

  /// Whether the input is an object with a member `name` (decoded) among its first members,
  /// without consuming anything: the bytes scanned stay buffered for `next`. A start that is not
  /// an object, or is malformed before that member, is "no": the records decide the rest.
  bool starts_object_with(std::string_view name) {
    if (first_byte() != '{') return false;
    keep_ = pos_;  // fill() keeps the bytes from here on, as for an element being cut
    capturing_ = true;
    bool found = false;
    try {
      found = scan_members_for(name);
    } catch (const error&) {
    }
    pos_ = keep_;
    capturing_ = false;
    return found;
  }

  /// Chooses how records are found; call before the first `next`.
  void set_mode(mode m) { mode_ = m; }
  mode get_mode() const noexcept { return mode_; }

 private:
  // ---- buffering
  // ----------------------------------------------------------------------------------

  /// Reads one more chunk, first dropping the bytes already scanned, except those of the element
  /// being cut (from `keep_`). False at the end of the input.
  bool fill() {
    if (eof_) return false;
    std::size_t keep = capturing_ ? keep_ : pos_;
    if (keep > 0) {
      buf_.erase(0, keep);
      base_ += keep;
      pos_ -= keep;
      if (capturing_) keep_ -= keep;
      scan_ -= std::min(scan_, keep);
    }
    std::size_t old = buf_.size();
    buf_.resize(old + chunk);
    in_->read(buf_.data() + old, static_cast<std::streamsize>(chunk));
    std::size_t got = static_cast<std::size_t>(in_->gcount());
    buf_.resize(old + got);
    if (got == 0) eof_ = true;
    if (in_->bad()) throw error("", "cannot read the input");
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
  }

  /// Throws a structural error at the record being cut, or where the next record would start,
  /// so that `error::offset()` always names a record's start, never the byte where a scan stopped.
  [[noreturn]] void structural(const std::string& where, const std::string& what) const {
    throw error(where, what).in_record(count_, base_ + (capturing_ ? keep_ : pos_));
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

  // ---- NDJSON
  // ---------------------------------------------------------------------------------------

  bool next_line(raw_record& out) {
    for (;;) {
      scan_ = pos_;
      std::size_t newline;
      while ((newline = buf_.find('\n', scan_)) == std::string::npos) {
        scan_ = buf_.size();
        if (!fill()) break;
      }
      std::size_t stop = newline == std::string::npos ? buf_.size() : newline;
      std::size_t start = pos_;
      pos_ = newline == std::string::npos ? stop : stop + 1;
      while (start < stop && is_blank(static_cast<unsigned char>(buf_[start]))) ++start;
      while (stop > start && is_blank(static_cast<unsigned char>(buf_[stop - 1]))) --stop;
      if (start < stop) {  // blank lines separate nothing and are not records
        emit(out, start, stop);
        return true;
      }
      if (newline == std::string::npos) return false;
    }
  }

  // ---- arrays
  // ---------------------------------------------------------------------------------------

  /// The pointer of element `i` of the target array, for messages.
  std::string element_pointer() const { return pointer_to(pointer_, std::to_string(count_)); }

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
      if (!closed && !w.escaped) at = walk_bytes(at, end, w, closed);
      pos_ = static_cast<std::size_t>(at - buf_.data());
      if (closed) return;
    }
  }

  /// The decoded reference tokens of the pointer.
  std::vector<std::string> tokens() const {
    auto out = pointer_tokens(pointer_);
    if (!out) throw error(pointer_, "a JSON pointer starts with '/'");
    return *std::move(out);
  }

  /// Moves the scan position to the value the pointer names.
  void descend() {
    std::string here;
    for (const std::string& token : tokens()) {
      skip_space();
      int c = peek_byte();
      if (c == '{')
        find_member(token, here);
      else if (c == '[')
        find_element(token, here);
      else
        structural(here, "expected an object or array on the way to " + pointer_);
      enclosing_.push_back({static_cast<char>(c), here});
      append_token(here, token);
    }
  }

  /// Passes the comma after a value on the way to the array, leaving a closing `close` for the
  /// caller to report.
  void separator(char close, const std::string& here) {
    skip_space();
    int c = peek_byte();
    if (c == ',')
      ++pos_;
    else if (c != close)
      structural(here, std::string("expected ',' or '") + close + "', found " + shown(c));
  }

  void find_member(const std::string& name, const std::string& here) {
    ++pos_;
    for (;;) {
      skip_space();
      int c = peek_byte();
      if (c == '}') structural(here, "no member '" + name + "' (looking for " + pointer_ + ")");
      if (c != '"') structural(here, "expected a member name");
      std::string key = skip_string(here, true);
      skip_space();
      if (peek_byte() != ':') structural(here, "expected ':' after member name");
      ++pos_;
      if (key == name) return;
      skip_value(pointer_to(here, key));
      separator('}', here);
    }
  }

  /// Walks the members of the object at the scan position up to one named `name`; false at its
  /// end or at anything malformed.
  bool scan_members_for(std::string_view name) {
    skip_space();
    ++pos_;
    for (;;) {
      skip_space();
      if (peek_byte() != '"') return false;
      std::string key = skip_string("", true);
      skip_space();
      if (peek_byte() != ':') return false;
      ++pos_;
      if (key == name) return true;
      skip_value("");
      skip_space();
      if (peek_byte() != ',') return false;
      ++pos_;
    }
  }

  void find_element(const std::string& token, const std::string& here) {
    std::size_t wanted = 0;
    for (char d : token) {
      if (d < '0' || d > '9') structural(here, "'" + token + "' is not an array index");
      wanted = wanted * 10 + static_cast<std::size_t>(d - '0');
    }
    ++pos_;
    for (std::size_t i = 0; i < wanted; ++i) {
      skip_space();
      if (peek_byte() == ']')
        structural(here, "no element " + token + " (looking for " + pointer_ + ")");
      skip_value(pointer_to(here, std::to_string(i)));
      separator(']', here);
    }
  }

  bool next_element(raw_record& out) {
    if (!inside_) {
      skip_space();
      if (peek_byte() < 0) structural("", "empty input: a JSON document holds one value");
      descend();
      skip_space();
      if (peek_byte() != '[') structural(pointer_, "expected an array");
      ++pos_;
      inside_ = true;
    } else {
      skip_space();  // after the previous element: a separator or the end of the array
      int c = peek_byte();
      if (c == ']') return end_of_array();
      if (c < 0) structural(element_pointer(), "the input ends inside the array");
      if (c != ',')
        structural(element_pointer(),
                   "expected ',' or ']' after an array element, found " + shown(c));
      ++pos_;
    }
    skip_space();
    int c = peek_byte();
    if (c == ']' && count_ == 0) return end_of_array();
    if (c < 0) structural(element_pointer(), "the input ends inside the array");
    if (c == ']') structural(element_pointer(), "expected a value after ','");
    keep_ = pos_;  // fill() keeps the element's bytes from here on
    capturing_ = true;
    skip_value(element_pointer());
    capturing_ = false;
    emit(out, keep_, pos_);
    return true;
  }

  /// Past the array's `]`: the containers around it must close and nothing but blanks may
  /// follow, since a document is one value (`[][]`, `[1] x` and `{"refs":[]` are not documents).
  bool end_of_array() {
    ++pos_;
    for (auto level = enclosing_.rbegin(); level != enclosing_.rend(); ++level)
      close_container(level->first == '{', level->second);
    enclosing_.clear();
    skip_space();
    int c = peek_byte();
    if (c >= 0) structural("", "content after the document: " + shown(c));
    return false;
  }

  /// Skips the rest of an enclosing object's members or array's elements, and its closing bracket.
  void close_container(bool object, const std::string& here) {
    const char close = object ? '}' : ']';
    for (;;) {
      skip_space();
      int c = peek_byte();
      if (c == close) {
        ++pos_;
        return;
      }
      if (c < 0) structural(here, std::string("the input ends before the closing '") + close + "'");
      if (c != ',')
        structural(here, std::string("expected ',' or '") + close + "', found " + shown(c));
      ++pos_;
      if (!object) {
        skip_value(here);
        continue;
      }
      skip_space();
      if (peek_byte() != '"')
        structural(here, "expected a member name, found " + shown(peek_byte()));
      std::string key = skip_string(here, true);
      skip_space();
      if (peek_byte() != ':') structural(here, "expected ':' after member name");
      ++pos_;
      skip_value(pointer_to(here, key));
    }
  }

  std::unique_ptr<std::istream> in_;
  mode mode_;
  std::string pointer_;
  std::vector<std::pair<char, std::string>>
      enclosing_;  // containers around the array, outermost first
  std::string buf_;
  std::size_t pos_ = 0;   // scan position in buf_
  std::size_t keep_ = 0;  // while capturing_, buf_ bytes from here on are kept
  std::size_t scan_ = 0;  // where the newline search resumes
  std::size_t base_ = 0;  // input offset of buf_[0]
  std::size_t count_ = 0;
  bool eof_ = false;
  bool inside_ = false;
  bool capturing_ = false;
  bool finished_ = false;
  bool started_ = false;
};

}  // namespace dedup::detail

// The record splitter of the stream reader: cuts an input into the byte spans of its records
// (NDJSON lines, or the elements of an array found through a JSON pointer) without parsing them,
// reading the input in bounded chunks so that memory stays flat however large the input is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/scan_buffer.hpp"
#include "dedup/error.hpp"

namespace dedup::detail {

/// Splits a stream into records. Not thread-safe: the reader calls it under its own lock. A
/// structural error (the pointer names nothing, the array is cut short, a missing or doubled
/// comma, anything but blanks after the document, an empty document, a byte-order mark) throws
/// `dedup::error` located at the record it is in, or at the byte where that record would start;
/// an input that cannot be read throws `dedup::storage_error` with the system's errno. The
/// splitter cannot resume.
class splitter : scan_buffer {
 public:
  enum class mode : std::uint8_t { lines, array };

  using scan_buffer::chunk;
  using scan_buffer::padding;

  splitter(std::unique_ptr<std::istream> in, mode m, std::string pointer)
      : scan_buffer(std::move(in)), mode_(m), pointer_(std::move(pointer)) {}

  /// Names the input in the `storage_error` of a failed read ("the input" until then).
  void name_input(std::string name) { source_ = std::move(name); }

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

  /// Has `check` check the text around the records' array, the array left empty, before the first
  /// element (with the containers closed after the array) and again at the end: the members beside
  /// the array are then checked as a whole-document read checks them (well-formed, no repeated
  /// member name), the array itself being left to the records' parser. It throws `dedup::error`.
  void check_around(std::function<void(std::string_view)> check) { check_ = std::move(check); }

  /// Chooses how records are found; call before the first `next`.
  void set_mode(mode m) { mode_ = m; }
  mode get_mode() const noexcept { return mode_; }

 private:
  // ---- NDJSON ----------------------------------------------------------------------------------

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

  // ---- arrays ----------------------------------------------------------------------------------

  /// The pointer of element `i` of the target array, for messages.
  std::string element_pointer() const { return pointer_to(pointer_, std::to_string(count_)); }

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
      bool around = check_ && !pointer_.empty();
      if (around) start_recording();
      descend();
      skip_space();
      if (peek_byte() != '[') structural(pointer_, "expected an array");
      ++pos_;
      inside_ = true;
      if (around) {
        stop_recording();
        std::string closed = recorded_ + ']';
        for (auto level = enclosing_.rbegin(); level != enclosing_.rend(); ++level)
          closed += level->first == '{' ? '}' : ']';
        check_siblings(closed);
      }
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
    mismatched_ = false;
    skip_value(element_pointer());
    capturing_ = false;
    emit(out, keep_, pos_);
    out.mismatched = mismatched_;
    if (mismatched_) mismatch_in_ = count_;
    return true;
  }

  /// Past the array's `]`: the containers around it must close and nothing but blanks may
  /// follow, since a document is one value (`[][]`, `[1] x` and `{"refs":[]` are not documents).
  bool end_of_array() {
    bool around = check_ && !pointer_.empty();
    if (around) start_recording();
    ++pos_;
    for (auto level = enclosing_.rbegin(); level != enclosing_.rend(); ++level)
      close_container(level->first == '{', level->second);
    enclosing_.clear();
    if (around) stop_recording();
    skip_space();
    int c = peek_byte();
    if (c >= 0) structural("", "content after the document: " + shown(c));
    if (around) check_siblings(std::exchange(recorded_, {}));
    return false;
  }

  /// Runs the check of the text around the array, its error a structural one.
  void check_siblings(const std::string& text) {
    try {
      check_(text);
    } catch (const error& e) {
      structural(e.pointer(), e.detail());
    }
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

  mode mode_;
  std::string pointer_;
  std::function<void(std::string_view)> check_;  // of the text around the array
  std::vector<std::pair<char, std::string>>
      enclosing_;  // containers around the array, outermost first
  bool inside_ = false;
  bool finished_ = false;
  bool started_ = false;
};

}  // namespace dedup::detail

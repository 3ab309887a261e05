// A sink that writes compact JSON text straight into a string, with no DOM in between: how the
// persistent cache and the shared store keep a value's simple form without the nlohmann backend.
// The text is what `dedup::to_simple(v).dump()` gives for the same value, apart from the spelling
// of doubles (shortest round-trip form here) and of the escapes nlohmann chooses.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/codec/codecs_struct.hpp"
#include "dedup/detail/codec/traits.hpp"

namespace dedup::detail {

/// Appends the events of a codec's `write` to a string as compact JSON. A double that JSON cannot
/// hold (NaN, an infinity) is written as `null`, as nlohmann does, and an integral double keeps
/// a fraction (`1.0`), so that it reads back as a double.
///
/// ```
/// std::string out;
/// dedup::detail::text_sink sink(out);
/// sink.begin_object();
/// sink.key("n");
/// sink.integer(std::int64_t{1});
/// sink.end_object();
/// assert(out == R"({"n":1})");
/// ```
class text_sink {
 public:
  explicit text_sink(std::string& out) : out_(out) {}

  void null() { value("null"); }
  void boolean(bool v) { value(v ? "true" : "false"); }
  void integer(std::int64_t v) { number_of(v); }
  void integer(std::uint64_t v) { number_of(v); }
  void number(double v) {
    if (!std::isfinite(v)) return null();
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf - 2, v);
    // "1" would read back as an integer, the wrong alternative of a variant: keep it a double.
    if (std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)).find_first_of(".e") ==
        std::string_view::npos) {
      *r.ptr++ = '.';
      *r.ptr++ = '0';
    }
    value(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void string(std::string_view v) {
    separate();
    quote(v);
  }
  void begin_array() { open('['); }
  void begin_object() { open('{'); }
  void end_array() { close(']'); }
  void end_object() { close('}'); }
  void key(std::string_view name) {
    separate();
    quote(name);
    out_ += ':';
    after_key_ = true;
  }

 private:
  // Before a value or a key: a comma unless it opens its container or follows its key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void value(std::string_view text) {
    separate();
    out_ += text;
  }
  template <class N>
  void number_of(N v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    value(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    out_ += c;
    first_.pop_back();
  }
  void quote(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (c == '\n') {
        out_ += "\\n";
      } else if (c == '\t') {
        out_ += "\\t";
      } else if (c == '\r') {
        out_ += "\\r";
      } else if (u < 0x20) {
        out_ += "\\u00";
        out_ += hex[u >> 4];
        out_ += hex[u & 15];
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  std::string& out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};
static_assert(json_sink<text_sink>);

/// The simple form of v as compact JSON text, appended to `out`.
///
/// ```
/// std::string text;
/// dedup::detail::write_text(text, std::vector<int>{1, 2});
/// assert(text == "[1,2]");
/// ```
template <class T>
void write_text(std::string& out, const T& v) {
  text_sink sink(out);
  write_to<T>(sink, v);
}

}  // namespace dedup::detail

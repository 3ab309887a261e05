// The primitives of JSON text that every reader of bytes shares: what counts as white space, and
// how a string's escapes decode. One copy of each, so that the backends and the record splitter
// cannot come to disagree on what a name or a blank is.
#pragma once

#include <cstddef>
#include <string_view>

namespace dedup::detail {

/// The UTF-8 byte-order mark, which RFC 8259 forbids before a document and every reader path
/// rejects alike, rather than have one backend skip it and another fail on it.
///
/// ```
/// std::string_view text = "\xEF\xBB\xBF{}";
/// assert(text.starts_with(dedup::detail::byte_order_mark));
/// ```
inline constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";

/// Whether `c` is JSON white space (RFC 8259: space, tab, line feed, carriage return); takes a
/// byte as `char` or as the `int` of a stream, whose -1 (the end) is not blank.
///
/// ```
/// assert(dedup::detail::is_blank('\t') && !dedup::detail::is_blank(-1));
/// ```
constexpr bool is_blank(int c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/// `s` without its trailing white space.
///
/// ```
/// assert(dedup::detail::trim_right("{} \n") == "{}");
/// ```
constexpr std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// `s` without its leading and trailing white space.
///
/// ```
/// assert(dedup::detail::trim(" 1 ") == "1");
/// ```
constexpr std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return trim_right(s);
}

/// The value of a hex digit, or -1.
///
/// ```
/// assert(dedup::detail::hex_digit('b') == 11);
/// ```
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The code unit of `\uXXXX` starting at s[i] (the 'u'), or -1.
///
/// ```
/// assert(dedup::detail::utf16_unit("u00e9", 0) == 0xE9);
/// ```
constexpr long utf16_unit(std::string_view s, std::size_t i) {
  if (s.size() < i + 5) return -1;
  long v = 0;
  for (std::size_t k = 1; k <= 4; ++k) {
    int d = hex_digit(s[i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/// Writes code point `cp` as UTF-8 at `out`; returns the bytes written (at most 4).
///
/// ```
/// char b[4]; assert(dedup::detail::put_utf8(0xE9, b) == 2);
/// ```
constexpr std::size_t put_utf8(long cp, char* out) {
  auto put = [&](std::size_t at, long byte) { out[at] = static_cast<char>(byte); };
  if (cp < 0x80) {
    put(0, cp);
    return 1;
  }
  if (cp < 0x800) {
    put(0, 0xC0 | (cp >> 6));
    put(1, 0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    put(0, 0xE0 | (cp >> 12));
    put(1, 0x80 | ((cp >> 6) & 0x3F));
    put(2, 0x80 | (cp & 0x3F));
    return 3;
  }
  put(0, 0xF0 | (cp >> 18));
  put(1, 0x80 | ((cp >> 12) & 0x3F));
  put(2, 0x80 | ((cp >> 6) & 0x3F));
  put(3, 0x80 | (cp & 0x3F));
  return 4;
}

/// The character a one-letter escape stands for (`n` for `\n`), or -1 for none.
constexpr int simple_escape(char e) {
  switch (e) {
    case '"':
    case '\\':
    case '/':
      return e;
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return -1;
  }
}

/// The code point of the `\u` escape at body[i] (the 'u'), a surrogate pair taken whole; advances
/// `i` to its last byte. -1 for a malformed one or a lone surrogate.
constexpr long unicode_escape(std::string_view body, std::size_t& i) {
  long cp = utf16_unit(body, i);
  if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return -1;
  i += 4;
  if (cp < 0xD800 || cp > 0xDBFF) return cp;
  // A high surrogate: the low half must follow.
  if (i + 2 >= body.size() || body[i + 1] != '\\' || body[i + 2] != 'u') return -1;
  long low = utf16_unit(body, i + 2);
  if (low < 0xDC00 || low > 0xDFFF) return -1;
  i += 6;
  return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
}

/// Decodes the escapes of a JSON string body (the text between its quotes) into `out`, which has
/// room for `body.size()` bytes (a decoded string is never longer) and may be `body.data()` itself:
/// each byte is written only after every byte it stands for was read. Returns the decoded length,
/// or `npos` for an invalid escape.
///
/// ```
/// char b[8]; assert(dedup::detail::unescape_to(R"(a\nb)", b) == 3);
/// ```
constexpr std::size_t unescape_to(std::string_view body, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out[n++] = c;
      continue;
    }
    if (++i == body.size()) return std::string_view::npos;
    if (int simple = simple_escape(body[i]); simple >= 0) {
      out[n++] = static_cast<char>(simple);
    } else if (body[i] != 'u') {
      return std::string_view::npos;
    } else if (long cp = unicode_escape(body, i); cp >= 0) {
      n += put_utf8(cp, out + n);
    } else {
      return std::string_view::npos;
    }
  }
  return n;
}

/// The length of the UTF-8 sequence that starts with `lead` and the least value of its second byte
/// (which rules out overlong forms and surrogates), or 0 for a byte no sequence starts with.
constexpr std::size_t utf8_length(unsigned char lead, unsigned char& low, unsigned char& high) {
  low = 0x80;
  high = 0xBF;
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) {
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // U+D800..U+DFFF are surrogates
    return 3;
  }
  if (lead > 0xF4) return 0;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  return 4;
}

/// The offset of the first byte of `text` that is not part of well-formed UTF-8, or `npos` when
/// all of it is: to say where simdjson's first stage, which only says that some byte is bad, found
/// one.
///
/// ```
/// assert(dedup::detail::first_invalid_utf8("ab\xC3\xA9\xFF") == 4);
/// ```
constexpr std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    unsigned char low = 0, high = 0;
    std::size_t n = utf8_length(static_cast<unsigned char>(text[i]), low, high);
    if (n == 0 || text.size() - i < n) return i;
    for (std::size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return i + k;
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace dedup::detail

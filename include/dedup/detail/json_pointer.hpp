// JSON pointers (RFC 6901), written and read in one place: error messages render them, the record
// splitter follows them to an array, and each must escape `~` and `/` the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/json_text.hpp"

namespace dedup::detail {

/// Whether `c` is a control byte, which a pointer writes as a JSON escape (`\u0000`) so that a
/// message holding it prints whole: a NUL would end it, a line feed break it.
constexpr bool is_control_byte(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
}

/// Appends byte `c`, a control byte as its `\\u00XX` escape.
///
/// ```
/// std::string s; dedup::detail::append_printable(s, '\n'); assert(s == "\\u000a");
/// ```
inline void append_printable(std::string& out, char c) {
  if (!is_control_byte(c)) {
    out += c;
    return;
  }
  constexpr char hex[] = "0123456789abcdef";
  auto byte = static_cast<unsigned char>(c);
  out += "\\u00";
  out += hex[byte >> 4];
  out += hex[byte & 0xF];
}

/// Appends the reference token for member `name` (or an array index's digits), `/` first, with
/// `~` written `~0`, `/` written `~1` and a control byte as its `\u00XX` escape.
///
/// ```
/// std::string p; dedup::detail::append_token(p, "a/b"); assert(p == "/a~1b");
/// std::string q; dedup::detail::append_token(q, std::string_view("a\0b", 3));
/// assert(q == "/a\\u0000b");
/// ```
inline void append_token(std::string& pointer, std::string_view name) {
  pointer += '/';
  for (char c : name) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      append_printable(pointer, c);
    }
  }
}

/// The pointer `parent` extended by the token of `name`.
///
/// ```
/// assert(dedup::detail::pointer_to("/refs", "x~y") == "/refs/x~0y");
/// ```
inline std::string pointer_to(std::string parent, std::string_view name) {
  append_token(parent, name);
  return parent;
}

/// The control byte whose escape `append_token` wrote at pointer[i], or -1.
///
/// ```
/// assert(dedup::detail::escaped_control_byte("/\\u001f", 1) == 0x1F);
/// ```
inline long escaped_control_byte(std::string_view pointer, std::size_t i) {
  if (pointer.substr(i, 4) != "\\u00" || pointer.size() < i + 6) return -1;
  long byte = utf16_unit(pointer, i + 1);
  return byte >= 0 && is_control_byte(static_cast<char>(byte)) ? byte : -1;
}

/// The decoded reference tokens of `pointer` ("" is the whole document, no token), or nothing when
/// it does not start with `/`. A control byte's escape as `append_token` writes it is decoded too
/// (so a name that holds those six characters literally cannot be named).
///
/// ```
/// assert(dedup::detail::pointer_tokens("/a~1b/0")->at(0) == "a/b");
/// ```
inline std::optional<std::vector<std::string>> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> out;
  if (pointer.empty()) return out;
  if (pointer[0] != '/') return std::nullopt;
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    char c = pointer[i];
    if (c == '/') {
      out.emplace_back();
    } else if (c == '~' && i + 1 < pointer.size() &&
               (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      out.back() += pointer[++i] == '0' ? '~' : '/';
    } else if (long byte = escaped_control_byte(pointer, i); byte >= 0) {
      out.back() += static_cast<char>(byte);
      i += 5;
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace dedup::detail

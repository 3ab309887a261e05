// JSON pointers (RFC 6901), written and read in one place: error messages render them, the record
// splitter follows them to an array, and each must escape `~` and `/` the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dedup::detail {

/// Appends the reference token for member `name` (or an array index's digits), `/` first, with
/// `~` written `~0` and `/` written `~1`.
///
/// ```
/// std::string p; dedup::detail::append_token(p, "a/b"); assert(p == "/a~1b");
/// ```
inline void append_token(std::string& pointer, std::string_view name) {
  pointer += '/';
  for (char c : name) {
    if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer += c;
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

/// The decoded reference tokens of `pointer` ("" is the whole document, no token), or nothing when
/// it does not start with `/`.
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
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace dedup::detail

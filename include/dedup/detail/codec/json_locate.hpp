// From a byte of JSON text to the JSON pointer of the value it lies in. Parsers that fail on the
// text as a whole (nlohmann's, simdjson's first stage) report a byte; this names the place as the
// reader's other errors do, so that both backends report malformed text at one pointer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"

namespace dedup::detail {

/// The JSON pointer of the value at byte `offset` of `text`, found by reading the structure of the
/// text before it. A byte in a value, or after it before the next comma, names that value; a byte
/// in or before a member's name names the object; text beyond repair before `offset` (a closing
/// bracket with nothing open) ends the search there. Only for an error's message: it reads the
/// text from its start.
///
/// ```
/// assert(dedup::detail::pointer_at(R"({"a":[1,"x\xFF"]})", 13) == "/a/1");
/// ```
inline std::string pointer_at(std::string_view text, std::size_t offset) {
  struct frame {
    bool object;
    bool in_slot;  // inside a member (its name read) or an element, not between them
    std::string name;
    std::size_t index = 0;
  };
  std::vector<frame> open;
  auto render = [&] {
    std::string out;
    for (const frame& f : open) {
      if (!f.in_slot) break;
      append_token(out, f.object ? std::string_view(f.name) : std::to_string(f.index));
    }
    return out;
  };
  for (std::size_t i = 0; i < text.size() && i < offset;) {
    char c = text[i];
    if (c == '"') {
      std::size_t end = i + 1;
      while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
      if (end >= offset || end >= text.size()) break;
      if (!open.empty() && open.back().object && !open.back().in_slot) {
        std::string_view body = text.substr(i + 1, end - i - 1);
        std::string& name = open.back().name;
        name.resize(body.size());
        std::size_t n = unescape_to(body, name.data());
        if (n == std::string_view::npos)
          name = body;  // a bad escape: the name as written
        else
          name.resize(n);
        open.back().in_slot = true;
      }
      i = end + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      open.push_back({c == '{', c == '[', {}});
    } else if (c == '}' || c == ']') {
      if (open.empty()) break;
      open.pop_back();
    } else if (c == ',' && !open.empty()) {
      frame& f = open.back();
      f.in_slot = !f.object;
      ++f.index;
    }
    ++i;
  }
  return render();
}

}  // namespace dedup::detail

// The location of a value being read, as a chain of stack frames rendered into a JSON pointer only
// when an error is thrown, and the helpers that throw `dedup::error` at such a location.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/json_pointer.hpp"
#include "dedup/error.hpp"

namespace dedup::detail {

/// A JSON pointer under construction, kept as a chain of stack frames so that the hot path never
/// allocates for it: the string is rendered only when an error is about to be thrown.
///
/// ```
/// dedup::detail::path root;
/// dedup::detail::path refs = root.member("refs");
/// assert(refs.element(12).member("id").render() == "/refs/12/id");
/// ```
struct path {
  enum class step : std::uint8_t { root, member, element };

  const path* parent = nullptr;
  std::string_view key{};  // member name, or for the root a prefix already rendered
  std::size_t index = 0;
  step kind = step::root;

  path member(std::string_view name) const { return {this, name, 0, step::member}; }
  path element(std::size_t i) const { return {this, {}, i, step::element}; }

  std::string render() const {
    std::vector<const path*> chain;
    for (const path* p = this; p; p = p->parent) chain.push_back(p);
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) append((*it)->kind, **it, out);
    return out;
  }

 private:
  static void append(step kind, const path& p, std::string& out) {
    if (kind == step::root) {
      out += p.key;
    } else if (kind == step::element) {
      out += '/';
      out += std::to_string(p.index);
    } else {
      append_token(out, p.key);
    }
  }
};

/// How many bytes of input an error message quotes: a bad token may be the rest of a huge input.
inline constexpr std::size_t quoted_bytes_bound = 64;

/// Input text as an error message quotes it: whole when short, else its first
/// `quoted_bytes_bound` bytes (not cutting a UTF-8 sequence) followed by "…"; control bytes
/// escaped, as in pointers, so that the message prints whole.
///
/// ```
/// assert(dedup::detail::excerpt(std::string(100, 'a')) == std::string(64, 'a') + "…");
/// ```
inline std::string excerpt(std::string_view text) {
  std::size_t n = text.size();
  if (n > quoted_bytes_bound) {
    n = quoted_bytes_bound;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::string out;
  out.reserve(n + 3);
  for (char c : text.substr(0, n)) append_printable(out, c);
  if (n < text.size()) out += "…";
  return out;
}

/// Throws the `dedup::error` of the value at `where`.
///
/// ```
/// dedup::detail::path root;
/// CHECK_THROWS_AS(dedup::detail::fail(root.member("id"), "expected string"), dedup::error);
/// ```
[[noreturn]] inline void fail(const path& where, std::string detail) {
  throw error(where.render(), std::move(detail));
}

/// Throws the `dedup::error` of a value at `where` of the wrong kind.
///
/// ```
/// dedup::detail::path root;
/// CHECK_THROWS_WITH(dedup::detail::fail_kind(root, "string", "number"),
///                   "dedup: document root: expected string, found number");
/// ```
[[noreturn]] inline void fail_kind(const path& where, std::string_view expected,
                                   std::string_view found) {
  fail(where, "expected " + std::string(expected) + ", found " + std::string(found));
}

}  // namespace dedup::detail

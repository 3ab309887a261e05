// dedup/istring.hpp: a string whose repeats share one buffer inside a scope.
#pragma once

#include <compare>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace dedup {

/// An immutable string that `from_simple` interns: inside a scope every occurrence of the same
/// text shares one heap buffer (most of a record's bytes are often a few repeated strings, such as
/// run names); outside a scope each is its own copy, except that the istrings of one compact read
/// (dedup/compact.hpp) share a buffer per text, as they did when written. It compares and hashes
/// like its text.
///
/// ```
/// struct Ref { BOOST_HANA_DEFINE_STRUCT(Ref, (dedup::istring, run)); };
/// nlohmann::json r = {{"run", "HSC/runs/RC2"}};
/// dedup::scope s;
/// auto a = dedup::from_simple<Ref>(r), b = dedup::from_simple<Ref>(r);
/// assert(a.run.shares_storage_with(b.run));
/// ```
class istring {
 public:
  istring() = default;
  explicit istring(std::string text)
      : text_(std::make_shared<const std::string>(std::move(text))) {}
  explicit istring(std::shared_ptr<const std::string> shared) : text_(std::move(shared)) {}

  std::string_view view() const noexcept {
    return text_ ? std::string_view(*text_) : std::string_view();
  }
  std::string str() const { return std::string(view()); }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: reads like a string
  bool empty() const noexcept { return view().empty(); }

  /// True when both hold the very same buffer (not only equal text).
  bool shares_storage_with(const istring& other) const noexcept { return text_ == other.text_; }

  friend bool operator==(const istring& a, const istring& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const istring& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const istring& a, const istring& b) noexcept {
    return a.view() <=> b.view();
  }

 private:
  std::shared_ptr<const std::string> text_;
};

}  // namespace dedup

template <>
struct std::hash<dedup::istring> {
  std::size_t operator()(const dedup::istring& s) const noexcept {
    return std::hash<std::string_view>{}(s.view());
  }
};

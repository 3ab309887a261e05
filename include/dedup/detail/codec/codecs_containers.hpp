// The codecs of containers: optional and nullable, vectors, fixed-size arrays, string-keyed maps
// and variants (see dedup/codec.hpp for what a codec carries).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "dedup/detail/codec/codecs.hpp"

namespace dedup {

namespace detail {

template <class T>
concept string_keyed_map = is_string_map<T>::value || is_unordered_string_map<T>::value;

/// Elementwise equality of two ranges of T.
template <class T, class R>
bool equal_elements(const R& a, const R& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!equal_values<T>(a[i], b[i])) return false;
  return true;
}

}  // namespace detail

/// `std::optional` and `dedup::nullable`: null or the value. Inside a struct an empty optional (and
/// an absent nullable) is left out when written; a nullable keeps null apart from absent.
template <class T>
requires detail::may_be_absent<T>
struct codec<T> {
  using value_type = typename T::value_type;
  static constexpr bool accepts(detail::json_kind k) {
    return k == detail::json_kind::null || detail::accepts<value_type>(k);
  }
  template <class S>
  static bool fits(S& src, const detail::path& p, detail::json_kind k) {
    return k == detail::json_kind::null || detail::fits<value_type>(src, p, k);
  }
  static std::string expected_name() { return detail::expected_name<value_type>() + " or null"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, T& out) {
    if (src.kind(p) != detail::json_kind::null)
      detail::read_into(src, p, ctx, out.emplace());
    else if constexpr (detail::is_nullable<T>::value)
      out.set_null();
    else
      out.reset();
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    if (src.kind(p) == detail::json_kind::null) {
      out += 'n';
    } else {
      out += '?';
      detail::encode<value_type>(src, p, out);
    }
  }
  template <class K>
  static void write(K& sink, const T& v) {
    if (v)
      detail::write_to<value_type>(sink, *v);
    else
      sink.null();
  }
  static bool equal(const T& a, const T& b) {
    if constexpr (detail::is_nullable<T>::value)
      if (a.which() != b.which()) return false;
    if (a.has_value() != b.has_value()) return false;
    return !a.has_value() || detail::equal_values<value_type>(*a, *b);
  }
};

template <class T, class A>
struct codec<std::vector<T, A>> {
  using vector = std::vector<T, A>;
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::array; }
  static std::string expected_name() { return "array"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, vector& out) {
    detail::expect(src, p, detail::json_kind::array, "array");
    out.clear();
    src.for_each_element(p, [&](S& element, std::size_t i) {
      T item{};
      detail::read_into(element, p.element(i), ctx, item);
      out.push_back(std::move(item));
    });
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    detail::expect(src, p, detail::json_kind::array, "array");
    out += '[';
    src.for_each_element(
        p, [&](S& element, std::size_t i) { detail::encode<T>(element, p.element(i), out); });
    out += ']';
  }
  template <class K>
  static void write(K& sink, const vector& v) {
    sink.begin_array();
    for (const auto& e : v) detail::write_to<T>(sink, static_cast<const T&>(e));
    sink.end_array();
  }
  static bool equal(const vector& a, const vector& b) { return detail::equal_elements<T>(a, b); }
};

/// A JSON array of exactly N elements; keyed as a vector of them.
template <class T, std::size_t N>
struct codec<std::array<T, N>> {
  using array = std::array<T, N>;
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::array; }
  template <class S>
  static bool fits(S& src, const detail::path& p, detail::json_kind k) {
    if (k != detail::json_kind::array) return false;
    std::size_t n = 0;
    src.for_each_element(p, [&](S&, std::size_t i) { n = i + 1; });
    return n == N;
  }
  static std::string expected_name() { return "array of " + std::to_string(N) + " elements"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, array& out) {
    walk(src, p,
         [&](S& element, std::size_t i) { detail::read_into(element, p.element(i), ctx, out[i]); });
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    out += '[';
    walk(src, p, [&](S& element, std::size_t i) { detail::encode<T>(element, p.element(i), out); });
    out += ']';
  }
  template <class K>
  static void write(K& sink, const array& v) {
    sink.begin_array();
    for (const T& e : v) detail::write_to<T>(sink, e);
    sink.end_array();
  }
  static bool equal(const array& a, const array& b) { return detail::equal_elements<T>(a, b); }

 private:
  /// Calls f(element, i) for the first N elements and rejects an array of another length.
  template <class S, class F>
  static void walk(S& src, const detail::path& p, F&& f) {
    detail::expect(src, p, detail::json_kind::array, "array");
    std::size_t n = 0;
    src.for_each_element(p, [&](S& element, std::size_t i) {
      n = i + 1;
      if (i < N) f(element, i);
    });
    if (n != N)
      detail::fail(
          p, "expected an array of " + std::to_string(N) + " elements, found " + std::to_string(n));
  }
};

/// `std::map` and `std::unordered_map` keyed by strings: a JSON object, written and keyed sorted
/// by key whatever the container's order, so both give the same simple form and key.
template <detail::string_keyed_map M>
struct codec<M> {
  using mapped = typename M::mapped_type;
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::object; }
  static std::string expected_name() { return "object"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, M& out) {
    detail::expect(src, p, detail::json_kind::object, "object");
    out.clear();
    src.for_each_member(p, [&](std::string_view key, S& value) {
      detail::path here = p.member(key);
      auto [it, fresh] = out.try_emplace(std::string(key));
      if (!fresh) detail::fail(here, "duplicate member '" + detail::excerpt(key) + "'");
      detail::read_into(value, here, ctx, it->second);
    });
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    detail::expect(src, p, detail::json_kind::object, "object");
    out += '{';
    detail::encode_map<M>(src, p, out);
    out += '}';
  }
  template <class K>
  static void write(K& sink, const M& v) {
    sink.begin_object();
    auto one = [&](const auto& entry) {
      sink.key(entry.first);
      detail::write_to<mapped>(sink, entry.second);
    };
    if constexpr (detail::is_string_map<M>::value) {
      for (const auto& entry : v) one(entry);
    } else {
      std::vector<const typename M::value_type*> sorted;
      sorted.reserve(v.size());
      for (const auto& entry : v) sorted.push_back(&entry);
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
      for (const auto* entry : sorted) one(*entry);
    }
    sink.end_object();
  }
  static bool equal(const M& a, const M& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a) {
      auto it = b.find(key);
      if (it == b.end() || !detail::equal_values<mapped>(value, it->second)) return false;
    }
    return true;
  }
};

/// The first alternative, in declared order, whose kind and shape fit the value (see
/// `detail::choose_alternative`); its index leads its key bytes.
template <class... A>
struct codec<std::variant<A...>> {
  using variant = std::variant<A...>;
  static constexpr bool accepts(detail::json_kind k) { return (detail::accepts<A>(k) || ...); }
  template <class S>
  static bool fits(S& src, const detail::path& p, detail::json_kind k) {
    return (detail::fits<A>(src, p, k) || ...);
  }
  static std::string expected_name() {
    std::string out;
    ((out += (out.empty() ? "" : " or ") + detail::expected_name<A>()), ...);
    return out;
  }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, variant& out) {
    detail::visit_alternative<variant>(detail::choose_alternative<variant>(src, p), [&](auto I) {
      detail::read_into(src, p, ctx, out.template emplace<decltype(I)::value>());
    });
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    std::size_t index = detail::choose_alternative<variant>(src, p);
    out += 'v';
    out += static_cast<char>(index);
    detail::visit_alternative<variant>(index, [&](auto I) {
      detail::encode<std::variant_alternative_t<decltype(I)::value, variant>>(src, p, out);
    });
  }
  template <class K>
  static void write(K& sink, const variant& v) {
    detail::visit_alternative<variant>(v.index(), [&](auto I) {
      using alt = std::variant_alternative_t<decltype(I)::value, variant>;
      detail::write_to<alt>(sink, std::get<decltype(I)::value>(v));
    });
  }
  static bool equal(const variant& a, const variant& b) {
    if (a.index() != b.index()) return false;
    bool same = true;
    detail::visit_alternative<variant>(a.index(), [&](auto I) {
      using alt = std::variant_alternative_t<decltype(I)::value, variant>;
      same = detail::equal_values<alt>(std::get<decltype(I)::value>(a),
                                       std::get<decltype(I)::value>(b));
    });
    return same;
  }
};

}  // namespace dedup

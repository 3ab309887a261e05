// bench/peers_boost_json.cpp: dedup-bench's Boost.JSON peer (i): `boost::json::parse`, then
// `value_to<Value>` on value structs described with BOOST_DESCRIBE_STRUCT.
//
// Boost 1.81's own conversion of a described struct needs the object to have exactly the
// described members, all present, under the C++ member names. None of the three documents is
// like that (W1 and W2 are camelCase and W1 omits members; W2 and W3 carry members the models
// skip), so, as a Boost.JSON user would, this file adds one `tag_invoke` for every described
// struct that walks the description, skips unknown members, leaves missing optional ones empty
// and spells the W1 and W2 names in camelCase. The rest is Boost.JSON's: strings, numbers,
// vectors, maps, optionals and variants. Only the reference model's uuid and its record values
// (a two-integer array is a Timespan) need their own conversions.
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11/algorithm.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "bench/peers.hpp"

namespace bench::peers::described {

template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_nullable : std::false_type {};
template <class T>
struct is_nullable<dedup::nullable<T>> : std::true_type {};

/// Which structs' members are camelCase on the wire (W1 and W2); W3's are the C++ names.
template <class T>
inline constexpr bool camel_wire =
    !std::is_same_v<T, twitter::status_metadata> && !std::is_same_v<T, twitter::hashtag> &&
    !std::is_same_v<T, twitter::url> && !std::is_same_v<T, twitter::mention> &&
    !std::is_same_v<T, twitter::status_entities> && !std::is_same_v<T, twitter::user_profile> &&
    !std::is_same_v<T, twitter::timeline<by_value>> &&
    !std::is_same_v<T, twitter::tweet<by_value>> &&
    !std::is_same_v<T, twitter::status<by_value, std::monostate>>;

std::string camel(std::string_view snake) {
  std::string out;
  for (std::size_t i = 0; i < snake.size(); ++i)
    out += snake[i] == '_' && i + 1 < snake.size() ? static_cast<char>(snake[++i] - 'a' + 'A')
                                                   : snake[i];
  return out;
}

/// One described member from `obj`: missing is an error unless the member is optional.
template <class T, class D>
void read_member(const boost::json::object& obj, T& out) {
  static const std::string name = camel_wire<T> ? camel(D::name) : std::string(D::name);
  using M = std::remove_cvref_t<decltype(out.*D::pointer)>;
  auto it = obj.find(name);
  if constexpr (is_std_optional<M>::value || is_nullable<M>::value) {
    if (it == obj.end()) return;
    if (it->value().is_null()) {
      if constexpr (is_nullable<M>::value) out.*D::pointer = nullptr;
      return;
    }
    out.*D::pointer = boost::json::value_to<typename M::value_type>(it->value());
  } else {
    if (it == obj.end()) throw std::runtime_error("Boost.JSON peer: no member " + name);
    out.*D::pointer = boost::json::value_to<M>(it->value());
  }
}

/// `value_to<T>` for every described struct T, found by argument-dependent lookup through the
/// using-declarations below; Boost.JSON prefers it to its own strict conversion.
template <class T>
requires boost::describe::has_describe_members<T>::value T tag_invoke(boost::json::value_to_tag<T>,
                                                                      const boost::json::value& v) {
  const boost::json::object& obj = v.as_object();
  T out{};
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<members>([&](auto d) { read_member<T, decltype(d)>(obj, out); });
  return out;
}

}  // namespace bench::peers::described

// ---- the descriptions ---------------------------------------------------------------------------

namespace butler {
BOOST_DESCRIBE_STRUCT(DatasetType, (),
                      (name, storage_class, dimensions, parent_storage_class, is_calibration))
BOOST_DESCRIBE_STRUCT(DimensionRecord, (), (definition, record))
using bench::peers::described::tag_invoke;

uuid tag_invoke(boost::json::value_to_tag<uuid>, const boost::json::value& v) {
  return parse_uuid(v.as_string());
}

Scalar scalar(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return std::monostate{};
    case boost::json::kind::bool_:
      return v.get_bool();
    case boost::json::kind::int64:
      return v.get_int64();
    case boost::json::kind::uint64:
      return static_cast<std::int64_t>(v.get_uint64());
    case boost::json::kind::double_:
      return v.get_double();
    case boost::json::kind::string:
      return std::string(v.get_string());
    default:
      throw std::runtime_error("Boost.JSON peer: a record scalar is not a scalar");
  }
}

/// Boost.JSON's own variant conversion takes the first alternative that converts, and a number
/// converts to int64 when it is integral: 30.0 would come back an integer. The model's rule is
/// the JSON kind, and a two-integer array is a Timespan.
RecordValue tag_invoke(boost::json::value_to_tag<RecordValue>, const boost::json::value& v) {
  if (!v.is_array())
    return std::visit([](auto&& s) -> RecordValue { return std::move(s); }, scalar(v));
  const boost::json::array& a = v.get_array();
  if (a.size() == 2 && a[0].is_int64() && a[1].is_int64())
    return Timespan{.begin = a[0].get_int64(), .end = a[1].get_int64()};
  std::vector<Scalar> out;
  out.reserve(a.size());
  for (const boost::json::value& e : a) out.push_back(scalar(e));
  return out;
}
}  // namespace butler

namespace bench {
BOOST_DESCRIBE_STRUCT(value_coordinate, (), (data_id, records))
BOOST_DESCRIBE_STRUCT(value_ref, (), (id, dataset_type, data_id, run, component))
BOOST_DESCRIBE_STRUCT(value_ref_list, (), (refs))
using peers::described::tag_invoke;
}  // namespace bench

namespace bench::citm {
using value_seat_category = seat_category<by_value>;
using value_performance = performance<by_value>;
using value_catalog = catalog<by_value>;
BOOST_DESCRIBE_STRUCT(area, (), (area_id, block_ids))
BOOST_DESCRIBE_STRUCT(price, (), (amount, audience_sub_category_id, seat_category_id))
BOOST_DESCRIBE_STRUCT(value_seat_category, (), (areas, seat_category_id))
BOOST_DESCRIBE_STRUCT(value_performance, (),
                      (event_id, id, logo, name, prices, seat_categories, seat_map_image, start,
                       venue_code))
BOOST_DESCRIBE_STRUCT(value_catalog, (), (performances))
using peers::described::tag_invoke;
}  // namespace bench::citm

namespace bench::twitter {
using value_tweet = tweet<by_value>;
using value_retweet = status<by_value, std::monostate>;
using value_timeline = timeline<by_value>;
BOOST_DESCRIBE_STRUCT(status_metadata, (), (result_type, iso_language_code))
BOOST_DESCRIBE_STRUCT(hashtag, (), (text, indices))
BOOST_DESCRIBE_STRUCT(url, (), (url, expanded_url, display_url, indices))
BOOST_DESCRIBE_STRUCT(mention, (), (screen_name, name, id, id_str, indices))
BOOST_DESCRIBE_STRUCT(status_entities, (), (hashtags, urls, user_mentions))
BOOST_DESCRIBE_STRUCT(user_profile, (),
                      (id, id_str, name, screen_name, location, description, url, followers_count,
                       friends_count, listed_count, created_at, favourites_count, utc_offset,
                       time_zone, geo_enabled, verified, statuses_count, lang, profile_image_url))
#define BENCH_STATUS_MEMBERS                                                                    \
  (metadata, created_at, id, id_str, text, source, truncated, in_reply_to_status_id,            \
   in_reply_to_user_id, in_reply_to_screen_name, user, retweet_count, favorite_count, entities, \
   favorited, retweeted, lang, retweeted_status)
BOOST_DESCRIBE_STRUCT(value_tweet, (), BENCH_STATUS_MEMBERS)
BOOST_DESCRIBE_STRUCT(value_retweet, (), BENCH_STATUS_MEMBERS)
#undef BENCH_STATUS_MEMBERS
BOOST_DESCRIBE_STRUCT(value_timeline, (), (statuses))
using peers::described::tag_invoke;
}  // namespace bench::twitter

// ---- the loads ----------------------------------------------------------------------------------

namespace bench::peers {
namespace {
/// The parsed value lives for the load, as a user's would: it is freed inside the timed call.
template <class Value>
void load(std::string_view text, Value& out) {
  boost::json::value doc = boost::json::parse(boost::json::string_view(text.data(), text.size()));
  out = boost::json::value_to<Value>(doc);
}
}  // namespace

void boost_json_load(std::string_view t, value_ref_list& out) {
  load(t, out);
}
void boost_json_load(std::string_view t, citm::catalog<by_value>& out) {
  load(t, out);
}
void boost_json_load(std::string_view t, twitter::timeline<by_value>& out) {
  load(t, out);
}

const char* const boost_json_note =
    "(i) Boost.JSON 1.81 converts a described struct only when the object has exactly its "
    "members, under their C++ names; none of W1, W2, W3 is like that, so (i) adds one generic "
    "tag_invoke over the Boost.Describe description (unknown members skipped, missing optionals "
    "empty, camelCase names on W1 and W2) and hand-written conversions for W1's uuid and record "
    "values.";

}  // namespace bench::peers

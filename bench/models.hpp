// The benchmark's data models. Each comes in two forms from one definition: with repeated parts
// held by `std::shared_ptr<const T>` (interned inside a scope) and held by value (the ordinary way
// to deserialize, the contenders without interning).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"

namespace bench {

/// Holds a repeated part shared: what dedup interns.
template <class T>
using shared = std::shared_ptr<const T>;
/// Holds a repeated part by value: one copy per occurrence.
template <class T>
using by_value = T;

/// Camel-case wire names and unknown members skipped: the parts of the real documents the
/// benchmark does not model are visited by the parser but not kept.
struct camel_options : dedup::default_options {
  static std::string wire_name(std::string_view m) { return dedup::camel_case(m); }
};
struct lenient_options : dedup::default_options {
  static constexpr bool ignore_unknown_members = true;
};

// ---- W1: the reference model, by value
// -------------------------------------------------------------

/// butler::DataCoordinate with its records by value.
struct value_coordinate {
  BOOST_HANA_DEFINE_STRUCT(value_coordinate, (std::map<std::string, butler::DataIdValue>, data_id),
                           (std::optional<std::map<std::string, butler::DimensionRecord>>,
                            records));
};
/// butler::DatasetRef with its dataset type and data coordinate by value.
struct value_ref {
  BOOST_HANA_DEFINE_STRUCT(value_ref, (butler::uuid, id), (butler::DatasetType, dataset_type),
                           (value_coordinate, data_id), (std::string, run),
                           (std::optional<std::string>, component));
};
struct value_ref_list {
  BOOST_HANA_DEFINE_STRUCT(value_ref_list, (std::vector<value_ref>, refs));
};

/// butler::DatasetType keyed by (name, storageClass), the member key the reference system uses:
/// the intern-table comparison also runs on the key stream it gives.
struct member_keyed_type {
  BOOST_HANA_DEFINE_STRUCT(member_keyed_type, (std::string, name), (std::string, storage_class),
                           (std::vector<std::string>, dimensions),
                           (std::optional<std::string>, parent_storage_class),
                           (std::optional<bool>, is_calibration));
};

// ---- W2: citm_catalog.json
// ----------------------------------------------------------------------------

namespace citm {
struct area {
  BOOST_HANA_DEFINE_STRUCT(area, (std::int64_t, area_id), (std::vector<std::int64_t>, block_ids));
};
struct price {
  BOOST_HANA_DEFINE_STRUCT(price, (std::int64_t, amount), (std::int64_t, audience_sub_category_id),
                           (std::int64_t, seat_category_id));
};
template <template <class> class R>
struct seat_category {
  BOOST_HANA_DEFINE_STRUCT(seat_category, (std::vector<R<area>>, areas),
                           (std::int64_t, seat_category_id));
};
template <template <class> class R>
struct performance {
  BOOST_HANA_DEFINE_STRUCT(performance, (std::int64_t, event_id), (std::int64_t, id),
                           (std::optional<std::string>, logo), (std::optional<std::string>, name),
                           (std::vector<R<price>>, prices),
                           (std::vector<R<seat_category<R>>>, seat_categories),
                           (std::optional<std::string>, seat_map_image), (std::int64_t, start),
                           (std::string, venue_code));
};
/// The catalog's performances; its name tables (areaNames, events, ...) are skipped.
template <template <class> class R>
struct catalog {
  BOOST_HANA_DEFINE_STRUCT(catalog, (std::vector<performance<R>>, performances));
};
}  // namespace citm

// ---- W3: twitter.json
// -----------------------------------------------------------------------------------

namespace twitter {
struct status_metadata {
  BOOST_HANA_DEFINE_STRUCT(status_metadata, (std::string, result_type),
                           (std::string, iso_language_code));
};
struct hashtag {
  BOOST_HANA_DEFINE_STRUCT(hashtag, (std::string, text), (std::vector<std::int64_t>, indices));
};
struct url {
  BOOST_HANA_DEFINE_STRUCT(url, (std::string, url), (std::string, expanded_url),
                           (std::string, display_url), (std::vector<std::int64_t>, indices));
};
struct mention {
  BOOST_HANA_DEFINE_STRUCT(mention, (std::string, screen_name), (std::string, name),
                           (std::int64_t, id), (std::string, id_str),
                           (std::vector<std::int64_t>, indices));
};
/// A tweet's entities (symbols and media skipped).
struct status_entities {
  BOOST_HANA_DEFINE_STRUCT(status_entities, (std::vector<hashtag>, hashtags),
                           (std::vector<url>, urls), (std::vector<mention>, user_mentions));
};
/// A user, with the profile fields a client shows (colours and images skipped).
struct user_profile {
  BOOST_HANA_DEFINE_STRUCT(user_profile, (std::int64_t, id), (std::string, id_str),
                           (std::string, name), (std::string, screen_name), (std::string, location),
                           (std::string, description), (std::optional<std::string>, url),
                           (std::int64_t, followers_count), (std::int64_t, friends_count),
                           (std::int64_t, listed_count), (std::string, created_at),
                           (std::int64_t, favourites_count),
                           (std::optional<std::int64_t>, utc_offset),
                           (std::optional<std::string>, time_zone), (bool, geo_enabled),
                           (bool, verified), (std::int64_t, statuses_count), (std::string, lang),
                           (std::string, profile_image_url));
};
/// A status; `Retweet` is what its `retweeted_status` holds (std::monostate for a retweeted one,
/// which has none).
template <template <class> class R, class Retweet>
struct status {
  BOOST_HANA_DEFINE_STRUCT(status, (R<status_metadata>, metadata), (std::string, created_at),
                           (std::int64_t, id), (std::string, id_str), (std::string, text),
                           (std::string, source), (bool, truncated),
                           (std::optional<std::int64_t>, in_reply_to_status_id),
                           (std::optional<std::int64_t>, in_reply_to_user_id),
                           (std::optional<std::string>, in_reply_to_screen_name),
                           (R<user_profile>, user), (std::int64_t, retweet_count),
                           (std::int64_t, favorite_count), (R<status_entities>, entities),
                           (bool, favorited), (bool, retweeted), (std::string, lang),
                           (std::optional<Retweet>, retweeted_status));
};
template <template <class> class R>
using tweet = status<R, R<status<R, std::monostate>>>;
/// The search result's statuses (search_metadata skipped).
template <template <class> class R>
struct timeline {
  BOOST_HANA_DEFINE_STRUCT(timeline, (std::vector<tweet<R>>, statuses));
};
}  // namespace twitter

}  // namespace bench

template <>
struct dedup::options<bench::value_coordinate> : butler_options {};
template <>
struct dedup::options<bench::value_ref> : butler_options {};
template <>
struct dedup::options<bench::member_keyed_type> : butler_options {
  static constexpr auto key = dedup::key_members("name", "storage_class");
};

template <>
struct dedup::options<bench::citm::area> : bench::camel_options {
  static constexpr auto key = dedup::whole_value;
};
template <>
struct dedup::options<bench::citm::price> : bench::camel_options {
  static constexpr auto key = dedup::raw_bytes;
};
template <template <class> class R>
struct dedup::options<bench::citm::seat_category<R>> : bench::camel_options {
  static constexpr auto key = dedup::raw_bytes;
};
template <template <class> class R>
struct dedup::options<bench::citm::performance<R>> : bench::camel_options {};
template <template <class> class R>
struct dedup::options<bench::citm::catalog<R>> : bench::lenient_options {};

template <>
struct dedup::options<bench::twitter::status_metadata> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};
template <>
struct dedup::options<bench::twitter::status_entities> : bench::lenient_options {
  static constexpr auto key = dedup::whole_value;
};
template <>
struct dedup::options<bench::twitter::user_profile> : bench::lenient_options {
  static constexpr auto key = dedup::whole_value;
};
template <template <class> class R, class Retweet>
struct dedup::options<bench::twitter::status<R, Retweet>> : bench::lenient_options {};
template <template <class> class R>
struct dedup::options<bench::twitter::timeline<R>> : bench::lenient_options {};
template <>
struct dedup::options<bench::twitter::hashtag> : bench::lenient_options {};
template <>
struct dedup::options<bench::twitter::url> : bench::lenient_options {};
template <>
struct dedup::options<bench::twitter::mention> : bench::lenient_options {};

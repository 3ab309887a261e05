// bench/peers_rapidjson.cpp: dedup-bench's RapidJSON peers (f), (g), (h). The conversion from
// RapidJSON's DOM is written by hand, member by member, as a RapidJSON user writes one: there is no
// reflection to lean on. One conversion serves both shapes: a `copies` pool builds every
// occurrence (the value structs), an `interning` pool looks each repeated part up first (the
// structs with shared parts), which is what a user who knows the data repeats would add.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "bench/peers.hpp"

namespace bench::peers {
namespace {

using json = rapidjson::Value;

// ---- reading members ----------------------------------------------------------------------------

const json* find(const json& o, const char* name) {
  auto it = o.FindMember(name);
  return it == o.MemberEnd() ? nullptr : &it->value;
}
/// A member the model requires: RapidJSON's getters assert rather than throw, so check presence.
const json& at(const json& o, const char* name) {
  if (const json* v = find(o, name)) return *v;
  throw std::runtime_error(std::string("RapidJSON peer: no member ") + name);
}
std::string str(const json& v) {
  return {v.GetString(), v.GetStringLength()};
}
std::string str(const json& o, const char* name) {
  return str(at(o, name));
}
std::int64_t int64(const json& o, const char* name) {
  return at(o, name).GetInt64();
}
bool boolean(const json& o, const char* name) {
  return at(o, name).GetBool();
}
std::optional<std::string> opt_str(const json& o, const char* name) {
  const json* v = find(o, name);
  return v && v->IsString() ? std::optional(str(*v)) : std::nullopt;
}
std::optional<std::int64_t> opt_int64(const json& o, const char* name) {
  const json* v = find(o, name);
  return v && v->IsInt64() ? std::optional(v->GetInt64()) : std::nullopt;
}
/// dedup::nullable keeps "absent" and "null" apart, as the reference system's documents do.
template <class T, class Get>
dedup::nullable<T> nullable(const json& o, const char* name, Get get) {
  const json* v = find(o, name);
  if (!v) return {};
  if (v->IsNull()) return nullptr;
  return get(*v);
}
std::vector<std::int64_t> int64s(const json& a) {
  std::vector<std::int64_t> out;
  out.reserve(a.Size());
  for (const json& e : a.GetArray()) out.push_back(e.GetInt64());
  return out;
}
std::vector<std::string> strs(const json& a) {
  std::vector<std::string> out;
  out.reserve(a.Size());
  for (const json& e : a.GetArray()) out.push_back(str(e));
  return out;
}

// ---- the two pools ------------------------------------------------------------------------------

/// (f), (g): every occurrence is built; the key is never computed.
struct copies {
  template <class T, class Key, class Make>
  T hold(Key&&, Make&& make) {
    return make();
  }
  std::string text(const json& v) { return str(v); }
};

/// (h): one std::unordered_map per repeated type, keyed by a string of the members that identify a
/// value, looked up before the value is built; and one for repeated strings (dedup::istring).
/// Unused tables stay empty: one pool type serves the three workloads.
template <class... Ts>
class interning {
 public:
  template <class T, class Key, class Make>
  std::shared_ptr<const T> hold(Key&& key_of, Make&& make) {
    auto& table = std::get<map<T>>(tables_);
    key_.clear();
    key_of(key_);
    if (auto it = table.find(key_); it != table.end()) return it->second;
    std::string key = key_;  // make() may intern the value's parts, reusing key_
    auto made = std::make_shared<const T>(make());
    table.emplace(std::move(key), made);
    return made;
  }
  dedup::istring text(const json& v) {
    std::string s = str(v);
    if (auto it = strings_.find(s); it != strings_.end()) return it->second;
    return strings_.emplace(s, dedup::istring(s)).first->second;
  }

 private:
  template <class T>
  using map = std::unordered_map<std::string, std::shared_ptr<const T>>;
  std::tuple<map<Ts>...> tables_;
  std::unordered_map<std::string, dedup::istring> strings_;
  std::string key_;
};

using interned_pool =
    interning<butler::DatasetType, butler::DataCoordinate, butler::DimensionRecord, citm::area,
              citm::price, citm::seat_category<shared>, twitter::status_metadata,
              twitter::user_profile, twitter::status_entities,
              twitter::status<shared, std::monostate>>;

/// Key parts, each closed so that ("ab", "c") and ("a", "bc") differ.
std::string& add(std::string& k, std::string_view s) {
  k += s;
  k += '\0';
  return k;
}
std::string& add(std::string& k, std::int64_t v) {
  return k.append(reinterpret_cast<const char*>(&v), sizeof v);
}
std::string& add(std::string& k, const json& v) {  // a string or an integer member
  if (v.IsString()) return add(k, std::string_view(v.GetString(), v.GetStringLength()));
  return add(k, v.IsInt64() ? v.GetInt64() : std::int64_t(-1));
}

// ---- W1: refs -----------------------------------------------------------------------------------

butler::DatasetType dataset_type(const json& j) {
  return {.name = str(j, "name"),
          .storage_class = str(j, "storageClass"),
          .dimensions = strs(at(j, "dimensions")),
          .parent_storage_class =
              nullable<std::string>(j, "parentStorageClass", [](const json& v) { return str(v); }),
          .is_calibration =
              nullable<bool>(j, "isCalibration", [](const json& v) { return v.GetBool(); })};
}

butler::Scalar scalar(const json& v) {
  if (v.IsNull()) return std::monostate{};
  if (v.IsBool()) return v.GetBool();
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsNumber()) return v.GetDouble();
  return str(v);
}

/// The variant rule the model documents: a two-integer array is a Timespan, any other a vector.
butler::RecordValue record_value(const json& v) {
  if (!v.IsArray()) {
    return std::visit([](auto&& s) -> butler::RecordValue { return std::move(s); }, scalar(v));
  }
  if (v.Size() == 2 && v[0].IsInt64() && v[1].IsInt64())
    return butler::Timespan{.begin = v[0].GetInt64(), .end = v[1].GetInt64()};
  std::vector<butler::Scalar> out;
  out.reserve(v.Size());
  for (const json& e : v.GetArray()) out.push_back(scalar(e));
  return out;
}

butler::DimensionRecord dimension_record(const json& j) {
  butler::DimensionRecord r{.definition = str(j, "definition"), .record = {}};
  for (const auto& m : at(j, "record").GetObject())
    r.record.emplace(str(m.name), record_value(m.value));
  return r;
}

std::map<std::string, butler::DataIdValue> data_id(const json& j) {
  std::map<std::string, butler::DataIdValue> out;
  for (const auto& m : j.GetObject()) {
    if (m.value.IsString())
      out.emplace(str(m.name), str(m.value));
    else
      out.emplace(str(m.name), m.value.GetInt64());
  }
  return out;
}

value_ref value_of_ref(const json& j) {
  value_coordinate c{.data_id = data_id(at(at(j, "dataId"), "dataId")), .records = {}};
  if (const json* records = find(at(j, "dataId"), "records"); records && records->IsObject()) {
    c.records.emplace();
    for (const auto& m : records->GetObject())
      c.records->emplace(str(m.name), dimension_record(m.value));
  }
  return {.id = butler::parse_uuid(str(j, "id")),
          .dataset_type = dataset_type(at(j, "datasetType")),
          .data_id = std::move(c),
          .run = str(j, "run"),
          .component = opt_str(j, "component")};
}

/// A dimension record is identified by its definition and its primary key, which in this data is
/// its instrument, id and name where it has them.
std::shared_ptr<const butler::DimensionRecord> record(const json& j, interned_pool& pool) {
  return pool.hold<butler::DimensionRecord>(
      [&](std::string& k) {
        add(k, at(j, "definition"));
        const json& r = at(j, "record");
        for (const char* m : {"instrument", "id", "name"})
          if (const json* v = find(r, m)) add(k, *v);
      },
      [&] { return dimension_record(j); });
}

/// A data coordinate is identified by its data id values and whether it carries records.
std::shared_ptr<const butler::DataCoordinate> coordinate(const json& j, interned_pool& pool) {
  const json* records = find(j, "records");
  return pool.hold<butler::DataCoordinate>(
      [&](std::string& k) {
        for (const auto& m : at(j, "dataId").GetObject()) add(add(k, m.name), m.value);
        add(k, records && records->IsObject() ? 1 : 0);
      },
      [&] {
        butler::DataCoordinate c{.data_id = data_id(at(j, "dataId")), .records = {}};
        if (records && records->IsNull()) c.records = nullptr;
        if (!records || !records->IsObject()) return c;
        c.records.emplace();
        for (const auto& m : records->GetObject())
          c.records->emplace(str(m.name), record(m.value, pool));
        return c;
      });
}

/// A dataset type is identified by its name and storage class (never by its name alone: that
/// omission was the reference system's production bug).
std::shared_ptr<const butler::DatasetRef> interned_ref(const json& j, interned_pool& pool) {
  const json& type = at(j, "datasetType");
  auto dataset_type_ptr = pool.hold<butler::DatasetType>(
      [&](std::string& k) { add(add(k, at(type, "name")), at(type, "storageClass")); },
      [&] { return dataset_type(type); });
  return std::make_shared<const butler::DatasetRef>(butler::DatasetRef{
      .id = butler::parse_uuid(str(j, "id")),
      .dataset_type = std::move(dataset_type_ptr),
      .data_id = coordinate(at(j, "dataId"), pool),
      .run = pool.text(at(j, "run")),
      .component = nullable<std::string>(j, "component", [](const json& v) { return str(v); })});
}

// ---- W2: citm_catalog ---------------------------------------------------------------------------

citm::area area(const json& j) {
  return {.area_id = int64(j, "areaId"), .block_ids = int64s(at(j, "blockIds"))};
}
void add_area(std::string& k, const json& j) {
  add(k, int64(j, "areaId"));
  for (const json& b : at(j, "blockIds").GetArray()) add(k, b.GetInt64());
  add(k, "]");
}

/// `R<T>` is T for `copies` and std::shared_ptr<const T> for `interning`; every repeated part is
/// keyed by its whole value, all of whose members are small integers.
template <template <class> class R, class Pool>
citm::seat_category<R> seat_category(const json& j, Pool& pool) {
  citm::seat_category<R> c{.areas = {}, .seat_category_id = int64(j, "seatCategoryId")};
  for (const json& a : at(j, "areas").GetArray())
    c.areas.push_back(pool.template hold<citm::area>([&](std::string& k) { add_area(k, a); },
                                                     [&] { return area(a); }));
  return c;
}

template <template <class> class R, class Pool>
citm::performance<R> performance(const json& j, Pool& pool) {
  citm::performance<R> p{.event_id = int64(j, "eventId"),
                         .id = int64(j, "id"),
                         .logo = opt_str(j, "logo"),
                         .name = opt_str(j, "name"),
                         .prices = {},
                         .seat_categories = {},
                         .seat_map_image = opt_str(j, "seatMapImage"),
                         .start = int64(j, "start"),
                         .venue_code = str(j, "venueCode")};
  for (const json& q : at(j, "prices").GetArray()) {
    p.prices.push_back(pool.template hold<citm::price>(
        [&](std::string& k) {
          add(add(add(k, int64(q, "amount")), int64(q, "audienceSubCategoryId")),
              int64(q, "seatCategoryId"));
        },
        [&] {
          return citm::price{.amount = int64(q, "amount"),
                             .audience_sub_category_id = int64(q, "audienceSubCategoryId"),
                             .seat_category_id = int64(q, "seatCategoryId")};
        }));
  }
  for (const json& c : at(j, "seatCategories").GetArray()) {
    p.seat_categories.push_back(pool.template hold<citm::seat_category<R>>(
        [&](std::string& k) {
          add(k, int64(c, "seatCategoryId"));
          for (const json& a : at(c, "areas").GetArray()) add_area(k, a);
        },
        [&] { return seat_category<R>(c, pool); }));
  }
  return p;
}

template <template <class> class R, class Pool>
void convert(const json& root, citm::catalog<R>& out, Pool& pool) {
  const json& performances = at(root, "performances");
  out.performances.reserve(performances.Size());
  for (const json& p : performances.GetArray()) out.performances.push_back(performance<R>(p, pool));
}

// ---- W3: twitter --------------------------------------------------------------------------------

twitter::user_profile user_profile(const json& j) {
  return {.id = int64(j, "id"),
          .id_str = str(j, "id_str"),
          .name = str(j, "name"),
          .screen_name = str(j, "screen_name"),
          .location = str(j, "location"),
          .description = str(j, "description"),
          .url = opt_str(j, "url"),
          .followers_count = int64(j, "followers_count"),
          .friends_count = int64(j, "friends_count"),
          .listed_count = int64(j, "listed_count"),
          .created_at = str(j, "created_at"),
          .favourites_count = int64(j, "favourites_count"),
          .utc_offset = opt_int64(j, "utc_offset"),
          .time_zone = opt_str(j, "time_zone"),
          .geo_enabled = boolean(j, "geo_enabled"),
          .verified = boolean(j, "verified"),
          .statuses_count = int64(j, "statuses_count"),
          .lang = str(j, "lang"),
          .profile_image_url = str(j, "profile_image_url")};
}

twitter::status_entities entities(const json& j) {
  twitter::status_entities e;
  for (const json& h : at(j, "hashtags").GetArray())
    e.hashtags.push_back({.text = str(h, "text"), .indices = int64s(at(h, "indices"))});
  for (const json& u : at(j, "urls").GetArray())
    e.urls.push_back({.url = str(u, "url"),
                      .expanded_url = str(u, "expanded_url"),
                      .display_url = str(u, "display_url"),
                      .indices = int64s(at(u, "indices"))});
  for (const json& m : at(j, "user_mentions").GetArray())
    e.user_mentions.push_back({.screen_name = str(m, "screen_name"),
                               .name = str(m, "name"),
                               .id = int64(m, "id"),
                               .id_str = str(m, "id_str"),
                               .indices = int64s(at(m, "indices"))});
  return e;
}
/// Entities have no id: the key is every member the model keeps (most are empty and repeat).
void add_entities(std::string& k, const json& j) {
  for (const char* list : {"hashtags", "urls", "user_mentions"}) {
    for (const json& e : at(j, list).GetArray()) {
      for (const auto& m : e.GetObject()) {
        if (m.value.IsArray())
          for (const json& i : m.value.GetArray()) add(k, i.GetInt64());
        else
          add(k, m.value);
      }
    }
    add(k, "]");
  }
}

/// Users and retweeted statuses are identified by their id; metadata and entities by value.
template <template <class> class R, class Retweet, class Pool>
twitter::status<R, Retweet> status(const json& j, Pool& pool) {
  const json& meta = at(j, "metadata");
  const json& user = at(j, "user");
  const json& ents = at(j, "entities");
  twitter::status<R, Retweet> s{
      .metadata = pool.template hold<twitter::status_metadata>(
          [&](std::string& k) {
            add(add(k, at(meta, "result_type")), at(meta, "iso_language_code"));
          },
          [&] {
            return twitter::status_metadata{.result_type = str(meta, "result_type"),
                                            .iso_language_code = str(meta, "iso_language_code")};
          }),
      .created_at = str(j, "created_at"),
      .id = int64(j, "id"),
      .id_str = str(j, "id_str"),
      .text = str(j, "text"),
      .source = str(j, "source"),
      .truncated = boolean(j, "truncated"),
      .in_reply_to_status_id = opt_int64(j, "in_reply_to_status_id"),
      .in_reply_to_user_id = opt_int64(j, "in_reply_to_user_id"),
      .in_reply_to_screen_name = opt_str(j, "in_reply_to_screen_name"),
      .user = pool.template hold<twitter::user_profile>(
          [&](std::string& k) { add(k, at(user, "id_str")); }, [&] { return user_profile(user); }),
      .retweet_count = int64(j, "retweet_count"),
      .favorite_count = int64(j, "favorite_count"),
      .entities = pool.template hold<twitter::status_entities>(
          [&](std::string& k) { add_entities(k, ents); }, [&] { return entities(ents); }),
      .favorited = boolean(j, "favorited"),
      .retweeted = boolean(j, "retweeted"),
      .lang = str(j, "lang"),
      .retweeted_status = {}};
  if constexpr (!std::is_same_v<Retweet, std::monostate>) {
    if (const json* r = find(j, "retweeted_status"); r && r->IsObject())
      s.retweeted_status = pool.template hold<twitter::status<R, std::monostate>>(
          [&](std::string& k) { add(k, at(*r, "id_str")); },
          [&] { return status<R, std::monostate>(*r, pool); });
  }
  return s;
}

template <template <class> class R, class Pool>
void convert(const json& root, twitter::timeline<R>& out, Pool& pool) {
  const json& statuses = at(root, "statuses");
  out.statuses.reserve(statuses.Size());
  for (const json& s : statuses.GetArray())
    out.statuses.push_back(status<R, R<twitter::status<R, std::monostate>>>(s, pool));
}

// ---- W1 lists and the loads ---------------------------------------------------------------------

void convert(const json& root, value_ref_list& out, copies&) {
  const json& refs = at(root, "refs");
  out.refs.reserve(refs.Size());
  for (const json& r : refs.GetArray()) out.refs.push_back(value_of_ref(r));
}
void convert(const json& root, butler::RefList& out, interned_pool& pool) {
  const json& refs = at(root, "refs");
  out.refs.reserve(refs.Size());
  for (const json& r : refs.GetArray()) out.refs.push_back(interned_ref(r, pool));
}

void check(const rapidjson::Document& doc) {
  if (doc.HasParseError())
    throw std::runtime_error(std::string("RapidJSON: ") +
                             rapidjson::GetParseError_En(doc.GetParseError()) + " at " +
                             std::to_string(doc.GetErrorOffset()));
}

/// The document and the pool live for the load, as a user's would: both are freed before the
/// result is used, inside the timed call.
template <class Pool, class Out>
void parse(std::string_view text, Out& out) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  check(doc);
  Pool pool;
  convert(doc, out, pool);
}
template <class Pool, class Out>
void insitu(char* text, Out& out) {
  rapidjson::Document doc;
  doc.ParseInsitu(text);
  check(doc);
  Pool pool;
  convert(doc, out, pool);
}

}  // namespace

void rapidjson_parse(std::string_view t, value_ref_list& out) {
  parse<copies>(t, out);
}
void rapidjson_parse(std::string_view t, citm::catalog<by_value>& out) {
  parse<copies>(t, out);
}
void rapidjson_parse(std::string_view t, twitter::timeline<by_value>& out) {
  parse<copies>(t, out);
}
void rapidjson_insitu(char* t, value_ref_list& out) {
  insitu<copies>(t, out);
}
void rapidjson_insitu(char* t, citm::catalog<by_value>& out) {
  insitu<copies>(t, out);
}
void rapidjson_insitu(char* t, twitter::timeline<by_value>& out) {
  insitu<copies>(t, out);
}
void rapidjson_intern(char* t, butler::RefList& out) {
  insitu<interned_pool>(t, out);
}
void rapidjson_intern(char* t, citm::catalog<shared>& out) {
  insitu<interned_pool>(t, out);
}
void rapidjson_intern(char* t, twitter::timeline<shared>& out) {
  insitu<interned_pool>(t, out);
}

}  // namespace bench::peers

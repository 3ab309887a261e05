// butler/model.hpp: the reference data model, after the LSST Data Butler's serialized forms:
// dataset types, dimension records, data coordinates and dataset refs, with the keys the
// reference system uses to deduplicate them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dedup/core.hpp"
#include "dedup/nlohmann.hpp"

namespace butler {

/// A 128-bit dataset id, written as the canonical 36-character UUID text.
struct uuid {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const uuid&, const uuid&) = default;
  friend auto operator<=>(const uuid&, const uuid&) = default;
};

/// A time interval in TAI nanoseconds. The reference system writes it as the array
/// `[begin, end]`, which is what `to_simple` writes; the object form `{"begin":…,"end":…}` is read
/// too (see `dedup::options<butler::Timespan>`).
struct Timespan {
  BOOST_HANA_DEFINE_STRUCT(Timespan, (std::int64_t, begin), (std::int64_t, end));
  friend bool operator==(const Timespan&, const Timespan&) = default;
};

/// A scalar inside a dimension record's array value.
using Scalar = std::variant<std::monostate, bool, std::int64_t, double, std::string>;
/// One value of a dimension record: a scalar, a timespan or an array of scalars. Timespan comes
/// before the vector so that a two-integer array, the reference system's timespan, is one; any
/// other array is a vector (docs/scopes-and-keys.md, variants).
using RecordValue = std::variant<std::monostate, bool, std::int64_t, double, std::string, Timespan,
                                 std::vector<Scalar>>;

/// A row of a dimension table (an instrument, a detector, a visit, ...).
struct DimensionRecord {
  BOOST_HANA_DEFINE_STRUCT(DimensionRecord, (std::string, definition),
                           (std::map<std::string, RecordValue>, record));
  friend bool operator==(const DimensionRecord&, const DimensionRecord&) = default;
};

/// The named kind of a dataset and the Python type (storage class) it is read as. The optional
/// members are `dedup::nullable`: the reference system writes `"parentStorageClass": null` for a
/// type that is not a component, and a round trip keeps it.
struct DatasetType {
  BOOST_HANA_DEFINE_STRUCT(DatasetType, (std::string, name), (std::string, storage_class),
                           (std::vector<std::string>, dimensions),
                           (dedup::nullable<std::string>, parent_storage_class),
                           (dedup::nullable<bool>, is_calibration));
  friend bool operator==(const DatasetType&, const DatasetType&) = default;
};

/// A data id value: an integer or a string.
using DataIdValue = std::variant<std::int64_t, std::string>;

/// The dimension values that identify a dataset, optionally with the full dimension records (the
/// reference system writes `"records": null` for a coordinate without them).
struct DataCoordinate {
  BOOST_HANA_DEFINE_STRUCT(
      DataCoordinate, (std::map<std::string, DataIdValue>, data_id),
      (dedup::nullable<std::map<std::string, std::shared_ptr<const DimensionRecord>>>, records));
};

/// A reference to one dataset: its id, type, data coordinate and the run that wrote it; the
/// reference system writes `"component": null` for a ref that is not a component.
struct DatasetRef {
  BOOST_HANA_DEFINE_STRUCT(DatasetRef, (uuid, id),
                           (std::shared_ptr<const DatasetType>, dataset_type),
                           (std::shared_ptr<const DataCoordinate>, data_id), (dedup::istring, run),
                           (dedup::nullable<std::string>, component));
};

/// The document `dedup demo --write` produces: `{"refs": [...]}`.
struct RefList {
  BOOST_HANA_DEFINE_STRUCT(RefList, (std::vector<std::shared_ptr<const DatasetRef>>, refs));
};

/// Parses and formats the canonical text of a uuid (`3f2b...-...`).
uuid parse_uuid(std::string_view text);
std::string format_uuid(const uuid& id);

}  // namespace butler

template <>
struct dedup::string_codec<butler::uuid> {
  static butler::uuid parse(std::string_view text) { return butler::parse_uuid(text); }
  static std::string format(const butler::uuid& id) { return butler::format_uuid(id); }
};

/// Timespan: written `[begin, end]` as the reference system does, read from that or
/// `{"begin":…,"end":…}`.
template <>
struct dedup::options<butler::Timespan> : dedup::default_options {
  static constexpr bool as_array = true;
};

/// Camel-case wire names, as the reference system's JSON has them.
struct butler_options : dedup::default_options {
  static std::string wire_name(std::string_view m) { return dedup::camel_case(m); }
};

/// Dataset type: keyed by its whole value, with its exact bytes as a fast alias on the simdjson
/// backend, never by a subset such as (name, storageClass) alone, the kind of key whose omission of
/// storageClass was the reference system's production bug. dedup-bench measured the exact-bytes
/// hit at about 12% more throughput on the reference workload than the member key (name,
/// storageClass) (bench/RESULTS.md); other spellings of one value share its entry.
template <>
struct dedup::options<butler::DatasetType> : butler_options {
  static constexpr auto key = dedup::raw_bytes;
};

/// Dimension record: keyed by its whole value behind its exact bytes, for the same reason.
template <>
struct dedup::options<butler::DimensionRecord> : butler_options {
  static constexpr auto key = dedup::raw_bytes;
};

/// Data coordinate: keyed by (dataId items, has records). The wire name of `data_id` is `dataId`,
/// so a serialized ref reads `"dataId": {"dataId": {...}, "records": {...}}` as in the reference.
template <>
struct dedup::options<butler::DataCoordinate> : butler_options {
  static constexpr auto key = dedup::key_members("data_id", dedup::has("records"));
};

/// Dataset ref: keyed by (id, dataset type), the dataset type contributing its own key and with it
/// the storage class. Not interned by default: refs rarely repeat within one load, so a table would
/// cost memory and buy nothing; enable the policy when reading overlapping sets of refs.
template <>
struct dedup::options<butler::DatasetRef> : butler_options {
  static constexpr auto key = dedup::key_members("id", "dataset_type");
  static constexpr dedup::policy policy{.enabled = false};
};

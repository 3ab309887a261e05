// butler/workload.hpp: the built-in reference workload, a deterministic list of dataset refs
// whose nested dataset types, data coordinates and dimension records repeat as they do in a real
// registry query.
#pragma once

#include <cstddef>
#include <string>

#include "butler/model.hpp"

namespace butler {

/// The shape of a generated workload. With the defaults: 200,000 refs over 40 dataset types,
/// 5,000 data coordinates and 1,200 distinct dimension records, about 200 MB of JSON.
struct workload {
  std::size_t refs = 200'000;
  std::size_t dataset_types = 40;  // at most 40

  /// Distinct objects of each kind that the refs share.
  std::size_t distinct_dataset_types() const;
  std::size_t distinct_data_coordinates() const;
  std::size_t distinct_dimension_records() const;
};

/// Appends the JSON text of ref number `index` of the workload.
void append_ref(std::string& out, const workload& w, std::size_t index);

/// The whole workload as one document, `{"refs":[...]}`.
std::string make_document(const workload& w);

/// The whole workload as NDJSON, one ref a line.
std::string make_ndjson(const workload& w);

}  // namespace butler

// dedup-bench's report: the machine, the reading rows and the intern table rows, as Markdown
// tables or as one JSON document.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/reading.hpp"
#include "bench/tables.hpp"

namespace bench {

/// /proc/loadavg's three figures, "0.52 0.58 0.59".
std::string load_average();

/// The tables in Markdown on stdout, then `notes`; `load_before` is the load average at the start.
void print_markdown(const std::vector<row>& rows, const std::vector<table_row>& tables,
                    const std::string& load_before, const std::vector<std::string>& notes);

/// The same as one JSON document on stdout, with `wire` (bench/wire.hpp) under "wire" unless null.
void print_json(const std::vector<row>& rows, const std::vector<table_row>& tables,
                const std::string& load_before, const std::vector<std::string>& notes,
                nlohmann::json wire);

}  // namespace bench

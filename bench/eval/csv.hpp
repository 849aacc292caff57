#pragma once
// ASAP's metadata.csv, read by the C++ evaluation programs of bench/eval.

#include <string>
#include <vector>

namespace continuo_bench {

/// Returns the fields of one line of a CSV file (quotes honoured, no escaped quotes in ASAP's file).
inline std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (const char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace continuo_bench

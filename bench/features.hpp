#pragma once
/// \file `continuo_bench features`: the speed of practice-feature extraction on parsed performances.

#include <string>
#include <vector>

namespace continuo_bench {

/// Runs `continuo_bench features [options] SOURCE...` (see bench/README.md) and returns the exit code.
int run_features(const std::vector<std::string>& args);

}  // namespace continuo_bench

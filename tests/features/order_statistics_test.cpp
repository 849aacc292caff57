// detail::select_order_pair against std::nth_element: the medians of the features and of the tempo
// estimator must not change by a bit.

#include "features/order_statistics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace {

using continuo::detail::select_order_pair;

/// Returns the k-th smallest of `values` and the one before it, by sorting.
std::pair<double, double> sorted_pair(std::vector<double> values, std::size_t k) {
  std::sort(values.begin(), values.end());
  return {values[k > 0 ? k - 1 : 0], values[k]};
}

TEST(order_statistics, gives_the_values_of_a_sort_whatever_the_rank_and_ties) {
  std::mt19937_64 random(7);
  std::vector<double> band;
  for (const std::size_t n : {1, 2, 3, 100, 1023, 1024, 1025, 3000, 20000}) {
    for (const int distinct : {2, 50, 0}) {  // 0: all distinct
      std::vector<double> values(n);
      for (double& v : values) {
        v = distinct > 0 ? static_cast<double>(random() % static_cast<unsigned>(distinct)) : std::ldexp(random(), -40);
      }
      // Sorted runs as well as shuffled values: the sample is taken at fixed strides.
      if (n % 2 == 1) std::sort(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n / 2));
      for (const std::size_t k : {std::size_t{0}, n / 2, (n - 1) / 2, n - 1, n / 10, n - 1 - n / 10}) {
        std::vector<double> copy = values;
        const auto pair = select_order_pair(copy, k, band);
        const auto expected = sorted_pair(values, k);
        EXPECT_EQ(pair.at, expected.second) << n << " values, k = " << k;
        EXPECT_EQ(pair.before, k > 0 ? expected.first : expected.second) << n << " values, k = " << k;
      }
    }
  }
}

TEST(order_statistics, takes_the_largest_below_the_bracket_when_the_kth_is_its_low_end) {
  // One 1 where the sample (every 4000 / 128 values) does not see it, among 2s: the bracket is [2, 2],
  // the 1 lies below it, and the 2nd smallest (k = 1) is the bracket's low end.
  std::vector<double> values(4000, 2.0);
  values[1] = 1.0;
  std::vector<double> band;
  const auto pair = select_order_pair(values, 1, band);
  EXPECT_EQ(pair.at, 2.0);
  EXPECT_EQ(pair.before, 1.0);
}

}  // namespace

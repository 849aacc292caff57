#pragma once
/// \file The k-th smallest of many values, for the medians of the practice features and the tempo
/// estimator: the same value std::nth_element finds, in about half its time on thousands of values.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace continuo::detail {

/// The k-th smallest of some values and the one before it in sorted order.
struct order_pair {
  double before = 0;  ///< The (k-1)-th smallest; the k-th itself when k is 0.
  double at = 0;      ///< The k-th smallest (0-based).
};

/// Returns the k-th smallest of `values` (k < size) and the one before it, reordering `values`.
inline order_pair select_exact(std::span<double> values, std::size_t k) {
  const auto kth = values.begin() + static_cast<std::ptrdiff_t>(k);
  std::nth_element(values.begin(), kth, values.end());
  return {k > 0 ? *std::max_element(values.begin(), kth) : *kth, *kth};
}

/// Returns the k-th smallest of `values` (k < size) and the one before it, reordering `values`, with
/// `band` as scratch. Why not nth_element alone: its partitions branch on every comparison, and which
/// way is anyone's guess. Here a sorted sample of the values brackets the k-th; one pass without a
/// branch counts the values below the bracket and copies those inside it (about a fifth), and
/// nth_element runs on these only. The values are the same; nth_element on all of them when the
/// bracket misses (a few percent of calls) or a value is NaN.
inline order_pair select_order_pair(std::span<double> values, std::size_t k, std::vector<double>& band) {
  // A larger sample narrows the bracket but costs its sort: 128 values from a thousand on, 32 (a
  // bracket of about a third) from 128. The margin is about 2 standard deviations of the k-th's rank
  // in the sample.
  constexpr std::size_t max_samples = 128;
  const std::size_t n = values.size();
  if (n < 128) return select_exact(values, k);
  const std::size_t samples = n < 1024 ? 32 : max_samples;
  const std::size_t margin = n < 1024 ? 6 : 12;
  std::array<double, max_samples> sample{};
  for (std::size_t s = 0; s < samples; ++s) {
    sample[s] = values[s * n / samples];
    if (std::isnan(sample[s])) return select_exact(values, k);
  }
  std::sort(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(samples));
  const std::size_t rank = k * samples / n;
  const double lo = sample[rank > margin ? rank - margin : 0];
  const double hi = sample[std::min(samples - 1, rank + margin)];
  band.resize(n);
  std::size_t below = 0;
  std::size_t above = 0;
  std::size_t inside = 0;
  for (const double x : values) {
    below += x < lo ? 1 : 0;
    above += x > hi ? 1 : 0;
    band[inside] = x;
    inside += static_cast<std::size_t>(lo <= x) & static_cast<std::size_t>(x <= hi);
  }
  if (below + inside + above != n || k < below || k >= below + inside) return select_exact(values, k);
  order_pair pair = select_exact(std::span(band).first(inside), k - below);
  if (k == below && k > 0) {
    // The one before is the largest below the bracket (rare: the bracket's low end is the k-th).
    pair.before = -std::numeric_limits<double>::infinity();
    for (const double x : values) pair.before = x < lo ? std::max(pair.before, x) : pair.before;
  }
  return pair;
}

}  // namespace continuo::detail

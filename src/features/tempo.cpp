#include <continuo/features/tempo.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace continuo {
namespace {

/// Lag resolution of the histograms, in seconds.
constexpr double lag_step_s = 0.01;
/// Shortest lag measured: closer events are one gesture, not a beat.
constexpr double min_lag_s = 0.07;

/// One onset event: a note or a chord whose onsets lie within merge_window_s of its first.
struct onset_event {
  double time_s;
  double weight;
};

/// Merges onsets into events weighted by the sum of their velocities (divided by 127).
std::vector<onset_event> merge_onsets(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                                      seconds_t merge_window_s) {
  std::vector<onset_event> events;
  const std::size_t n = std::min(onset_s.size(), velocity.size());
  events.reserve(n);
  std::size_t i = 0;
  while (i < n) {
    const double t0 = onset_s[i];
    double w = 0;
    std::size_t j = i;
    while (j < n && onset_s[j] - t0 <= merge_window_s) {
      w += velocity[j] / 127.0;
      ++j;
    }
    if (std::isfinite(t0)) events.push_back({t0, std::sqrt(w)});
    i = j;
  }
  return events;
}

/// Lag histograms of the onset train: the weighted count of event pairs whose distance is each lag,
/// one histogram per block of `block_s` seconds (a pair belongs to the block of its first event).
struct lag_histograms {
  std::size_t bins = 0;          ///< Lags 0, lag_step_s, ..., (bins - 1) * lag_step_s.
  std::size_t blocks = 0;
  std::vector<double> per_block;  ///< blocks x bins.
  std::vector<double> block_energy;
  std::vector<double> total;      ///< Sum over blocks.
};

lag_histograms measure_lags(const std::vector<onset_event>& events, double max_lag_s, double block_s) {
  lag_histograms h;
  h.bins = static_cast<std::size_t>(max_lag_s / lag_step_s) + 2;
  const double t_first = events.front().time_s;
  const double span = events.back().time_s - t_first;
  h.blocks = static_cast<std::size_t>(span / block_s) + 1;
  h.per_block.assign(h.blocks * h.bins, 0.0);
  h.block_energy.assign(h.blocks, 0.0);
  h.total.assign(h.bins, 0.0);
  const double inv_step = 1.0 / lag_step_s;
  std::size_t j_start = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const double ti = events[i].time_s;
    const auto block = std::min(h.blocks - 1, static_cast<std::size_t>((ti - t_first) / block_s));
    double* row = h.per_block.data() + block * h.bins;
    h.block_energy[block] += events[i].weight * events[i].weight;
    j_start = std::max(j_start, i + 1);
    while (j_start < events.size() && events[j_start].time_s - ti < min_lag_s) ++j_start;
    for (std::size_t j = j_start; j < events.size(); ++j) {
      const double d = events[j].time_s - ti;
      if (d > max_lag_s) break;
      const double x = d * inv_step;
      const auto b = static_cast<std::size_t>(x);
      const double f = x - static_cast<double>(b);
      const double w = events[i].weight * events[j].weight;
      row[b] += w * (1 - f);
      row[b + 1] += w * f;
    }
  }
  for (std::size_t k = 0; k < h.blocks; ++k) {
    const double* row = h.per_block.data() + k * h.bins;
    for (std::size_t b = 0; b < h.bins; ++b) h.total[b] += row[b];
  }
  return h;
}

/// Smooths a lag histogram with a Gaussian whose width grows with the lag (timing jitter accumulates):
/// sigma = max(1.5 bins, 2.5 % of the lag).
std::vector<double> smooth(std::span<const double> a) {
  std::vector<double> out(a.size(), 0.0);
  for (std::size_t b = 0; b < a.size(); ++b) {
    const double sigma = std::max(1.5, 0.025 * static_cast<double>(b));
    const auto reach = static_cast<std::ptrdiff_t>(std::ceil(2.5 * sigma));
    const auto lo = std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(b) - reach);
    const auto hi = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(a.size()) - 1,
                                             static_cast<std::ptrdiff_t>(b) + reach);
    double s = 0;
    double wsum = 0;
    for (std::ptrdiff_t k = lo; k <= hi; ++k) {
      const double d = static_cast<double>(k - static_cast<std::ptrdiff_t>(b)) / sigma;
      const double w = std::exp(-0.5 * d * d);
      s += w * a[static_cast<std::size_t>(k)];
      wsum += w;
    }
    out[b] = s / wsum;
  }
  return out;
}

/// Returns the histogram at a fractional lag (linear interpolation; 0 outside).
double at_lag(const std::vector<double>& a, double lag_s) {
  const double x = lag_s / lag_step_s;
  if (x < 0 || x >= static_cast<double>(a.size() - 1)) return 0;
  const auto b = static_cast<std::size_t>(x);
  const double f = x - static_cast<double>(b);
  return a[b] * (1 - f) + a[b + 1] * f;
}

/// Returns the lag of the largest value of `a` with lag in [lo_s, hi_s], refined by a parabola through
/// the peak bin and its neighbours; 0 when the range is empty.
double peak_lag(const std::vector<double>& a, double lo_s, double hi_s) {
  const auto lo = static_cast<std::size_t>(std::max(1.0, std::ceil(lo_s / lag_step_s)));
  const auto hi = std::min(a.size() - 2, static_cast<std::size_t>(hi_s / lag_step_s));
  if (lo > hi) return 0;
  std::size_t best = lo;
  for (std::size_t b = lo; b <= hi; ++b) {
    if (a[b] > a[best]) best = b;
  }
  const double y0 = a[best - 1];
  const double y1 = a[best];
  const double y2 = a[best + 1];
  const double denom = y0 - 2 * y1 + y2;
  double offset = denom < 0 ? 0.5 * (y0 - y2) / denom : 0.0;
  offset = std::clamp(offset, -0.5, 0.5);
  return (static_cast<double>(best) + offset) * lag_step_s;
}

struct analysis {
  std::vector<onset_event> events;
  lag_histograms lags;
  std::vector<double> smoothed;  ///< Smoothed total histogram.
  std::vector<tempo_candidate> candidates;
};

/// Fills the features of a candidate of period `t` (see docs/tempo_key.md).
void describe(tempo_candidate& c, const std::vector<double>& a, double a_max, double event_rate_hz) {
  const double t = c.beat_period_s;
  const double z = std::log2(t / 0.6);
  const double u = std::log2(t * event_rate_hz);  // events per beat (log2)
  const double r = std::log2(std::max(event_rate_hz, 1e-3) / 4.0);
  auto rel = [&](double lag) { return at_lag(a, lag) / a_max; };
  c.salience = rel(t);
  c.features = {z,         z * z,           rel(t),          rel(2 * t), rel(3 * t),   rel(t / 2),
                rel(t / 3), rel(1.5 * t),   rel(2.0 * t / 3), u * u,      z * r,        rel(4 * t)};
}

analysis analyse(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                 const tempo_options& options) {
  analysis an;
  an.events = merge_onsets(onset_s, velocity, options.merge_window_s);
  if (an.events.size() < 3) return an;
  const double span = an.events.back().time_s - an.events.front().time_s;
  if (!(span > min_lag_s)) return an;
  const double max_lag = std::clamp(options.max_lag_s, 0.5, 16.0);
  an.lags = measure_lags(an.events, max_lag, std::max(options.local_window_s / 2, 1.0));
  an.smoothed = smooth(an.lags.total);

  const double lo = 60.0 / std::max(options.max_bpm, 1.0);
  const double hi = std::min(60.0 / std::max(options.min_bpm, 1.0), max_lag);
  const auto b_lo = static_cast<std::size_t>(std::max(2.0, std::floor(lo / lag_step_s)));
  const auto b_hi = std::min(an.smoothed.size() - 2, static_cast<std::size_t>(hi / lag_step_s));
  double a_max = 0;
  for (std::size_t b = b_lo; b <= b_hi; ++b) a_max = std::max(a_max, an.smoothed[b]);
  if (!(a_max > 0)) return an;
  const double event_rate_hz = static_cast<double>(an.events.size()) / std::max(span, 1.0);

  // Candidates: the local maxima of the smoothed histogram in the tempo range.
  for (std::size_t b = b_lo; b <= b_hi; ++b) {
    const double y = an.smoothed[b];
    if (y >= an.smoothed[b - 1] && y > an.smoothed[b + 1] && y > 0.05 * a_max) {
      tempo_candidate c;
      c.beat_period_s = peak_lag(an.smoothed, static_cast<double>(b - 1) * lag_step_s,
                                 static_cast<double>(b + 1) * lag_step_s);
      describe(c, an.smoothed, a_max, event_rate_hz);
      an.candidates.push_back(c);
    }
  }
  // Scores, softmax, best first.
  double top = -1e300;
  std::vector<double> score(an.candidates.size());
  for (std::size_t k = 0; k < an.candidates.size(); ++k) {
    score[k] = std::inner_product(an.candidates[k].features.begin(), an.candidates[k].features.end(),
                                  options.level_model.begin(), 0.0);
    top = std::max(top, score[k]);
  }
  double sum = 0;
  for (std::size_t k = 0; k < an.candidates.size(); ++k) sum += std::exp(score[k] - top);
  for (std::size_t k = 0; k < an.candidates.size(); ++k) {
    an.candidates[k].probability = std::exp(score[k] - top) / sum;
  }
  std::stable_sort(an.candidates.begin(), an.candidates.end(),
                   [](const tempo_candidate& x, const tempo_candidate& y) { return x.probability > y.probability; });
  return an;
}

/// Returns the weighted median of values.
double weighted_median(std::vector<std::pair<double, double>> values) {
  std::sort(values.begin(), values.end());
  double total = 0;
  for (const auto& v : values) total += v.second;
  double acc = 0;
  for (const auto& v : values) {
    acc += v.second;
    if (acc >= total / 2) return v.first;
  }
  return values.back().first;
}

}  // namespace

const tempo_level_model& default_tempo_level_model() noexcept {
  static constexpr tempo_level_model model{-0.5, -2.0, 4.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  return model;
}

std::vector<tempo_candidate> tempo_candidates(std::span<const seconds_t> onset_s,
                                              std::span<const std::uint8_t> velocity,
                                              const tempo_options& options) {
  return analyse(onset_s, velocity, options).candidates;
}

tempo_estimate estimate_tempo(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                              const tempo_options& options) {
  tempo_estimate out;
  const analysis an = analyse(onset_s, velocity, options);
  out.event_count = an.events.size();
  if (an.candidates.empty()) return out;
  const tempo_candidate& best = an.candidates.front();
  double period = best.beat_period_s;

  // Local beat periods: the peak near the chosen period in windows of two blocks, hop one block.
  const lag_histograms& h = an.lags;
  std::vector<std::pair<double, double>> local;  // (period, weight)
  if (h.blocks >= 2) {
    std::vector<double> window(h.bins);
    for (std::size_t k = 0; k + 1 < h.blocks; ++k) {
      double energy = h.block_energy[k] + h.block_energy[k + 1];
      if (!(energy > 0)) continue;
      for (std::size_t b = 0; b < h.bins; ++b) window[b] = h.per_block[k * h.bins + b] + h.per_block[(k + 1) * h.bins + b];
      const std::vector<double> s = smooth(window);
      const double p = peak_lag(s, period / 1.12, period * 1.12);
      if (p > 0 && at_lag(s, p) > 0) local.emplace_back(p, energy);
    }
  }
  if (local.size() >= 2) {
    const double med = weighted_median(local);
    double mean = 0;
    for (const auto& v : local) mean += std::log(v.first);
    mean /= static_cast<double>(local.size());
    double var = 0;
    for (const auto& v : local) var += (std::log(v.first) - mean) * (std::log(v.first) - mean);
    out.tempo_spread = std::sqrt(var / static_cast<double>(local.size() - 1));
    period = med;
  }
  out.beat_period_s = period;
  out.bpm = 60.0 / period;
  out.confidence = std::clamp(best.probability, 0.0, 1.0);
  return out;
}

tempo_estimate estimate_tempo(const note_columns& notes, std::size_t first, std::size_t last,
                              const tempo_options& options) {
  last = std::min(last, notes.size());
  if (first >= last) return {};
  const std::span<const seconds_t> onsets(notes.onset_s.data() + first, last - first);
  const std::span<const std::uint8_t> velocities(notes.velocity.data() + first, last - first);
  return estimate_tempo(onsets, velocities, options);
}

tempo_estimate estimate_tempo(const note_columns& notes, const tempo_options& options) {
  return estimate_tempo(notes, 0, notes.size(), options);
}

}  // namespace continuo

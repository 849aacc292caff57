#include <continuo/features/tempo.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

namespace continuo {
namespace {

/// Lag resolution of the histograms, in seconds.
constexpr double lag_step_s = 0.01;
/// Shortest lag measured: closer events are one gesture, not a beat.
constexpr double min_lag_s = 0.07;
/// Weight of ln(spacing / expected period)^2 in the beat tracker: 20 lets a beat come 10 % early or
/// late for 0.2 of an average event's weight.
constexpr double tracking_tightness = 20.0;
/// The tracker's deviation cost is this many times the tightness for a beat shorter than expected and
/// 1 / this for a longer one. Why: performers lengthen beats (ritardandi, fermatas, phrase ends) far more
/// than they shorten them; with a symmetric cost a long beat is cheaper to split into two short ones,
/// which adds short beats and biased the tracked tempo fast (on ASAP, with the level given, 1.5 brought
/// the 30 s windows within 4 % from 0.62 to 0.67; 1.3 and 1.7 did about as well, 2 and 3 worse).
constexpr double early_beat_cost = 1.5;

/// One onset event: a note or a chord whose onsets lie within merge_window_s of its first.
struct onset_event {
  double time_s;
  double weight;  ///< sqrt(sum of velocity / 127): a chord counts more than a note, but not linearly.
  bool bass;      ///< Its lowest pitch is among the lowest 30 % of the events' lowest pitches.
};

/// Merges onsets into events.
std::vector<onset_event> merge_onsets(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                                      std::span<const std::uint8_t> pitch, seconds_t merge_window_s) {
  std::vector<onset_event> events;
  std::vector<std::uint8_t> lowest;
  const std::size_t n = std::min({onset_s.size(), velocity.size(), pitch.size()});
  events.reserve(n);
  lowest.reserve(n);
  std::size_t i = 0;
  while (i < n) {
    const double t0 = onset_s[i];
    double w = 0;
    std::uint8_t low = 127;
    std::size_t j = i;
    while (j < n && onset_s[j] - t0 <= merge_window_s) {
      w += velocity[j] / 127.0;
      low = std::min(low, pitch[j]);
      ++j;
    }
    if (std::isfinite(t0) && w > 0) {
      events.push_back({t0, std::sqrt(w), false});
      lowest.push_back(low);
    }
    i = j;
  }
  if (!events.empty()) {
    std::vector<std::uint8_t> sorted = lowest;
    const auto k = sorted.size() * 3 / 10;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
    const std::uint8_t threshold = sorted[k];
    for (std::size_t e = 0; e < events.size(); ++e) events[e].bass = lowest[e] <= threshold;
  }
  return events;
}

/// Lag histograms of the onset train (all events, and bass events only): the weighted count of event
/// pairs whose distance is each lag, lags 0, lag_step_s, ..., (bins - 1) * lag_step_s.
struct lag_histograms {
  std::vector<double> all;
  std::vector<double> bass;
};

lag_histograms measure_lags(const std::vector<onset_event>& events, double max_lag_s) {
  lag_histograms h;
  const auto bins = static_cast<std::size_t>(max_lag_s / lag_step_s) + 2;
  h.all.assign(bins, 0.0);
  h.bass.assign(bins, 0.0);
  const double inv_step = 1.0 / lag_step_s;
  std::size_t j_start = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const double ti = events[i].time_s;
    const double wi = events[i].weight;
    const bool bi = events[i].bass;
    j_start = std::max(j_start, i + 1);
    while (j_start < events.size() && events[j_start].time_s - ti < min_lag_s) ++j_start;
    for (std::size_t j = j_start; j < events.size(); ++j) {
      const double d = events[j].time_s - ti;
      if (d > max_lag_s) break;
      if (d < min_lag_s) continue;  // only when onsets are out of order
      const double x = d * inv_step;
      const auto b = static_cast<std::size_t>(x);
      const double f = x - static_cast<double>(b);
      const double w = wi * events[j].weight;
      h.all[b] += w * (1 - f);
      h.all[b + 1] += w * f;
      if (bi && events[j].bass) {
        h.bass[b] += w * (1 - f);
        h.bass[b + 1] += w * f;
      }
    }
  }
  return h;
}

/// Gaussian smoothing weights for a histogram of `bins` bins, whose width grows with the lag as timing
/// jitter accumulates: sigma = max(1.5 bins, 2.5 % of the lag), cut at 2.5 sigma, normalised.
struct smoothing_kernel {
  std::vector<std::uint32_t> offset;  ///< Start of bin b's weights in `weight`; size bins + 1.
  std::vector<std::size_t> first;     ///< First input bin of output bin b.
  std::vector<double> weight;

  explicit smoothing_kernel(std::size_t bins) : offset(bins + 1), first(bins) {
    const auto n = static_cast<std::ptrdiff_t>(bins);
    for (std::ptrdiff_t b = 0; b < n; ++b) {
      const double sigma = std::max(1.5, 0.025 * static_cast<double>(b));
      const auto reach = static_cast<std::ptrdiff_t>(2.5 * sigma);
      const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, b - reach);
      const std::ptrdiff_t hi = std::min(n - 1, b + reach);
      offset[static_cast<std::size_t>(b)] = static_cast<std::uint32_t>(weight.size());
      first[static_cast<std::size_t>(b)] = static_cast<std::size_t>(lo);
      double sum = 0;
      for (std::ptrdiff_t k = lo; k <= hi; ++k) {
        const double d = static_cast<double>(k - b) / sigma;
        weight.push_back(std::exp(-0.5 * d * d));
        sum += weight.back();
      }
      for (std::size_t k = offset[static_cast<std::size_t>(b)]; k < weight.size(); ++k) weight[k] /= sum;
    }
    offset[bins] = static_cast<std::uint32_t>(weight.size());
  }
};

/// Returns the kernel for `bins` bins; the one for the default max_lag_s is built once and shared.
const smoothing_kernel& kernel_for(std::size_t bins, std::unique_ptr<smoothing_kernel>& local) {
  static const smoothing_kernel shared(static_cast<std::size_t>(4.0 / lag_step_s) + 2);
  if (shared.first.size() == bins) return shared;
  local = std::make_unique<smoothing_kernel>(bins);
  return *local;
}

/// Returns `a` smoothed by kernel `k` (built for a.size() bins).
std::vector<double> smooth(const std::vector<double>& a, const smoothing_kernel& k) {
  std::vector<double> out(a.size(), 0.0);
  for (std::size_t b = 0; b < a.size(); ++b) {
    const double* in = a.data() + k.first[b];
    double s = 0;
    for (std::uint32_t w = k.offset[b]; w < k.offset[b + 1]; ++w) s += k.weight[w] * *in++;
    out[b] = s;
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

/// Returns the lag of a peak bin refined by a parabola through it and its neighbours.
double refine_peak(const std::vector<double>& a, std::size_t b) {
  const double y0 = a[b - 1];
  const double y1 = a[b];
  const double y2 = a[b + 1];
  const double denom = y0 - 2 * y1 + y2;
  const double offset = denom < 0 ? std::clamp(0.5 * (y0 - y2) / denom, -0.5, 0.5) : 0.0;
  return (static_cast<double>(b) + offset) * lag_step_s;
}

/// One step of a beat chain: from one event to a later one, spanning `beats` beats.
struct beat_step {
  double time_s;    ///< Time of the step's later event.
  double period_s;  ///< (time between the events) / beats.
  double beats;
};

/// The expected beat period over time: piecewise linear between knots (time, period), constant
/// outside them.
class period_curve {
 public:
  explicit period_curve(double period_s) : knots_{{0.0, period_s}} {}
  explicit period_curve(std::vector<std::pair<double, double>> knots) : knots_(std::move(knots)) {}
  /// Returns the period at `time_s`; calls must come with non-decreasing times.
  double at(double time_s) {
    while (next_ < knots_.size() && knots_[next_].first <= time_s) ++next_;
    if (next_ == 0) return knots_.front().second;
    if (next_ == knots_.size()) return knots_.back().second;
    const auto& a = knots_[next_ - 1];
    const auto& b = knots_[next_];
    const double f = (time_s - a.first) / (b.first - a.first);
    return a.second + f * (b.second - a.second);
  }

 private:
  std::vector<std::pair<double, double>> knots_;
  std::size_t next_ = 0;
};

/// Beat tracking by dynamic programming over onset events (after Ellis 2007, on events rather than
/// frames): the chain of events whose spacings are close to a whole number (1-3) of the expected period,
/// maximising the sum of event weights minus `tightness` * ln(spacing / (m * period))^2 (scaled by
/// early_beat_cost: shorter beats cost more than longer ones) and a penalty for each beat that falls on
/// no event. Returns the chain's steps, in time order.
std::vector<beat_step> track_beats(const std::vector<onset_event>& events, period_curve expected, double tightness) {
  constexpr double skip_penalty = 0.7;
  constexpr double bass_gain = 1.0;  // a bass event counts twice: beats fall on the bass more often
  const double early_cost = tightness * early_beat_cost;
  const double late_cost = tightness / early_beat_cost;
  const std::size_t n = events.size();
  std::vector<double> own(n);
  double mean_w = 0;
  for (std::size_t k = 0; k < n; ++k) {
    own[k] = events[k].weight * (events[k].bass ? 1 + bass_gain : 1.0);
    mean_w += own[k];
  }
  for (double& x : own) x *= static_cast<double>(n) / mean_w;
  std::vector<double> score(n);
  std::vector<std::uint32_t> from(n);
  std::vector<std::uint8_t> span(n, 0);
  std::size_t best_end = 0;
  std::size_t first = 0;  // earliest predecessor within reach
  for (std::size_t j = 0; j < n; ++j) {
    double best = own[j];
    std::size_t best_from = j;
    std::uint8_t best_span = 0;
    const double tj = events[j].time_s;
    const double period_s = expected.at(tj);
    const double inv_period = 1.0 / period_s;
    const double earliest = tj - 3.45 * period_s;
    const double latest = tj - 0.65 * period_s;
    while (first < j && events[first].time_s < earliest) ++first;
    while (first > 0 && events[first - 1].time_s >= earliest) --first;
    for (std::size_t i = first; i < j && events[i].time_s <= latest; ++i) {
      const double x = (tj - events[i].time_s) * inv_period;
      // x > 0, so the cast rounds as lround does, without a call in the innermost loop.
      const int beats = std::max(1, static_cast<int>(x + 0.5));  // NOLINT(bugprone-incorrect-roundings)
      // ln(x / beats) by its Taylor series around 1 (|e| <= 0.35 here; error under 1 %).
      constexpr double inv_beats[4] = {1.0, 1.0, 0.5, 1.0 / 3.0};
      const double e = x * inv_beats[beats] - 1;
      const double ln = e * (1 - e * (0.5 - e * (1.0 / 3.0)));
      const double cost = ln < 0 ? early_cost : late_cost;
      const double s = score[i] - cost * ln * ln - skip_penalty * (beats - 1);
      if (s + own[j] > best) {
        best = s + own[j];
        best_from = i;
        best_span = static_cast<std::uint8_t>(beats);
      }
    }
    score[j] = best;
    from[j] = static_cast<std::uint32_t>(best_from);
    span[j] = best_span;
    if (best > score[best_end]) best_end = j;
  }
  std::vector<beat_step> steps;
  for (std::size_t j = best_end; span[j] != 0; j = from[j]) {
    const double beats = span[j];
    steps.push_back({events[j].time_s, (events[j].time_s - events[from[j]].time_s) / beats, beats});
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

/// Returns the local tempo curve of a chain: at each step, the median period of the steps within
/// `reach` steps of it.
std::vector<std::pair<double, double>> local_periods(const std::vector<beat_step>& steps, std::size_t reach) {
  std::vector<std::pair<double, double>> knots;
  knots.reserve(steps.size());
  std::vector<double> window;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const std::size_t a = k >= reach ? k - reach : 0;
    const std::size_t b = std::min(steps.size(), k + reach + 1);
    window.clear();
    for (std::size_t m = a; m < b; ++m) window.push_back(steps[m].period_s);
    const auto mid = window.begin() + static_cast<std::ptrdiff_t>(window.size() / 2);
    std::nth_element(window.begin(), mid, window.end());
    knots.emplace_back(steps[k].time_s, *mid);
  }
  return knots;
}

/// Returns the weighted median of (value, weight) pairs.
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

struct analysis {
  std::vector<onset_event> events;
  std::vector<tempo_candidate> candidates;  ///< Most probable first.
};

analysis analyse(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                 std::span<const std::uint8_t> pitch, const tempo_options& options) {
  analysis an;
  an.events = merge_onsets(onset_s, velocity, pitch, options.merge_window_s);
  if (an.events.size() < 3) return an;
  const double span = an.events.back().time_s - an.events.front().time_s;
  if (!(span > min_lag_s)) return an;
  const double max_lag = std::clamp(options.max_lag_s, 0.5, 16.0);
  const lag_histograms raw = measure_lags(an.events, max_lag);
  std::unique_ptr<smoothing_kernel> own_kernel;
  const smoothing_kernel& kernel = kernel_for(raw.all.size(), own_kernel);
  const std::vector<double> all = smooth(raw.all, kernel);
  const std::vector<double> bass = smooth(raw.bass, kernel);

  const double lo = 60.0 / std::max(options.max_bpm, 1.0);
  const double hi = std::min(60.0 / std::max(options.min_bpm, 1.0), max_lag);
  const auto b_lo = static_cast<std::size_t>(std::max(2.0, std::floor(lo / lag_step_s)));
  const auto b_hi = std::min(all.size() - 2, static_cast<std::size_t>(hi / lag_step_s));
  double a_max = 0;
  double bass_max = 0;
  for (std::size_t b = b_lo; b <= b_hi; ++b) {
    a_max = std::max(a_max, all[b]);
    bass_max = std::max(bass_max, bass[b]);
  }
  if (!(a_max > 0)) return an;
  if (!(bass_max > 0)) bass_max = 1;
  const double event_rate_hz = static_cast<double>(an.events.size()) / std::max(span, 1.0);
  const double r = std::log2(event_rate_hz / 4.0);

  // Candidates: the local maxima of the smoothed histogram in the tempo range.
  for (std::size_t b = b_lo; b <= b_hi; ++b) {
    const double y = all[b];
    if (!(y >= all[b - 1] && y > all[b + 1] && y > 0.05 * a_max)) continue;
    tempo_candidate c;
    const double t = refine_peak(all, b);
    c.beat_period_s = t;
    auto a = [&](double lag) { return at_lag(all, lag) / a_max; };
    auto s = [&](double lag) { return at_lag(bass, lag) / bass_max; };
    const double z = std::log2(t / 0.6);
    const double u = std::log2(t * event_rate_hz);
    c.salience = a(t);
    c.features = {z,    z * z,    a(t),     a(2 * t), a(3 * t), a(t / 2), a(t / 3), a(1.5 * t), a(2 * t / 3),
                  s(t), s(2 * t), s(3 * t), u * u,    z * r,    a(4 * t), s(t / 2)};
    an.candidates.push_back(c);
  }
  // Scores, softmax, most probable first.
  double top = -1e300;
  std::vector<double> score(an.candidates.size());
  for (std::size_t k = 0; k < an.candidates.size(); ++k) {
    score[k] = std::inner_product(an.candidates[k].features.begin(), an.candidates[k].features.end(),
                                  options.level_model.begin(), 0.0);
    top = std::max(top, score[k]);
  }
  double sum = 0;
  for (double s : score) sum += std::exp(s - top);
  for (std::size_t k = 0; k < an.candidates.size(); ++k) {
    an.candidates[k].probability = std::exp(score[k] - top) / sum;
  }
  std::stable_sort(an.candidates.begin(), an.candidates.end(),
                   [](const tempo_candidate& x, const tempo_candidate& y) { return x.probability > y.probability; });
  return an;
}

}  // namespace

const tempo_level_model& default_tempo_level_model() noexcept {
  // Fitted on all 886 ASAP performances and their 30 s windows by bench/eval/tempo_key_eval (softmax over
  // candidates, target: the candidates within 4 % of the annotated tempo); docs/tempo_key.md reports
  // the figures of models fitted with each piece held out.
  static constexpr tempo_level_model model{1.3436,  -1.0387, 3.3628, -0.4769, -0.6434, 0.6648,  1.0565,  -1.4121,
                                           -0.8480, 1.9849,  2.3350, 1.0588,  -0.0415, -1.3846, -0.5428, 0.6323};
  return model;
}

std::vector<tempo_candidate> tempo_candidates(std::span<const seconds_t> onset_s,
                                              std::span<const std::uint8_t> velocity,
                                              std::span<const std::uint8_t> pitch, const tempo_options& options) {
  return analyse(onset_s, velocity, pitch, options).candidates;
}

tempo_estimate estimate_tempo(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> velocity,
                              std::span<const std::uint8_t> pitch, const tempo_options& options) {
  tempo_estimate out;
  const analysis an = analyse(onset_s, velocity, pitch, options);
  out.event_count = an.events.size();
  if (an.candidates.empty()) return out;
  const tempo_candidate& best = an.candidates.front();
  double period = best.beat_period_s;

  // Track at the chosen period, then again twice following the local tempo of the previous chain.
  std::vector<beat_step> steps = track_beats(an.events, period_curve(period), tracking_tightness);
  for (int pass = 0; pass < 1 && steps.size() >= 8; ++pass) {
    steps = track_beats(an.events, period_curve(local_periods(steps, 4)), tracking_tightness);
  }
  double beats = 0;
  for (const auto& s : steps) beats += s.beats;
  out.beat_count = steps.empty() ? 0 : static_cast<std::size_t>(beats) + 1;
  if (beats >= 4) {
    // Mean periods over runs of about `run` beats, so that a beat placed one note early and the next
    // one note late do not pull the median; then their median.
    std::vector<std::pair<double, double>> periods;
    periods.reserve(steps.size());
    constexpr std::size_t run = 4;
    for (std::size_t k = 0; k < steps.size(); ++k) {
      const std::size_t end = std::min(steps.size(), k + run);
      double t = 0;
      double b = 0;
      for (std::size_t m = k; m < end; ++m) t += steps[m].period_s * steps[m].beats, b += steps[m].beats;
      periods.emplace_back(t / b, steps[k].beats);
      if (end == steps.size()) break;
    }
    period = weighted_median(periods);
    // Robust spread of ln(inter-beat interval): 1.4826 x the median absolute deviation.
    const double ln_med = std::log(period);
    for (auto& p : periods) p.first = std::abs(std::log(p.first) - ln_med);
    out.tempo_spread = 1.4826 * weighted_median(std::move(periods));
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
  const std::size_t n = last - first;
  return estimate_tempo(std::span(notes.onset_s).subspan(first, n), std::span(notes.velocity).subspan(first, n),
                        std::span(notes.pitch).subspan(first, n), options);
}

tempo_estimate estimate_tempo(const note_columns& notes, const tempo_options& options) {
  return estimate_tempo(notes, 0, notes.size(), options);
}

}  // namespace continuo

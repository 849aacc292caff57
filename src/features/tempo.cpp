#include <continuo/features/tempo.hpp>

#include "features/order_statistics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
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

/// A step of x expected beats spans (int)(x + this) beats: 1.5 (a beat 50 % too long, or two beats 25 %
/// too short) is one long beat. Why: performers lengthen beats far more than they shorten them (see
/// early_beat_cost); with 0.5 the tracker, knife-edge at exactly 1.5, read a beat held to 1.5 times as
/// two, the median then fell to 0.45 of a steady 0.5 s (tests/features/tempo_test.cpp).
constexpr double beat_rounding = 0.45;

/// A rest longer than this many expected beats before an event lets the tracker's chain reach the event
/// from any earlier event (a bridge, see track_beats). Why: a pause between sections, a fermata or a rest
/// longer than the tracker's reach (3.45 beats) otherwise ends the chain, and the beat period was the
/// median of the longest stretch without one (a third of a Chopin ballade). 1.0, 1.45 and 2.5 did the
/// same on ASAP; a bridge allowed before every event (0) did about as well (Acc1 0.456 against 0.465 per
/// performance, Acc2 0.535 against 0.531 per window; docs/tempo_key.md).
constexpr double bridge_rest_beats = 1.45;
/// Cost of a bridge, in average event weights: 1 and 3 did the same on ASAP.
constexpr double bridge_penalty = 1.0;
/// The tracker's first pass, which only sets the local tempo the second follows, sees the events whose
/// weight is at least this share of the mean. Why: soft passing notes and ornaments pull a chain that has
/// no tempo curve yet off the beat, and a pass on fewer events is cheaper. On ASAP (hand-set on the whole
/// corpus): 0.8 raised Acc2 per performance from 0.639 to 0.656 and took estimate_tempo from 133 to
/// 111 ns per note; 1.0 and 1.2 gained a little more per performance but lost 0.005-0.007 of the 30 s
/// windows; restricting the second pass too (0.5-0.8) lost accuracy everywhere.
constexpr double strong_event_share = 0.8;
/// Marks a tracker step that bridges a rest: the chain goes on, but the step says nothing of the period.
constexpr std::uint8_t bridge = 255;

/// Onset events, as columns: an event is a note or a chord whose onsets lie within merge_window_s of its
/// first.
struct onset_events {
  std::vector<double> time_s;
  std::vector<double> weight;  ///< sqrt(sum of velocity / 127): a chord counts more than a note, but not linearly.
  /// 1 when the event's lowest pitch is among the lowest 30 % of the events' lowest pitches, else 0: a
  /// factor rather than a flag, so that the pair loops multiply instead of branching on it.
  std::vector<double> bass;
  /// The beat tracker's weight: the event model's beat probability when the notes' lengths are known,
  /// else weight x (1 + bass).
  std::vector<double> salience;

  [[nodiscard]] std::size_t size() const noexcept { return time_s.size(); }
};

/// Buffers that estimate_tempo reuses from call to call on a thread, so that a call on a short stretch
/// of notes (an attempt, a window) does not spend its time in malloc.
struct workspace {
  onset_events events;
  onset_events strong;                ///< All the events while the tracker's first pass runs on the strong ones.
  std::vector<std::uint8_t> lowest;   ///< Per event, as merged: its lowest and highest pitch, its notes,
  std::vector<std::uint8_t> highest;  ///< its loudest velocity and ln of its longest note (in seconds,
  std::vector<double> notes;          ///< at least 10 ms).
  std::vector<std::uint8_t> loudest;
  std::vector<double> longest;
  /// Sums of the context columns over events [0, e), for means around an event: ln weight, lowest,
  /// highest, loudest, ln interval to the next event, ln longest note; interleaved, `context_columns` a row.
  std::vector<double> prefix;
  std::vector<double> sorted_onset_s;  ///< The notes in onset order, when given out of order.
  std::vector<double> sorted_offset_s;
  std::vector<std::uint8_t> sorted_velocity;
  std::vector<std::uint8_t> sorted_pitch;
  bool lengths_known = false;             ///< Whether the notes' offsets were given.
  std::vector<std::int64_t> halves;       ///< Event times in half lag bins from the first.
  std::vector<std::int64_t> bass_halves;  ///< The same of the bass events.
  std::vector<double> bass_weight;        ///< Their weights.
  std::vector<double> half_lags;          ///< Both lag histograms in half bins, all events' then the bass's.
  std::vector<double> lags;               ///< Both lag histograms, interleaved (all, bass) per bin.
  std::vector<double> smoothed;           ///< The smoothed histogram of all events.
  std::vector<double> smoothed_bass;
  std::vector<double> own;  ///< The beat tracker's columns.
  std::vector<double> score;
  std::vector<std::uint32_t> from;
  std::vector<std::uint8_t> span;
  std::vector<double> candidate;  ///< Scores of one event's predecessors.
  std::vector<double> band;       ///< For lower_median.
  double a_max = 1;               ///< Maxima of the smoothed histograms in the tempo range.
  double bass_max = 1;
  double event_rate_hz = 0;                      ///< Events per second over the notes' span (at least 1 s).
  std::vector<std::pair<double, double>> beats;  ///< Beat times and their event's tracker weight (0: none).
};

workspace& thread_workspace() {
  thread_local workspace w;
  return w;
}

/// Intervals and note lengths shorter than this count as this long in the event features' logarithms,
/// and lengths longer than a day as a day.
constexpr double shortest_s = 0.01;
constexpr double longest_length_s = 86400.0;

/// Returns `notes`, or when their onsets are out of order, a copy in `w` sorted by onset (NaN onsets
/// last; merge_onsets drops the non-finite ones). Why: the contract is notes sorted by onset, but a caller
/// that breaks it must not break the estimator, whose scans assume times in order.
tempo_notes in_onset_order(const tempo_notes& notes, workspace& w) {
  const std::size_t n = std::min({notes.onset_s.size(), notes.velocity.size(), notes.pitch.size()});
  double latest = -std::numeric_limits<double>::infinity();
  bool in_order = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double onset = notes.onset_s[i];
    in_order &= !(onset < latest);
    latest = std::isnan(onset) ? latest : std::max(latest, onset);  // after +inf every finite onset is late
  }
  if (in_order) return notes;
  const auto key = [&](std::size_t i) {
    const double onset = notes.onset_s[i];
    return std::isnan(onset) ? std::numeric_limits<double>::infinity() : onset;
  };
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  const bool lengths = notes.offset_s.size() >= n;
  w.sorted_onset_s.resize(n);
  w.sorted_offset_s.resize(lengths ? n : 0);
  w.sorted_velocity.resize(n);
  w.sorted_pitch.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    w.sorted_onset_s[k] = notes.onset_s[order[k]];
    if (lengths) w.sorted_offset_s[k] = notes.offset_s[order[k]];
    w.sorted_velocity[k] = notes.velocity[order[k]];
    w.sorted_pitch[k] = notes.pitch[order[k]];
  }
  return {w.sorted_onset_s, w.sorted_offset_s, w.sorted_velocity, w.sorted_pitch};
}

/// Merges onsets into `w.events` (time, weight, bass) and the per-event columns of `w`.
void merge_onsets(const tempo_notes& given, seconds_t merge_window_s, workspace& w) {
  const tempo_notes notes = in_onset_order(given, w);
  const std::span<const seconds_t> onset_s = notes.onset_s;
  const std::span<const std::uint8_t> velocity = notes.velocity;
  const std::span<const std::uint8_t> pitch = notes.pitch;
  static constexpr auto velocity_share = [] {
    std::array<double, 256> share{};
    for (std::size_t v = 0; v < share.size(); ++v) share[v] = static_cast<double>(v) / 127.0;
    return share;
  }();
  onset_events& events = w.events;
  const std::size_t n = std::min({onset_s.size(), velocity.size(), pitch.size()});
  w.lengths_known = notes.offset_s.size() >= n;
  events.time_s.resize(n + 1);
  events.weight.resize(n + 1);
  w.lowest.resize(n + 1);
  w.highest.resize(n + 1);
  w.notes.resize(n + 1);
  w.loudest.resize(n + 1);
  w.longest.resize(n + 1);
  // One pass, without a branch per note (how many notes an event holds is anyone's guess): the event
  // being merged is written at slot `count` after every note, and kept (count moves on) when the next
  // note starts another.
  std::size_t count = 0;
  double t0 = n > 0 ? onset_s[0] : 0.0;
  double sum = 0;
  std::uint8_t low = 127;
  std::uint8_t high = 0;
  double in_event = 0;
  std::uint8_t loud = 0;
  double longest_s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double onset = onset_s[i];
    const bool starts = !(onset - t0 <= merge_window_s);
    count += starts && std::isfinite(t0) && sum > 0 ? 1 : 0;
    t0 = starts ? onset : t0;
    sum = (starts ? 0.0 : sum) + velocity_share[velocity[i]];
    low = std::min(starts ? std::uint8_t{127} : low, pitch[i]);
    high = std::max(starts ? std::uint8_t{0} : high, pitch[i]);
    in_event = (starts ? 0.0 : in_event) + 1;
    loud = std::max(starts ? std::uint8_t{0} : loud, velocity[i]);
    const double length_s = w.lengths_known ? notes.offset_s[i] - onset : 0.0;
    longest_s = std::max(starts ? 0.0 : longest_s, length_s);
    events.time_s[count] = t0;
    events.weight[count] = sum;
    w.lowest[count] = low;
    w.highest[count] = high;
    w.notes[count] = in_event;
    w.loudest[count] = loud;
    w.longest[count] = longest_s;
  }
  count += n > 0 && std::isfinite(t0) && sum > 0 ? 1 : 0;
  events.time_s.resize(count);
  events.weight.resize(count);
  w.lowest.resize(count);
  w.highest.resize(count);
  w.notes.resize(count);
  w.loudest.resize(count);
  w.longest.resize(count);
  for (double& weight : events.weight) weight = std::sqrt(weight);
  if (w.lengths_known) {
    // A NaN length never passed the max above; an infinite one (an offset at infinity) is capped.
    for (double& length : w.longest) length = std::log(std::clamp(length, shortest_s, longest_length_s));
  }
  events.bass.clear();
  if (count > 0) {
    // The lowest pitch of the lowest 30 % of the events, counted rather than selected.
    std::array<std::size_t, 256> events_at{};
    for (const std::uint8_t p : w.lowest) ++events_at[p];
    const std::size_t k = count * 3 / 10;
    std::size_t threshold = 0;
    for (std::size_t at_or_below = events_at[0]; at_or_below <= k; at_or_below += events_at[threshold]) ++threshold;
    events.bass.resize(count);
    for (std::size_t e = 0; e < count; ++e) events.bass[e] = w.lowest[e] <= threshold ? 1.0 : 0.0;
  }
}

/// Columns of the prefix sums in workspace::prefix.
constexpr std::size_t context_columns = 6;
/// How many events on each side the means around an event take in: of weights and pitches, and of
/// intervals and lengths (tempo_event::features).
constexpr std::size_t near_events = 6;
constexpr std::size_t near_intervals = 8;

/// Fills `w.prefix` for event_features, from the columns merge_onsets left (lengths: ln of the longest).
void sum_context(workspace& w) {
  const onset_events& events = w.events;
  const std::size_t n = events.size();
  w.prefix.assign((n + 1) * context_columns, 0.0);
  double* row = w.prefix.data();
  for (std::size_t e = 0; e < n; ++e, row += context_columns) {
    const double interval = e + 1 < n ? events.time_s[e + 1] - events.time_s[e] : 1.0;
    const double terms[context_columns] = {
        std::log(events.weight[e]),        static_cast<double>(w.lowest[e]),         static_cast<double>(w.highest[e]),
        static_cast<double>(w.loudest[e]), std::log(std::max(interval, shortest_s)), w.longest[e]};
    for (std::size_t c = 0; c < context_columns; ++c) row[context_columns + c] = row[c] + terms[c];
  }
}

/// Writes event e's features (tempo_event::features) to `f`; needs sum_context.
void event_features(const workspace& w, std::size_t e, double* f) {
  const std::size_t n = w.events.size();
  const double* prefix = w.prefix.data();
  // The mean of column c over the events within `reach` of e.
  const auto around = [&](std::size_t c, std::size_t reach) {
    const std::size_t lo = e >= reach ? e - reach : 0;
    const std::size_t hi = std::min(n, e + reach + 1);
    return (prefix[hi * context_columns + c] - prefix[lo * context_columns + c]) / static_cast<double>(hi - lo);
  };
  const auto column = [&](std::size_t c, std::size_t k) {
    return prefix[(k + 1) * context_columns + c] - prefix[k * context_columns + c];
  };
  const double ln_w = column(0, e);
  const double low = w.lowest[e];
  const double next = column(4, e);
  const double previous = e > 0 ? column(4, e - 1) : 0.0;
  const double intervals = around(4, near_intervals);
  f[0] = ln_w;
  f[1] = w.events.bass[e];
  f[2] = std::log(w.notes[e]);
  f[3] = ln_w - around(0, near_events);
  f[4] = next - intervals;
  f[5] = previous - intervals;
  f[6] = (low - around(1, near_events)) / 12;
  f[7] = e > 0 && w.lowest[e] != w.lowest[e - 1] ? 1.0 : 0.0;
  f[8] = (w.loudest[e] - around(3, near_events)) / 20;
  f[9] = (w.highest[e] - around(2, near_events)) / 12;
  f[10] = next - previous;
  f[11] = w.lengths_known ? w.longest[e] - around(5, near_intervals) : 0.0;
  f[12] = w.lengths_known ? w.longest[e] : 0.0;
  f[13] = e > 0 ? ln_w - column(0, e - 1) : 0.0;
  f[14] = e + 1 < n ? ln_w - column(0, e + 1) : 0.0;
  f[15] = e > 0 ? (low - w.lowest[e - 1]) / 12 : 0.0;
}

/// Fills `w.events.salience`: the event model's beat probability when the notes' lengths are known, else
/// the velocity weight, doubled for a bass event (what the tracker used before the model). Why the model
/// runs over blocks of events, a feature at a time: per event, its 153 terms are one chain of dependent
/// additions (which cost more than all the rest of the estimator's work on an event); over a block, each
/// step is a loop of independent multiply-adds that the compiler vectorises, on columns that stay in the
/// cache; in single precision, which holds twice the values a vector instruction. The products are
/// summed as x_i (w_i + sum over j >= i of q_ij x_j): one multiply-add a product.
void weigh_events(const tempo_event_model& model, workspace& w) {
  onset_events& events = w.events;
  const std::size_t n = events.size();
  events.salience.resize(n);
  if (!w.lengths_known) {
    for (std::size_t e = 0; e < n; ++e) events.salience[e] = events.weight[e] * (1 + events.bass[e]);
    return;
  }
  constexpr std::size_t count = tempo_event_feature_count;
  constexpr std::size_t block = 256;
  sum_context(w);
  std::array<float, tempo_event_model{}.size()> q{};
  std::transform(model.begin(), model.end(), q.begin(), [](double v) { return static_cast<float>(v); });
  std::array<std::array<float, block>, count> x{};  // feature k of the block's event e at x[k][e]
  std::array<float, block> row{};
  std::array<float, block> z{};
  std::array<double, count> f{};
  for (std::size_t first = 0; first < n; first += block) {
    const std::size_t size = std::min(block, n - first);
    // The loops run over whole groups of 8 (the values past `size` are left from before, and unused).
    const std::size_t lanes = (size + 7) / 8 * 8;
    for (std::size_t e = 0; e < size; ++e) {
      event_features(w, first + e, f.data());
      for (std::size_t k = 0; k < count; ++k) x[k][e] = static_cast<float>(f[k]);
    }
    std::fill_n(z.begin(), lanes, q[0]);
    const float* product = q.data() + 1 + count;
    for (std::size_t i = 0; i < count; ++i) {
      std::fill_n(row.begin(), lanes, q[1 + i]);
      for (std::size_t j = i; j < count; ++j) {
        const float qij = *product++;
        for (std::size_t e = 0; e < lanes; ++e) row[e] += qij * x[j][e];
      }
      for (std::size_t e = 0; e < lanes; ++e) z[e] += x[i][e] * row[e];
    }
    double* salience = events.salience.data() + first;
    for (std::size_t e = 0; e < size; ++e) salience[e] = 1 / (1 + std::exp(-static_cast<double>(z[e])));
  }
}

/// Adds w_i x w_j at half-bin lag d = halves[j] - halves[i] of `h`, for every pair i < j of events with
/// min_half <= d <= max_half (events in time order).
void count_pairs(std::span<const std::int64_t> halves, std::span<const double> weight, std::int64_t min_half,
                 std::int64_t max_half, double* h) {
  const std::size_t n = halves.size();
  std::size_t j_start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t qi = halves[i];
    const double wi = weight[i];
    j_start = std::max(j_start, i + 1);
    while (j_start < n && halves[j_start] - qi < min_half) ++j_start;
    for (std::size_t j = j_start; j < n; ++j) {
      const std::int64_t d = halves[j] - qi;
      if (d > max_half) break;
      if (d < min_half) continue;  // only when onsets are out of order
      h[d] += wi * weight[j];
    }
  }
}

/// Fills `w.lags` with the lag histograms of the onset train, all events and bass events only,
/// interleaved: the weighted count of event pairs whose distance is each lag, lags 0, lag_step_s, ...,
/// (bins - 1) * lag_step_s, at [2 * bin] (all) and [2 * bin + 1] (bass).
///
/// Why times in half bins: a pair then costs an integer subtraction and an addition, where a lag in
/// seconds split between its two nearest bins costs a conversion and two; the pairs are counted at the
/// half-bin lag, then each half bin between two bins is split between them. A lag moves by at most half
/// a bin (5 ms, against a smoothing of 15 ms and more); docs/tempo_key.md shows the accuracy unchanged.
/// Why the bass pairs in a pass of their own, over the bass events only: a tenth of the pairs are
/// bass-bass; counting every pair in both histograms (adding 0 for the others) cost a third more.
void measure_lags(double max_lag_s, workspace& w) {
  const onset_events& events = w.events;
  const std::size_t n = events.size();
  const auto bins = static_cast<std::size_t>(max_lag_s / lag_step_s) + 2;
  constexpr double halves_per_s = 2 / lag_step_s;
  w.halves.resize(n);
  w.bass_halves.clear();
  w.bass_weight.clear();
  const double t0 = events.time_s.front();
  for (std::size_t k = 0; k < n; ++k) {
    // Clamped so that no difference of two overflows, whatever the onsets (out of order, 1e300 s apart).
    constexpr double farthest = 4.5e15;  // half bins, about 2^52
    const double halves_from_t0 = std::clamp((events.time_s[k] - t0) * halves_per_s, -farthest, farthest);
    w.halves[k] = static_cast<std::int64_t>(std::llround(halves_from_t0));
    if (events.bass[k] != 0) {
      w.bass_halves.push_back(w.halves[k]);
      w.bass_weight.push_back(events.weight[k] * events.bass[k]);
    }
  }
  const auto max_half = static_cast<std::int64_t>(max_lag_s * halves_per_s);
  const auto min_half = static_cast<std::int64_t>(std::ceil(min_lag_s * halves_per_s));
  const auto halves = static_cast<std::size_t>(max_half + 1);
  w.half_lags.assign(2 * halves, 0.0);
  double* all = w.half_lags.data();
  double* bass = all + halves;
  count_pairs(w.halves, w.lengths_known ? events.salience : events.weight, min_half, max_half, all);
  count_pairs(w.bass_halves, w.bass_weight, min_half, max_half, bass);
  w.lags.assign(2 * bins, 0.0);
  for (std::size_t q = 0; q < halves; ++q) {
    const std::size_t b = q / 2;
    if (q % 2 == 0) {
      w.lags[2 * b] += all[q];
      w.lags[2 * b + 1] += bass[q];
    } else {
      w.lags[2 * b] += 0.5 * all[q];
      w.lags[2 * b + 1] += 0.5 * bass[q];
      w.lags[2 * b + 2] += 0.5 * all[q];
      w.lags[2 * b + 3] += 0.5 * bass[q];
    }
  }
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

/// Smooths the interleaved histograms `w.lags` by kernel `k` (built for their bins) into `w.smoothed` and
/// `w.smoothed_bass`. Each sum adds its terms in order, as a plain loop over a bin's weights would; why
/// four bins at a time: a bin's two sums are chains of dependent additions, and eight chains keep the
/// adders busy where two left them waiting (the smoothing of a 30 s window cost as much as its pairs).
void smooth(const smoothing_kernel& k, workspace& w) {
  constexpr std::size_t group = 4;
  const std::size_t bins = w.lags.size() / 2;
  w.smoothed.resize(bins);
  w.smoothed_bass.resize(bins);
  // The last group overlaps the one before it (max_lag_s gives at least 52 bins): its bins are computed
  // twice, to the same values.
  for (std::size_t from = 0; from < bins; from += group) {
    const std::size_t b = std::min(from, bins - group);
    std::array<const double*, group> weight{};
    std::array<const double*, group> in{};
    std::array<std::size_t, group> taps{};
    for (std::size_t g = 0; g < group; ++g) {
      weight[g] = k.weight.data() + k.offset[b + g];
      in[g] = w.lags.data() + 2 * k.first[b + g];
      taps[g] = k.offset[b + g + 1] - k.offset[b + g];
    }
    std::array<double, group> all{};
    std::array<double, group> bass{};
    const auto add_tap = [&](std::size_t g, std::size_t i) {
      all[g] += weight[g][i] * in[g][2 * i];
      bass[g] += weight[g][i] * in[g][2 * i + 1];
    };
    const std::size_t common = *std::min_element(taps.begin(), taps.end());
    for (std::size_t i = 0; i < common; ++i) {
      for (std::size_t g = 0; g < group; ++g) add_tap(g, i);
    }
    for (std::size_t g = 0; g < group; ++g) {
      for (std::size_t i = common; i < taps[g]; ++i) add_tap(g, i);
      w.smoothed[b + g] = all[g];
      w.smoothed_bass[b + g] = bass[g];
    }
  }
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
  std::uint32_t from;  ///< The step's earlier event.
  std::uint32_t to;    ///< The step's later event.
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
std::vector<beat_step> track_beats(period_curve expected, double tightness, workspace& w) {
  constexpr double skip_penalty = 0.7;
  const double cost[2] = {tightness / early_beat_cost, tightness * early_beat_cost};  // late, early
  static constexpr double inv_beats[4] = {1.0, 1.0, 0.5, 1.0 / 3.0};
  static constexpr double skipped[4] = {0.0, 0.0, skip_penalty, 2 * skip_penalty};
  const std::size_t n = w.events.size();
  const double* time = w.events.time_s.data();
  w.own.resize(n);
  double* own = w.own.data();
  double mean_w = 0;
  for (std::size_t k = 0; k < n; ++k) {
    own[k] = w.events.salience[k];
    mean_w += own[k];
  }
  for (std::size_t k = 0; k < n; ++k) own[k] *= static_cast<double>(n) / mean_w;
  w.score.resize(n);
  w.from.resize(n);
  w.span.assign(n, 0);
  double* score = w.score.data();
  // Scores the predecessors [lo, hi) of an event at time tj into candidate[lo - first ...]; returns
  // their best, or `floor` if none beats it. The scores are independent of one another, and their
  // maximum is kept in four chains: no chain of dependent comparisons through the loop.
  const auto evaluate = [&](std::size_t lo, std::size_t hi, std::size_t first, double tj, double inv_period,
                            double own_j, double floor) {
    double* candidate = w.candidate.data() + (lo - first);
    const double* from_time = time + lo;
    const double* from_score = score + lo;
    const std::size_t count = hi - lo;
    for (std::size_t c = 0; c < count; ++c) {
      const double x = (tj - from_time[c]) * inv_period;
      // 0.65 <= x <= 3.45, so the cast gives 1, 2 or 3 beats without a call in the innermost loop.
      // Tables rather than branches: which way they would go is anyone's guess.
      const int beats = static_cast<int>(x + beat_rounding);
      // ln(x / beats) by its Taylor series around 1 (-0.35 <= e <= 0.55 here; error under 4 %).
      const double e = x * inv_beats[beats] - 1;
      const double ln = e * (1 - e * (0.5 - e * (1.0 / 3.0)));
      candidate[c] = from_score[c] - cost[ln < 0 ? 1 : 0] * ln * ln - skipped[beats] + own_j;
    }
    double top[4] = {floor, floor, floor, floor};
    std::size_t c = 0;
    for (; c + 4 <= count; c += 4) {
      for (std::size_t k = 0; k < 4; ++k) top[k] = std::max(top[k], candidate[c + k]);
    }
    for (; c < count; ++c) top[0] = std::max(top[0], candidate[c]);
    return std::max(std::max(top[0], top[1]), std::max(top[2], top[3]));
  };
  // Returns the best score in [lo, hi).
  const auto best_score = [&](std::size_t lo, std::size_t hi) {
    double top[2] = {-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    std::size_t c = lo;
    for (; c + 2 <= hi; c += 2) top[0] = std::max(top[0], score[c]), top[1] = std::max(top[1], score[c + 1]);
    if (c < hi) top[0] = std::max(top[0], score[c]);
    return std::max(top[0], top[1]);
  };
  // Moves `index` to the first event at or after time t (or after t, with `after`), t <= the current
  // event's time: a few steps without a branch first, as the index moves by about one event per event,
  // and a loop seldom needed after them.
  const auto seek = [time](std::size_t& index, double t, bool after) {
    for (int step = 0; step < 3; ++step) index += after ? time[index] <= t : time[index] < t;
    while (after ? time[index] <= t : time[index] < t) ++index;
    while (index > 0 && (after ? time[index - 1] > t : time[index - 1] >= t)) --index;
  };
  double gone_best = -std::numeric_limits<double>::infinity();  // best score before `gone`
  std::size_t gone = 0;                                         // events before it are out of reach
  std::size_t gone_from = 0;
  std::size_t best_end = 0;
  std::size_t first = 0;  // earliest predecessor within reach
  std::size_t three = 0;  // first predecessor that may span fewer than 3 beats
  std::size_t two = 0;    // first predecessor that may span 1 beat
  std::size_t last = 0;   // one past the latest predecessor
  for (std::size_t j = 0; j < n; ++j) {
    const double tj = time[j];
    const double period_s = expected.at(tj);
    const double inv_period = 1.0 / period_s;
    // Predecessors before `two` span 2 or 3 beats, those before `three` 3 (the margins of 0.05 beat keep
    // rounding out of it). Their score cannot exceed their chain's score minus the skip penalty, so a
    // group whose best chain falls short of the best found among later predecessors is not scored: the
    // same choice as scoring every predecessor, at a third of the cost, as chains a beat or two shorter
    // rarely win. Every index stops at j at the latest, as time[j] = tj is past every bound.
    seek(first, tj - 3.45 * period_s, false);
    seek(three, tj - 2.55 * period_s, false);
    seek(two, tj - 1.55 * period_s, false);
    seek(last, tj - 0.65 * period_s, true);
    if (w.candidate.size() < last - first) w.candidate.resize(std::max(last - first, 2 * w.candidate.size()));
    const double own_j = own[j];
    // After a rest, the chain may go on from the best chain out of reach instead of starting afresh.
    for (; gone < first; ++gone) {
      if (score[gone] > gone_best) gone_best = score[gone], gone_from = gone;
    }
    const bool after_rest = j > 0 && tj - time[j - 1] > bridge_rest_beats * period_s;
    const double bridged = after_rest ? gone_best - bridge_penalty + own_j : own_j;
    const double floor = std::max(own_j, bridged);
    double best = evaluate(two, last, first, tj, inv_period, own_j, floor);
    const bool with_two = two > three && best_score(three, two) - skipped[2] + own_j >= best;
    if (with_two) best = evaluate(three, two, first, tj, inv_period, own_j, best);
    const bool with_three = three > first && best_score(first, three) - skipped[3] + own_j >= best;
    if (with_three) best = evaluate(first, three, first, tj, inv_period, own_j, best);
    std::size_t best_from = j;
    if (best == floor && bridged > own_j) {
      best_from = gone_from;
      w.span[j] = bridge;
    } else if (best > own_j) {
      // The earliest predecessor that reaches the best, as a single pass keeping the best would choose.
      const double* candidate = w.candidate.data();
      const auto find = [&](std::size_t lo, std::size_t hi) {
        while (lo < hi && candidate[lo - first] != best) ++lo;
        return lo < hi ? lo : last;
      };
      best_from = with_three ? find(first, three) : last;
      if (best_from == last && with_two) best_from = find(three, two);
      if (best_from == last) best_from = find(two, last);
      const double x = (tj - time[best_from]) * inv_period;
      w.span[j] = static_cast<std::uint8_t>(x + beat_rounding);
    }
    score[j] = best;
    w.from[j] = static_cast<std::uint32_t>(best_from);
    if (best > score[best_end]) best_end = j;
  }
  std::vector<beat_step> steps;
  for (std::size_t j = best_end; w.span[j] != 0; j = w.from[j]) {
    if (w.span[j] == bridge) continue;
    const double beats = w.span[j];
    steps.push_back({time[j], (time[j] - time[w.from[j]]) / beats, beats, w.from[j], static_cast<std::uint32_t>(j)});
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

/// Moves all the events to `w.strong` and leaves in `w.events` the strong ones: those whose tracker weight
/// (salience) is at least strong_event_share of the mean. Only their times and saliences, all that the
/// tracker reads.
void keep_strong_events(workspace& w) {
  std::swap(w.events, w.strong);
  const onset_events& all = w.strong;
  onset_events& strong = w.events;
  double mean = 0;
  for (std::size_t k = 0; k < all.size(); ++k) mean += all.salience[k];
  mean /= static_cast<double>(std::max<std::size_t>(all.size(), 1));
  // Every event is written at slot `kept`, which moves on past the strong ones: no branch per event.
  strong.time_s.resize(all.size());
  strong.weight.clear();
  strong.bass.clear();
  strong.salience.resize(all.size());
  std::size_t kept = 0;
  for (std::size_t k = 0; k < all.size(); ++k) {
    strong.time_s[kept] = all.time_s[k];
    strong.salience[kept] = all.salience[k];
    kept += all.salience[k] >= strong_event_share * mean ? 1 : 0;
  }
  strong.time_s.resize(kept);
  strong.salience.resize(kept);
}

/// Returns the local tempo curve of a chain: at each step, the median period of the steps within
/// `reach` steps of it.
std::vector<std::pair<double, double>> local_periods(const std::vector<beat_step>& steps, std::size_t reach) {
  std::vector<std::pair<double, double>> knots;
  knots.reserve(steps.size());
  // The window's periods kept sorted as it slides: one insertion and one removal a step, instead of a
  // selection over the whole window.
  std::vector<double> window;
  std::size_t b = 0;  // one past the last step in the window
  for (std::size_t k = 0; k < steps.size(); ++k) {
    for (; b < std::min(steps.size(), k + reach + 1); ++b) {
      const double p = steps[b].period_s;
      window.insert(std::upper_bound(window.begin(), window.end(), p), p);
    }
    if (k > reach) {
      const double p = steps[k - reach - 1].period_s;
      window.erase(std::lower_bound(window.begin(), window.end(), p));
    }
    knots.emplace_back(steps[k].time_s, window[window.size() / 2]);
  }
  return knots;
}

/// Returns the lower median of `values` (the element at (size - 1) / 2 in sorted order), which it
/// reorders (with `band` as scratch); 0 if empty. O(n): a selection, not a sort.
double lower_median(std::vector<double>& values, std::vector<double>& band) {
  if (values.empty()) return 0;
  return detail::select_order_pair(values, (values.size() - 1) / 2, band).at;
}

/// Returns the level model's features of beat period t (tempo_candidate::features), from the smoothed
/// histograms and the event rate that analyse left in `w`.
std::array<double, tempo_feature_count> level_features(double t, const workspace& w) {
  const auto a = [&](double lag) { return at_lag(w.smoothed, lag) / w.a_max; };
  const auto s = [&](double lag) { return at_lag(w.smoothed_bass, lag) / w.bass_max; };
  const double z = std::log2(t / 0.6);
  const double u = std::log2(t * w.event_rate_hz);
  const double r = std::log2(w.event_rate_hz / 4.0);
  return {z,    z * z,    a(t),     a(2 * t), a(3 * t), a(t / 2), a(t / 3), a(1.5 * t), a(2 * t / 3),
          s(t), s(2 * t), s(3 * t), u * u,    z * r,    a(4 * t), s(t / 2)};
}

/// Merges the onsets into `w.events` and returns the metrical-level candidates, most probable first.
std::vector<tempo_candidate> analyse(const tempo_notes& notes, const tempo_options& options, workspace& w) {
  std::vector<tempo_candidate> candidates;
  merge_onsets(notes, options.merge_window_s, w);
  weigh_events(options.event_model, w);
  const std::size_t event_count = w.events.size();
  if (event_count < 3) return candidates;
  const double span = w.events.time_s.back() - w.events.time_s.front();
  if (!(span > min_lag_s)) return candidates;
  const double max_lag = std::clamp(options.max_lag_s, 0.5, 16.0);
  measure_lags(max_lag, w);
  std::unique_ptr<smoothing_kernel> own_kernel;
  smooth(kernel_for(w.lags.size() / 2, own_kernel), w);
  const std::vector<double>& all = w.smoothed;
  const std::vector<double>& bass = w.smoothed_bass;

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
  if (!(a_max > 0)) return candidates;
  if (!(bass_max > 0)) bass_max = 1;
  w.a_max = a_max;
  w.bass_max = bass_max;
  w.event_rate_hz = static_cast<double>(event_count) / std::max(span, 1.0);

  // Candidates: the local maxima of the smoothed histogram in the tempo range.
  for (std::size_t b = b_lo; b <= b_hi; ++b) {
    const double y = all[b];
    if (!(y >= all[b - 1] && y > all[b + 1] && y > 0.05 * a_max)) continue;
    tempo_candidate c;
    const double t = refine_peak(all, b);
    c.beat_period_s = t;
    c.salience = at_lag(all, t) / a_max;
    c.features = level_features(t, w);
    candidates.push_back(c);
  }
  // Scores, softmax, most probable first.
  double top = -1e300;
  std::vector<double> score(candidates.size());
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    score[k] = std::inner_product(candidates[k].features.begin(), candidates[k].features.end(),
                                  options.level_model.begin(), 0.0);
    top = std::max(top, score[k]);
  }
  double sum = 0;
  for (double s : score) sum += std::exp(s - top);
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    candidates[k].probability = std::exp(score[k] - top) / sum;
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const tempo_candidate& x, const tempo_candidate& y) { return x.probability > y.probability; });
  return candidates;
}

}  // namespace

const tempo_event_model& default_tempo_event_model() noexcept {
  // Fitted on the events of all 886 ASAP performances by bench/eval/fit_event_model.py (an event is a
  // beat within 50 ms of an annotated one); docs/tempo_key.md reports the figures of models fitted with
  // each piece held out.
  static constexpr tempo_event_model model{
      -0.86763,   -1.56332,   -0.183078,  1.43026,    -2.55466,   0.692842,   0.186493,   0.0644178,  -0.252696,
      0.558301,   -0.0298226, 0.266516,   0.338411,   0.206104,   1.0959,     2.43256,    -0.0650894, -2.5323,
      -0.448937,  2.70203,    -3.03091,   0.803654,   0.596604,   0.0679533,  -0.216817,  1.69839,    0.237151,
      0.049722,   -0.105152,  0.0487357,  0.553172,   1.03139,    -0.0661242, -0.183078,  0.404585,   -1.1737,
      0.0587265,  0.121341,   -0.10658,   -0.0637595, 0.320189,   0.19713,    -0.0322104, 0.194958,   -0.126423,
      0.0881098,  0.0104387,  0.0690795,  -0.800957,  3.1098,     -0.134893,  -0.375129,  0.400063,   0.534271,
      -0.985251,  -0.330976,  0.10223,    0.0628579,  0.0211827,  -0.872064,  -1.37305,   -0.0554287, -2.606,
      -0.649859,  -0.641651,  -1.46307,   -1.36506,   -0.658149,  0.490451,   0.0370046,  0.061143,   0.21395,
      1.7301,     4.09389,    0.533277,   0.0827209,  0.0945187,  -0.126067,  0.0767094,  0.195648,   0.118249,
      0.0273781,  -0.074617,  0.0706322,  0.279354,   -0.702738,  -0.0375786, 0.194553,   -0.140686,  0.275804,
      0.152111,   0.177792,   -0.104852,  -0.0330228, 0.012901,   0.29711,    -0.19321,   -0.0618857, -0.0893948,
      -0.245168,  0.173785,   0.165912,   0.00690626, -0.0413661, 0.118451,   0.0785149,  -0.045313,  0.149706,
      -0.252696,  0.28413,    0.142301,   -0.106371,  0.0701616,  0.0882096,  0.0453049,  0.139664,   -0.0650894,
      0.165186,   -0.0966667, 0.0122108,  0.103052,   -0.214972,  -0.0662005, -0.283301,  -0.168908,  0.016132,
      -0.0314951, 0.0337152,  0.00972126, -0.1483,    0.174851,   -0.0166192, 0.043579,   -0.0297002, 0.0296152,
      -0.0335671, -0.252952,  0.0153657,  -0.0416716, 0.188932,   -0.194713,  0.292843,   -0.0169753, 0.0130309,
      0.039792,   -0.0460553, -0.0222357, -0.436986,  -0.0416026, 0.0220691,  -1.52552,   -0.0148048, -0.0664094,
  };
  return model;
}

const tempo_level_model& default_tempo_level_model() noexcept {
  // Fitted on all 886 ASAP performances and their 30 s windows by bench/eval/tempo_key_eval (softmax over
  // candidates, target: the candidates within 4 % of the annotated tempo); docs/tempo_key.md reports
  // the figures of models fitted with each piece held out.
  static constexpr tempo_level_model model{0.9492,  -0.7396, 4.3788, 1.2288, 0.3905,  1.2613,  1.4309, -1.1129,
                                           -0.7502, 0.5868,  0.7263, 0.0057, -0.0395, -1.1538, 0.0196, 0.1387};
  return model;
}

std::vector<tempo_candidate> tempo_candidates(const tempo_notes& notes, const tempo_options& options) {
  return analyse(notes, options, thread_workspace());
}

namespace {

/// Tracks the beat at the most probable candidate's period and fills `out` (beat_period_s and bpm of the
/// tracked chain, tempo_spread, beat_count, confidence) and `w.beats`; returns whether the chain spans
/// 4 beats or more (else `out` holds the candidate's period).
bool track(const tempo_candidate& best, workspace& w, tempo_estimate& out) {
  double period = best.beat_period_s;
  // Track at the chosen period on the strong events (on all of them if the strong ones are too few to
  // make a chain: a bass note every bar of three beats), then on all of them following the local tempo
  // of the first chain.
  keep_strong_events(w);
  std::vector<beat_step> steps;
  if (w.events.size() >= 3) steps = track_beats(period_curve(period), tracking_tightness, w);
  std::swap(w.events, w.strong);
  if (steps.size() < 8) steps = track_beats(period_curve(period), tracking_tightness, w);
  if (steps.size() >= 8) {
    steps = track_beats(period_curve(local_periods(steps, 4)), tracking_tightness, w);
    // The beats, skipped ones (between notes) included; w.own holds the weights of the last pass's events.
    w.beats.clear();
    for (std::size_t k = 0; k < steps.size(); ++k) {
      const beat_step& st = steps[k];
      const double t0 = w.events.time_s[st.from];
      if (k == 0 || steps[k - 1].to != st.from) {
        w.beats.emplace_back(-1.0, 0.0);  // a segment starts (after a bridge)
        w.beats.emplace_back(t0, w.own[st.from]);
      }
      const auto m = static_cast<int>(st.beats);
      for (int q = 1; q < m; ++q) w.beats.emplace_back(t0 + q * st.period_s, 0.0);
      w.beats.emplace_back(st.time_s, w.own[st.to]);
    }
  } else {
    w.beats.clear();
  }
  double beats = 0;
  for (const auto& s : steps) beats += s.beats;
  out.beat_count = steps.empty() ? 0 : static_cast<std::size_t>(beats) + 1;
  if (beats >= 4) {
    // Mean periods over runs of about `run` beats, so that a beat placed one note early and the next
    // one note late do not pull the median; then their median. A run spanning m beats counts m times
    // (a skipped beat is still a beat), so that the median is the median over beats.
    std::vector<double> periods;
    periods.reserve(static_cast<std::size_t>(beats));
    constexpr std::size_t run = 4;
    for (std::size_t k = 0; k < steps.size(); ++k) {
      const std::size_t end = std::min(steps.size(), k + run);
      double t = 0;
      double b = 0;
      for (std::size_t m = k; m < end; ++m) t += steps[m].period_s * steps[m].beats, b += steps[m].beats;
      periods.insert(periods.end(), static_cast<std::size_t>(steps[k].beats), t / b);
      if (end == steps.size()) break;
    }
    period = lower_median(periods, w.band);
    // Robust spread of ln(inter-beat interval): 1.4826 x the median absolute deviation.
    const double ln_med = std::log(period);
    for (double& p : periods) p = std::abs(std::log(p) - ln_med);
    out.tempo_spread = 1.4826 * lower_median(periods, w.band);
  }
  out.beat_period_s = period;
  out.bpm = 60.0 / period;
  out.confidence = std::clamp(best.probability, 0.0, 1.0);
  return beats >= 4;
}

/// Meter evidence from the tracked beats `w.beats` and the events between them (tempo_level_choice::
/// features): how much stronger one beat in 2 and one in 3 is than the others, over blocks of 12 beats,
/// and the shares of the events inside the beats that lie near their half and near their thirds.
/// (One beat in 4, the share of the beats on an event and the tempo spread added nothing on ASAP.)
std::array<double, meter_feature_count> meter_features(const workspace& w) {
  const auto& beats = w.beats;
  const double* time = w.events.time_s.data();
  const double* own = w.own.data();
  const std::size_t n = w.events.size();
  double contrast[2] = {0, 0};
  double blocks = 0;
  double inside = 0;
  double near_half = 0;
  double near_third = 0;
  std::size_t e = 0;
  std::size_t seg = 0;  // start of the current segment in `beats`
  for (std::size_t k = 0; k < beats.size(); ++k) {
    if (beats[k].first < 0) {
      seg = k + 1;
      continue;
    }
    // A full block of 12 beats ends here.
    if ((k + 1 - seg) % 12 == 0) {
      double sum = 0;
      double phase2[2] = {};
      double phase3[3] = {};
      for (std::size_t q = 0; q < 12; ++q) {
        const double v = beats[k - 11 + q].second;
        sum += v;
        phase2[q % 2] += v;
        phase3[q % 3] += v;
      }
      if (sum > 0) {
        const double mean = sum / 12;
        contrast[0] += std::max(phase2[0], phase2[1]) / 6 / mean - 1;
        contrast[1] += std::max({phase3[0], phase3[1], phase3[2]}) / 4 / mean - 1;
        blocks += 1;
      }
    }
    if (k + 1 >= beats.size() || beats[k + 1].first < 0) continue;
    const double a = beats[k].first;
    const double d = beats[k + 1].first - a;
    if (!(d > 0)) continue;
    while (e < n && time[e] <= a + 0.1 * d) ++e;
    for (std::size_t f = e; f < n && time[f] < a + 0.9 * d; ++f) {
      const double x = (time[f] - a) / d;
      inside += own[f];
      if (std::abs(x - 0.5) < 0.08) near_half += own[f];
      if (std::abs(x - 1.0 / 3.0) < 0.06 || std::abs(x - 2.0 / 3.0) < 0.06) near_third += own[f];
    }
  }
  for (double& c : contrast) c = blocks > 0 ? c / blocks : 0.0;
  return {contrast[0], contrast[1], inside > 0 ? near_half / inside : 0.0, inside > 0 ? near_third / inside : 0.0};
}

/// Returns the metrical levels at the multiples of the tracked period `period_s` that lie in the
/// options' tempo range, in the order of tempo_level_multiples, with their features and probabilities.
std::vector<tempo_level_choice> level_choices(double period_s, const tempo_options& options, const workspace& w) {
  std::vector<tempo_level_choice> choices;
  const double lo = 60.0 / std::max(options.max_bpm, 1.0);
  const double hi = 60.0 / std::max(options.min_bpm, 1.0);
  const std::array<double, meter_feature_count> meter = meter_features(w);
  constexpr std::size_t levels = tempo_level_multiples.size();
  for (std::size_t k = 0; k < levels; ++k) {
    const double t = period_s * tempo_level_multiples[k];
    if (k > 0 && (t < lo || t > hi)) continue;
    tempo_level_choice c;
    c.multiple = tempo_level_multiples[k];
    c.beat_period_s = t;
    const auto f = level_features(t, w);
    std::copy(f.begin(), f.end(), c.features.begin());
    c.features[tempo_feature_count + k] = 1;
    for (std::size_t m = 0; m < meter.size(); ++m) c.features[tempo_feature_count + levels * (1 + m) + k] = meter[m];
    choices.push_back(c);
  }
  double top = -std::numeric_limits<double>::infinity();
  std::vector<double> score(choices.size());
  for (std::size_t k = 0; k < choices.size(); ++k) {
    score[k] = std::inner_product(choices[k].features.begin(), choices[k].features.end(), options.choice_model.begin(),
                                  0.0);
    top = std::max(top, score[k]);
  }
  double sum = 0;
  for (const double v : score) sum += std::exp(v - top);
  for (std::size_t k = 0; k < choices.size(); ++k) choices[k].probability = std::exp(score[k] - top) / sum;
  return choices;
}

}  // namespace

const tempo_choice_model& default_tempo_choice_model() noexcept {
  // Fitted on all 886 ASAP performances and their 30 s windows by bench/eval/tempo_key_eval, with the
  // default level model (softmax over the choices, target: the choices within 4 % of the annotated
  // tempo; L2 3e-2); docs/tempo_key.md reports the figures of models fitted with each piece held out.
  static constexpr tempo_choice_model model{0.1468,  -0.5002, 2.7133,  1.0074,  0.1061,  1.0749,  1.0951,  0.0459,
                                            0.3089,  0.7664,  0.4726,  0.3081,  -0.0683, -0.5746, 0.3630,  0.2716,
                                            0.7563,  -0.2205, -0.1592, 0.0594,  0.8302,  -0.5752, -0.6198, 2.4192,
                                            4.1934,  3.1093,  -0.0702, -5.8816, -0.5075, -3.4867, -0.6498, -0.9340,
                                            -4.1176, -1.0924, 1.7652,  1.1860,  3.4550,  -1.1194, -1.0444, 2.2989,
                                            -0.2640, 0.7047,  -1.4072, 0.4256,  0.4293,  -0.5341, 0.7534,  0.8556,
                                            0.3867,  -0.9266, -0.6016};
  return model;
}

std::vector<tempo_level_choice> tempo_level_choices(const tempo_notes& notes, const tempo_options& options) {
  workspace& w = thread_workspace();
  const std::vector<tempo_candidate> candidates = analyse(notes, options, w);
  tempo_estimate out;
  if (candidates.empty() || !track(candidates.front(), w, out)) return {};
  return level_choices(out.beat_period_s, options, w);
}

tempo_estimate estimate_tempo(const tempo_notes& notes, const tempo_options& options) {
  tempo_estimate out;
  workspace& w = thread_workspace();
  const std::vector<tempo_candidate> candidates = analyse(notes, options, w);
  out.event_count = w.events.size();
  if (candidates.empty() || !track(candidates.front(), w, out)) return out;
  // The first choice with the highest probability: the tracked level itself when the model is all zeros.
  const std::vector<tempo_level_choice> choices = level_choices(out.beat_period_s, options, w);
  const auto chosen = std::max_element(choices.begin(), choices.end(),
                                       [](const auto& x, const auto& y) { return x.probability < y.probability; });
  if (chosen->multiple != 1.0) {
    out.beat_period_s = chosen->beat_period_s;
    out.bpm = 60.0 / chosen->beat_period_s;
    out.beat_count = static_cast<std::size_t>(std::lround(static_cast<double>(out.beat_count) / chosen->multiple));
  }
  return out;
}

tempo_notes tempo_notes::of(const note_columns& notes, std::size_t first, std::size_t last) {
  detail::require_note_seconds(notes, "continuo::tempo_notes::of");
  last = std::min(last, notes.size());
  first = std::min(first, last);
  const std::size_t n = last - first;
  return {std::span(notes.onset_s).subspan(first, n), std::span(notes.offset_s).subspan(first, n),
          std::span(notes.velocity).subspan(first, n), std::span(notes.pitch).subspan(first, n)};
}

tempo_estimate estimate_tempo(const note_columns& notes, std::size_t first, std::size_t last,
                              const tempo_options& options) {
  return estimate_tempo(tempo_notes::of(notes, first, last), options);
}

tempo_estimate estimate_tempo(const note_columns& notes, const tempo_options& options) {
  return estimate_tempo(notes, 0, notes.size(), options);
}

std::vector<tempo_event> tempo_events(const tempo_notes& notes, const tempo_options& options) {
  workspace& w = thread_workspace();
  merge_onsets(notes, options.merge_window_s, w);
  weigh_events(options.event_model, w);
  if (!w.lengths_known) sum_context(w);
  std::vector<tempo_event> events(w.events.size());
  for (std::size_t e = 0; e < events.size(); ++e) {
    events[e].time_s = w.events.time_s[e];
    event_features(w, e, events[e].features.data());
    events[e].salience = w.events.salience[e];
  }
  return events;
}

}  // namespace continuo

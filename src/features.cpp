#include <continuo/features.hpp>

#include "features/order_statistics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

namespace continuo {
namespace {

/// One scalar of practice_features, for the vector and its names.
struct scalar_field {
  std::string_view name;
  double practice_features::*member;
};

constexpr scalar_field scalars[] = {
    {"playing_time_s", &practice_features::playing_time_s},
    {"note_count", &practice_features::note_count},
    {"notes_per_second", &practice_features::notes_per_second},
    {"pitch_min", &practice_features::pitch_min},
    {"pitch_max", &practice_features::pitch_max},
    {"pitch_range", &practice_features::pitch_range},
    {"pitch_mean", &practice_features::pitch_mean},
    {"velocity_mean", &practice_features::velocity_mean},
    {"velocity_std", &practice_features::velocity_std},
    {"velocity_min", &practice_features::velocity_min},
    {"velocity_max", &practice_features::velocity_max},
    {"articulation", &practice_features::articulation},
    {"sustain_fraction", &practice_features::sustain_fraction},
    {"pedal_presses_per_minute", &practice_features::pedal_presses_per_minute},
    {"polyphony_mean", &practice_features::polyphony_mean},
    {"polyphony_max", &practice_features::polyphony_max},
    {"chord_count", &practice_features::chord_count},
    {"chord_size_mean", &practice_features::chord_size_mean},
    {"ioi_median_s", &practice_features::ioi_median_s},
    {"ioi_cv", &practice_features::ioi_cv},
    {"beat_period_s", &practice_features::beat_period_s},
    {"tempo_confidence", &practice_features::tempo_confidence},
    {"tempo_spread", &practice_features::tempo_spread},
    {"key_sharps", &practice_features::key_sharps},
    {"key_minor", &practice_features::key_minor},
    {"key_confidence", &practice_features::key_confidence},
};
constexpr std::size_t scalar_count = std::size(scalars);

constexpr std::array<std::string_view, scalar_count + 12> all_names = [] {
  std::array<std::string_view, scalar_count + 12> names{};
  for (std::size_t i = 0; i < scalar_count; ++i) names[i] = scalars[i].name;
  constexpr std::string_view pitch_classes[] = {"pitch_class_0", "pitch_class_1", "pitch_class_2",  "pitch_class_3",
                                                "pitch_class_4", "pitch_class_5", "pitch_class_6",  "pitch_class_7",
                                                "pitch_class_8", "pitch_class_9", "pitch_class_10", "pitch_class_11"};
  for (std::size_t i = 0; i < 12; ++i) names[scalar_count + i] = pitch_classes[i];
  return names;
}();

/// Returns the median of `values` (reordering them, with `band` as scratch); 0 when empty.
double median(std::vector<double>& values, std::vector<double>& band) {
  if (values.empty()) return 0;
  const detail::order_pair middle = detail::select_order_pair(values, values.size() / 2, band);
  if (values.size() % 2 == 1) return middle.at;
  return (middle.at + middle.before) / 2;
}

/// Buffers that compute_features reuses from call to call on a thread: on an attempt or a window of a
/// few hundred notes, allocating them anew costs as much as filling them.
struct scratch {
  std::vector<std::pair<double, double>> sustain;
  std::vector<double> chord_onsets;
  std::vector<double> iois;
  std::vector<double> ratios;
  std::vector<double> held;
  std::vector<double> band;  ///< For median.
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

}  // namespace

std::span<const std::string_view> feature_names() noexcept { return all_names; }

std::vector<double> to_vector(const practice_features& f) {
  std::vector<double> out;
  out.reserve(all_names.size());
  for (const auto& s : scalars) out.push_back(f.*s.member);
  out.insert(out.end(), f.pitch_class_histogram.begin(), f.pitch_class_histogram.end());
  return out;
}

practice_features compute_features(const performance& perf, const attempt_span& attempt,
                                   const feature_options& options) {
  return compute_features(perf, attempt.first_note, attempt.note_count, attempt.start_s(), attempt.end_s(), options);
}

practice_features compute_features(const performance& perf, std::size_t first_note, std::size_t note_count,
                                   double start_s, double end_s, const feature_options& options) {
  detail::require_note_seconds(perf.notes, "continuo::compute_features");
  practice_features f;
  const auto& n = perf.notes;
  const std::size_t first = std::min(first_note, n.size());
  const std::size_t last = std::min(first + note_count, n.size());
  const std::size_t count = last - first;
  f.playing_time_s = std::max(0.0, end_s - start_s);
  f.note_count = static_cast<double>(count);

  scratch& buffers = thread_scratch();
  // Pedal use inside [start_s, end_s]: sustain spans of any channel, merged.
  auto& sustain = buffers.sustain;
  sustain.clear();
  for (const auto& p : perf.pedals) {
    if (p.kind != pedal_kind::sustain || p.offset_s <= start_s || p.onset_s >= end_s) continue;
    sustain.emplace_back(std::max(p.onset_s, start_s), std::min(p.offset_s, end_s));
    if (p.onset_s >= start_s) f.pedal_presses_per_minute += 1;
  }
  std::sort(sustain.begin(), sustain.end());
  double held_s = 0;
  double covered_to = start_s;
  for (const auto& [from, to] : sustain) {
    held_s += std::max(0.0, to - std::max(from, covered_to));
    covered_to = std::max(covered_to, to);
  }
  if (f.playing_time_s > 0) {
    f.notes_per_second = f.note_count / f.playing_time_s;
    f.sustain_fraction = held_s / f.playing_time_s;
    f.pedal_presses_per_minute *= 60.0 / f.playing_time_s;
  } else {
    f.pedal_presses_per_minute = 0;
  }
  if (count == 0) return f;

  // Pitch and velocity, summed as integers: exact, as the sums of doubles they replace were, and the
  // loop vectorises.
  std::uint64_t pitch_sum = 0;
  std::uint64_t velocity_sum = 0;
  std::uint64_t velocity_squares = 0;
  std::uint8_t pitch_min = 127;
  std::uint8_t pitch_max = 0;
  std::uint8_t velocity_min = 127;
  std::uint8_t velocity_max = 0;
  for (std::size_t i = first; i < last; ++i) {
    const std::uint8_t pitch = n.pitch[i];
    const std::uint8_t velocity = n.velocity[i];
    pitch_sum += pitch;
    pitch_min = std::min(pitch_min, pitch);
    pitch_max = std::max(pitch_max, pitch);
    velocity_sum += velocity;
    velocity_squares += static_cast<std::uint64_t>(velocity) * velocity;
    velocity_min = std::min(velocity_min, velocity);
    velocity_max = std::max(velocity_max, velocity);
  }
  std::array<std::uint32_t, 12> pitch_classes{};
  for (std::size_t i = first; i < last; ++i) ++pitch_classes[n.pitch[i] % 12];
  const double c = f.note_count;
  f.pitch_min = pitch_min;
  f.pitch_max = pitch_max;
  f.pitch_mean = static_cast<double>(pitch_sum) / c;
  f.pitch_range = f.pitch_max - f.pitch_min;
  for (std::size_t k = 0; k < 12; ++k) f.pitch_class_histogram[k] = pitch_classes[k] / c;
  f.velocity_min = velocity_min;
  f.velocity_max = velocity_max;
  f.velocity_mean = static_cast<double>(velocity_sum) / c;
  f.velocity_std = std::sqrt(
      std::max(0.0, static_cast<double>(velocity_squares) / c - f.velocity_mean * f.velocity_mean));

  // Chords: onsets (sorted, as notes are) within chord_window_s of a chord's first onset. Written
  // without a branch: whether a note starts a chord is anyone's guess.
  auto& chord_onsets = buffers.chord_onsets;
  chord_onsets.resize(count);
  chord_onsets[0] = n.onset_s[first];
  std::size_t chords = 1;
  for (std::size_t i = first + 1; i < last; ++i) {
    const double onset = n.onset_s[i];
    const bool starts = onset - chord_onsets[chords - 1] >= options.chord_window_s;
    chord_onsets[chords] = onset;
    chords += starts ? 1 : 0;
  }
  chord_onsets.resize(chords);
  f.chord_count = static_cast<double>(chords);
  f.chord_size_mean = c / f.chord_count;
  auto& iois = buffers.iois;
  iois.resize(chords - 1);
  double ioi_sum = 0;
  for (std::size_t k = 1; k < chords; ++k) {
    iois[k - 1] = chord_onsets[k] - chord_onsets[k - 1];
    ioi_sum += iois[k - 1];
  }
  if (!iois.empty()) {
    const double mean = ioi_sum / static_cast<double>(iois.size());
    double squares = 0;
    for (const double d : iois) squares += (d - mean) * (d - mean);
    f.ioi_cv = mean > 0 ? std::sqrt(squares / static_cast<double>(iois.size())) / mean : 0;
    f.ioi_median_s = median(iois, buffers.band);
  }

  // Articulation: each note's duration over the time to the first chord after its onset (the next
  // chord after its own). The next chord is at most one chord on for a note of the same chord or the
  // next, so one step without a branch nearly always finds it.
  auto& ratios = buffers.ratios;
  ratios.resize(count);
  std::size_t ratio_count = 0;
  for (std::size_t i = first, next = 1; i < last; ++i) {
    const double onset = n.onset_s[i];
    next += next < chords && chord_onsets[next] <= onset ? 1 : 0;
    while (next < chords && chord_onsets[next] <= onset) ++next;
    if (next >= chords) break;
    const double gap = chord_onsets[next] - onset;
    ratios[ratio_count] = (n.offset_s[i] - onset) / gap;
    ratio_count += gap > 0 ? 1 : 0;
  }
  ratios.resize(ratio_count);
  f.articulation = median(ratios, buffers.band);

  // Polyphony. ∫ sounding(t) dt is the sum of the notes' durations; ∫ [sounding(t) > 0] dt is the length
  // of the union of their spans, swept in onset order (notes are sorted by onset); the most notes
  // sounding at once is the largest number of earlier notes still held at some note's onset, kept in a
  // min-heap of offsets (a note released at the instant another starts no longer sounds).
  double weighted = 0;
  double sounding_time = 0;
  double union_end = -std::numeric_limits<double>::infinity();
  auto& held = buffers.held;  // offsets of the notes sounding, as a min-heap
  held.clear();
  for (std::size_t i = first; i < last; ++i) {
    const double on = n.onset_s[i];
    const double off = n.offset_s[i];
    if (!(off > on)) continue;  // a note of no duration never sounds
    weighted += off - on;
    sounding_time += std::max(0.0, off - std::max(on, union_end));
    union_end = std::max(union_end, off);
    while (!held.empty() && held.front() <= on) {
      std::pop_heap(held.begin(), held.end(), std::greater<>{});
      held.pop_back();
    }
    held.push_back(off);
    std::push_heap(held.begin(), held.end(), std::greater<>{});
    f.polyphony_max = std::max(f.polyphony_max, static_cast<double>(held.size()));
  }
  f.polyphony_mean = sounding_time > 0 ? weighted / sounding_time : f.polyphony_max;

  const auto tempo = estimate_tempo(n, first, last, options.tempo);
  f.beat_period_s = tempo.beat_period_s;
  f.tempo_confidence = tempo.confidence;
  f.tempo_spread = tempo.tempo_spread;
  const auto key = estimate_key(n, first, last, options.key);
  f.key_sharps = key.sharps;
  f.key_minor = key.minor ? 1 : 0;
  f.key_confidence = key.confidence;
  return f;
}

}  // namespace continuo

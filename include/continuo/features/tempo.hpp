#pragma once
/// \file Beat period (tempo) and tempo steadiness of a performance, from its note onsets alone.
///
/// No score and no tempo map is used: only when notes start, how loud, and how many sound together.
/// Onsets are merged into events, the events' weighted inter-onset intervals give a lag histogram
/// (an autocorrelation of the onset train), a comb over its multiples gives the salience of each beat
/// period, and a small linear model, fitted on annotated performances, picks among the metrical levels
/// (bar, beat, half beat, ...) the one a score would call the beat. docs/tempo_key.md gives the formulas
/// and the accuracy on the ASAP corpus.

#include <continuo/performance.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace continuo {

/// Number of features of a metrical-level candidate (see tempo_candidate::features).
inline constexpr std::size_t tempo_feature_count = 12;

/// Weights of the linear model that scores metrical-level candidates.
using tempo_level_model = std::array<double, tempo_feature_count>;

/// The weights fitted on ASAP (docs/tempo_key.md says how); the default of tempo_options::level_model.
[[nodiscard]] const tempo_level_model& default_tempo_level_model() noexcept;

/// How to estimate the beat period. The defaults are the ones measured in docs/tempo_key.md.
struct tempo_options {
  /// Onsets closer than this to the first onset of an event join it (a chord, a rolled chord).
  seconds_t merge_window_s = 0.05;
  /// Slowest and fastest beat considered, in beats per minute.
  double min_bpm = 20;
  double max_bpm = 330;
  /// Lags longer than this are not measured (bounds the cost: O(events x events within this lag)).
  seconds_t max_lag_s = 4.0;
  /// Local beat periods are measured in windows of this length (hop: half of it) for the final estimate
  /// and for tempo_estimate::tempo_spread.
  seconds_t local_window_s = 8.0;
  /// Scores metrical-level candidates: score = model · features (softmax over candidates).
  tempo_level_model level_model = default_tempo_level_model();
};

/// One metrical-level candidate: a beat period and the features the level model scores.
struct tempo_candidate {
  seconds_t beat_period_s = 0;
  double salience = 0;  ///< Comb salience relative to the strongest period, in (0, 1].
  /// Features (unitless): see docs/tempo_key.md, "Choosing the metrical level".
  std::array<double, tempo_feature_count> features{};
  double probability = 0;  ///< Softmax of the level model's scores over the candidates.
};

/// The estimated beat of notes.
struct tempo_estimate {
  seconds_t beat_period_s = 0;  ///< Seconds per beat; 0 when there is no estimate.
  double bpm = 0;               ///< 60 / beat_period_s; 0 when there is no estimate.
  double confidence = 0;        ///< In [0, 1]: the level model's probability of the chosen level.
  /// Tempo steadiness: the standard deviation of ln(local beat period) over the windows of
  /// tempo_options::local_window_s (≈ relative spread: 0.05 means local tempi vary by about 5 %).
  /// 0 for a metronomic performance, and when there are fewer than two windows.
  double tempo_spread = 0;
  std::size_t event_count = 0;  ///< Onset events (merged chords) used.
  friend constexpr bool operator==(const tempo_estimate&, const tempo_estimate&) = default;
};

/// Returns the beat of notes [first, last) of `notes` (clamped to notes.size()); notes must be sorted
/// by onset, as read_performance returns them. O(n·k) for n notes and k events within max_lag_s.
[[nodiscard]] tempo_estimate estimate_tempo(const note_columns& notes, std::size_t first, std::size_t last,
                                            const tempo_options& options = {});

/// Returns the beat of all the notes.
[[nodiscard]] tempo_estimate estimate_tempo(const note_columns& notes, const tempo_options& options = {});

/// Returns the beat of onsets (seconds, non-decreasing) with their velocities (1-127), same length.
[[nodiscard]] tempo_estimate estimate_tempo(std::span<const seconds_t> onset_s,
                                            std::span<const std::uint8_t> velocity,
                                            const tempo_options& options = {});

/// Returns the metrical-level candidates that estimate_tempo chooses from, best first; for inspection
/// and for fitting tempo_options::level_model.
[[nodiscard]] std::vector<tempo_candidate> tempo_candidates(std::span<const seconds_t> onset_s,
                                                            std::span<const std::uint8_t> velocity,
                                                            const tempo_options& options = {});

}  // namespace continuo

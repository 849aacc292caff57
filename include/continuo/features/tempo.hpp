#pragma once
/// \file Beat period (tempo) and tempo steadiness of a performance, from its notes alone.
///
/// No score and no tempo map is used: only when notes start, how long and how loud they are and which
/// is lowest. Onsets are merged into events; a small model fitted on annotated performances gives each
/// event the probability that a beat falls on it, from the event and its neighbours (its loudness,
/// size, length, the intervals around it); the intervals between all pairs of events, weighted by these
/// probabilities, give a lag histogram (the autocorrelation of the onset train); its peaks are the
/// candidate beat periods; a small linear model fitted on annotated performances picks among them the
/// metrical level (bar, beat, half beat, ...) a score would call the beat; a dynamic-programming beat
/// tracker follows that beat through the notes, and the median of its inter-beat intervals is the
/// tracked period; a second linear model, which also sees meter evidence from the tracked beats,
/// chooses the beat among multiples of that period (x 1, 1/2, 2, 1/3, 3, 2/3, 3/2). docs/tempo_key.md
/// gives the formulas and the accuracy on the ASAP corpus.

#include <continuo/performance.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace continuo {

/// Number of features of a metrical-level candidate (see tempo_candidate::features).
inline constexpr std::size_t tempo_feature_count = 16;

/// Weights of the linear model that scores metrical-level candidates.
using tempo_level_model = std::array<double, tempo_feature_count>;

/// The weights fitted on ASAP (docs/tempo_key.md says how); the default of tempo_options::level_model.
[[nodiscard]] const tempo_level_model& default_tempo_level_model() noexcept;

/// Number of features of an onset event (see tempo_event::features).
inline constexpr std::size_t tempo_event_feature_count = 16;

/// Weights of the logistic model that gives each event its beat probability: a bias, one weight per
/// feature, then one per product of two features (x_i x_j for i <= j, in row order).
using tempo_event_model =
    std::array<double, 1 + tempo_event_feature_count + tempo_event_feature_count*(tempo_event_feature_count + 1) / 2>;

/// The weights fitted on ASAP (docs/tempo_key.md says how); the default of tempo_options::event_model.
[[nodiscard]] const tempo_event_model& default_tempo_event_model() noexcept;

/// Multiples of the tracked beat period among which a second model chooses the metrical level, the
/// tracked level itself first.
inline constexpr std::array<double, 7> tempo_level_multiples{1.0, 0.5, 2.0, 1.0 / 3.0, 3.0, 2.0 / 3.0, 1.5};

/// Number of meter features of the tracked beats (see tempo_level_choice::features).
inline constexpr std::size_t meter_feature_count = 4;

/// Number of features of a level choice (see tempo_level_choice::features).
inline constexpr std::size_t tempo_choice_feature_count = tempo_feature_count +
                                                          (1 + meter_feature_count) * tempo_level_multiples.size();

/// Weights of the linear model that chooses among the multiples of the tracked period.
using tempo_choice_model = std::array<double, tempo_choice_feature_count>;

/// The weights fitted on ASAP (docs/tempo_key.md says how); the default of tempo_options::choice_model.
[[nodiscard]] const tempo_choice_model& default_tempo_choice_model() noexcept;

/// How to estimate the beat period. The defaults are the ones measured in docs/tempo_key.md.
struct tempo_options {
  /// Onsets closer than this to the first onset of an event join it (a chord, a rolled chord).
  seconds_t merge_window_s = 0.05;
  /// Slowest and fastest beat considered, in beats per minute.
  double min_bpm = 20;
  double max_bpm = 330;
  /// Lags longer than this are not measured (bounds the cost: O(events x events within this lag)).
  seconds_t max_lag_s = 4.0;
  /// Gives each onset event its beat probability: 1 / (1 + exp(-(model · [1, features, products]))).
  /// Used when the notes' offsets are known; without them an event weighs sqrt(Σ velocity / 127),
  /// doubled for a bass event.
  tempo_event_model event_model = default_tempo_event_model();
  /// Scores metrical-level candidates: score = model · features, softmax over the candidates.
  tempo_level_model level_model = default_tempo_level_model();
  /// Chooses the level among multiples of the tracked period: score = model · features, the highest
  /// wins. All zeros keeps the tracked level.
  tempo_choice_model choice_model = default_tempo_choice_model();
};

/// One metrical-level candidate: a beat period and the features the level model scores.
struct tempo_candidate {
  seconds_t beat_period_s = 0;
  double salience = 0;  ///< Comb salience relative to the strongest period, in (0, 1].
  /// Features (unitless), for period T: log2(T / 0.6 s) and its square; the lag histogram (relative to
  /// its maximum) at T, 2T, 3T, T/2, T/3, 1.5T and 2T/3; the bass events' histogram at T, 2T and 3T;
  /// log2(events per beat) squared; log2(T / 0.6 s) x log2(event rate / 4 Hz); the histogram at 4T;
  /// the bass histogram at T/2. docs/tempo_key.md, "Choosing the metrical level".
  std::array<double, tempo_feature_count> features{};
  double probability = 0;  ///< Softmax of the level model's scores over the candidates.
};

/// One metrical level at a multiple of the tracked beat period, with the features the choice model scores.
struct tempo_level_choice {
  double multiple = 1;  ///< One of tempo_level_multiples.
  seconds_t beat_period_s = 0;
  /// The level model's features at beat_period_s (tempo_candidate::features); one indicator per entry of
  /// tempo_level_multiples (1 at this choice's multiple); then four blocks of the same size holding, at
  /// this choice's multiple, meter evidence from the tracked beats: how much stronger one beat in 2 is
  /// than the others, one beat in 3, and the shares of the events between beats near their half and
  /// near their thirds. docs/tempo_key.md, "Choosing the metrical level".
  std::array<double, tempo_choice_feature_count> features{};
  double probability = 0;  ///< Softmax of the choice model's scores over the choices.
};

/// The estimated beat of notes.
struct tempo_estimate {
  seconds_t beat_period_s = 0;  ///< Seconds per beat; 0 when there is no estimate.
  double bpm = 0;               ///< 60 / beat_period_s; 0 when there is no estimate.
  /// In [0, 1]: the level model's probability of the candidate that was tracked (the choice model may
  /// then move the level to a multiple of it; passages' min_bpm_confidence thresholds this); 0 if none.
  double confidence = 0;
  /// Tempo steadiness: the robust standard deviation (1.4826 x median absolute deviation) of
  /// ln(inter-beat interval) over the tracked beats; about the relative spread of the beat period
  /// (0.05: beats vary by about 5 %). 0 for a metronomic performance and when fewer than 4 beats are tracked.
  double tempo_spread = 0;
  std::size_t beat_count = 0;   ///< Beats tracked (including beats between notes), counted at the chosen level.
  std::size_t event_count = 0;  ///< Onset events (merged chords) used.
  friend constexpr bool operator==(const tempo_estimate&, const tempo_estimate&) = default;
};

/// Returns the beat of notes [first, last) of `notes` (clamped to notes.size()); notes must be sorted
/// by onset, as read_performance returns them. O(n·k) for n notes and k events within max_lag_s.
///
///     const auto t = continuo::estimate_tempo(perf.notes);
///     if (t.confidence > 0.5) std::printf("%.0f bpm\n", t.bpm);
[[nodiscard]] tempo_estimate estimate_tempo(const note_columns& notes, std::size_t first, std::size_t last,
                                            const tempo_options& options = {});

/// Returns the beat of all the notes.
[[nodiscard]] tempo_estimate estimate_tempo(const note_columns& notes, const tempo_options& options = {});

/// Notes as the tempo estimator reads them: columns of one length (a shorter column limits the notes
/// read), sorted by onset. `offset_s` may be empty when the notes' lengths are unknown.
struct tempo_notes {
  std::span<const seconds_t> onset_s;  ///< Onsets, non-decreasing.
  std::span<const seconds_t> offset_s;
  std::span<const std::uint8_t> velocity;  ///< 1-127.
  std::span<const std::uint8_t> pitch;     ///< MIDI key numbers.

  /// Notes [first, last) of `notes`, clamped to notes.size().
  [[nodiscard]] static tempo_notes of(const note_columns& notes, std::size_t first, std::size_t last);
};

/// Returns the beat of notes given as columns.
[[nodiscard]] tempo_estimate estimate_tempo(const tempo_notes& notes, const tempo_options& options = {});

/// Returns the metrical-level candidates that estimate_tempo chooses from, best first; for inspection
/// and for fitting tempo_options::level_model.
[[nodiscard]] std::vector<tempo_candidate> tempo_candidates(const tempo_notes& notes,
                                                            const tempo_options& options = {});

/// Returns the metrical levels that estimate_tempo chooses from once it has tracked the beat: the
/// multiples of the tracked period (tempo_level_multiples) within [min_bpm, max_bpm], the tracked
/// level always first; empty when no beat could be tracked. For inspection and for fitting
/// tempo_options::choice_model.
[[nodiscard]] std::vector<tempo_level_choice> tempo_level_choices(const tempo_notes& notes,
                                                                  const tempo_options& options = {});

/// One onset event (a note or the notes that start within tempo_options::merge_window_s of its first).
struct tempo_event {
  seconds_t time_s = 0;  ///< Its first onset.
  /// Features (unitless; "around" = the mean over the event and up to 6 events on each side, 8 for the
  /// intervals and lengths): ln w, w = sqrt(Σ velocity / 127); bass (1 when its lowest pitch is among the
  /// lowest 30 % of the events' lowest pitches); ln(notes); ln w minus its mean around; ln(interval to the next
  /// event) and ln(interval from the previous one), each minus the mean ln interval around (intervals
  /// at least 10 ms); (lowest pitch - lowest pitch around) / 12; 1 when the lowest pitch differs from
  /// the previous event's; (loudest velocity - loudest around) / 20; (highest pitch - highest around) /
  /// 12; ln(next interval / previous interval); ln(longest note) minus its mean around, and itself
  /// (lengths at least 10 ms; both 0 when the lengths are unknown); ln(w / previous w); ln(w / next w);
  /// (lowest pitch - previous lowest pitch) / 12. docs/tempo_key.md, "Beat probability of an event".
  std::array<double, tempo_event_feature_count> features{};
  /// The event model's probability that a beat falls on the event; without offsets, its weight
  /// sqrt(Σ velocity / 127), doubled for a bass event.
  double salience = 0;
};

/// Returns the onset events of the notes with their features and salience; for inspection and for
/// fitting tempo_options::event_model.
[[nodiscard]] std::vector<tempo_event> tempo_events(const tempo_notes& notes, const tempo_options& options = {});

}  // namespace continuo

#pragma once
/// \file Practice features of a stretch of playing (an attempt, a session, a window of notes).
/// docs/features.md defines each one with its formula and unit.

#include <continuo/features/key.hpp>
#include <continuo/features/tempo.hpp>
#include <continuo/performance.hpp>
#include <continuo/session.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace continuo {

/// How features are measured.
struct feature_options {
  /// Onsets closer than this are one chord (a chord is rarely struck perfectly together).
  double chord_window_s = 0.035;
  tempo_options tempo{};
  key_options key{};
};

/// What a stretch of playing says. All times in seconds, velocities in MIDI units (1-127).
struct practice_features {
  double playing_time_s = 0;  ///< Length of the stretch.
  double note_count = 0;
  double notes_per_second = 0;  ///< note_count / playing_time_s.
  double pitch_min = 0;         ///< MIDI key numbers.
  double pitch_max = 0;
  double pitch_range = 0;  ///< pitch_max - pitch_min, in semitones.
  double pitch_mean = 0;
  std::array<double, 12> pitch_class_histogram{};  ///< Share of notes per pitch class (C = 0), sums to 1.
  double velocity_mean = 0;
  double velocity_std = 0;
  double velocity_min = 0;
  double velocity_max = 0;
  double articulation = 0;      ///< Median of duration / time to the next chord: >1 legato, <1 staccato.
  double sustain_fraction = 0;  ///< Share of the stretch with the sustain pedal down.
  double pedal_presses_per_minute = 0;
  double polyphony_mean = 0;  ///< Mean number of notes sounding while any sounds.
  double polyphony_max = 0;
  double chord_count = 0;       ///< Onsets after merging those within chord_window_s.
  double chord_size_mean = 0;   ///< note_count / chord_count.
  double ioi_median_s = 0;      ///< Median time between successive chords.
  double ioi_cv = 0;            ///< Coefficient of variation of those times (std / mean).
  double beat_period_s = 0;     ///< Estimated from the playing alone (features/tempo.hpp); 0 if none.
  double tempo_confidence = 0;  ///< In [0, 1].
  double tempo_spread = 0;      ///< Robust spread of ln(inter-beat interval): 0 for a metronome.
  double key_sharps = 0;        ///< Estimated key signature (features/key.hpp), −6..+5, flats negative.
  double key_minor = 0;         ///< 1 when the best key is the relative minor.
  double key_confidence = 0;    ///< In [0, 1].

  friend bool operator==(const practice_features&, const practice_features&) = default;
};

/// Returns the features of notes [first_note, first_note + note_count) of `perf`, a stretch from
/// start_s to end_s (pedal use is measured inside it). O(n log n) in the notes.
[[nodiscard]] practice_features compute_features(const performance& perf, std::size_t first_note,
                                                 std::size_t note_count, double start_s, double end_s,
                                                 const feature_options& options = {});

/// Returns the features of an attempt found by split_practice(perf).
[[nodiscard]] practice_features compute_features(const performance& perf, const attempt_span& attempt,
                                                 const feature_options& options = {});

/// Returns the names of the fixed-length vector, in order: "playing_time_s", ..., "pitch_class_0", ...
[[nodiscard]] std::span<const std::string_view> feature_names() noexcept;

/// Returns the features as a fixed-length vector ordered as feature_names(), for ML.
[[nodiscard]] std::vector<double> to_vector(const practice_features& features);

}  // namespace continuo

#pragma once
/// \file Key signature of a performance (or of a range of its notes) from its pitches alone.
///
/// The estimate is a key signature, counted in sharps (positive) or flats (negative), with a best guess of
/// the mode and a confidence. Key profiles (templates of how often each pitch class sounds in a key) are
/// correlated with the duration-weighted pitch-class distribution of the notes; docs/tempo_key.md gives the
/// formulas and the accuracy on the ASAP corpus.

#include <continuo/performance.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace continuo {

/// Published key profiles: 12 weights, tonic first, for a major and a minor key.
enum class key_profile : std::uint8_t {
  krumhansl_kessler,       ///< Probe-tone ratings (Krumhansl & Kessler 1982): the classic baseline.
  temperley_kostka_payne,  ///< Textbook excerpts (Temperley 2007, from Kostka & Payne).
  albrecht_shanahan,       ///< Major and minor pieces of the common-practice period (Albrecht & Shanahan 2013).
  bellman_budge,           ///< Chord statistics of the common-practice period (Bellman 2005).
  aarden_essen,            ///< Essen folk-song melodies (Aarden 2003).
  sapp,                    ///< Sapp's simple 2/1/0 profile.
  ensemble,                ///< Mean of the z-scored correlations of Temperley, Albrecht-Shanahan and Sapp (default).
};

/// Returns "krumhansl_kessler", "temperley_kostka_payne", ... or "ensemble".
[[nodiscard]] std::string_view name(key_profile profile) noexcept;

/// How to weigh notes and which profiles to use.
struct key_options {
  key_profile profile = key_profile::ensemble;
  /// Weigh each note by attack_weight_s + its duration in seconds (capped at `max_note_weight_s`);
  /// otherwise every note counts 1.
  bool weight_by_duration = true;
  /// Longer notes count no more than this many seconds: a held pedal tone should not swamp the rest.
  seconds_t max_note_weight_s = 2.0;
  /// What a note counts for being struck at all, in seconds of duration: short notes (a run, staccato)
  /// still say which scale is in use.
  seconds_t attack_weight_s = 0.1;
  /// Extra weight, as a multiple of the note's own, for the lowest note of each chord (onsets within
  /// `chord_window_s`). Off by default: on ASAP it lowered accuracy (docs/tempo_key.md).
  double bass_weight = 0.0;
  seconds_t chord_window_s = 0.05;
};

/// Convention: `sharps` is in −6..+5 (Gb major and Eb minor are −6, not +6; B major is +5; Db major is −5).
/// The annotation of a score cannot tell a major key from its relative minor, and neither does
/// the signature: C major and A minor both have sharps == 0.
struct key_estimate {
  int sharps = 0;              ///< Key signature: sharps if positive, flats if negative, in −6..+5.
  std::uint8_t tonic_pc = 0;   ///< Pitch class of the tonic of the best key, C = 0 … B = 11.
  bool minor = false;          ///< The best key is minor (the relative minor of the signature's major).
  double confidence = 0;       ///< In [0, 1]: 0 when there are no notes, near 1 for a clear margin.
  double correlation = 0;      ///< Pearson correlation of the best key's profile with the distribution.
  std::size_t note_count = 0;  ///< Notes that were weighed.
  friend constexpr bool operator==(const key_estimate&, const key_estimate&) = default;
};

/// Weights of the 12 pitch classes, C = 0 … B = 11.
using pitch_class_histogram = std::array<double, 12>;

/// Returns the weight of each pitch class among notes [first, last) (clamped to notes.size()).
[[nodiscard]] pitch_class_histogram pitch_class_weights(const note_columns& notes, std::size_t first, std::size_t last,
                                                        const key_options& options = {});

/// Returns the key signature best matching a pitch-class distribution.
[[nodiscard]] key_estimate estimate_key(const pitch_class_histogram& weights, const key_options& options = {});

/// Returns the key signature of notes [first, last) (clamped to notes.size()).
[[nodiscard]] key_estimate estimate_key(const note_columns& notes, std::size_t first, std::size_t last,
                                        const key_options& options = {});

/// Returns the key signature of all the notes.
[[nodiscard]] key_estimate estimate_key(const note_columns& notes, const key_options& options = {});

/// Returns the number of sharps (positive) or flats (negative) of the major key on `tonic_pc`, in −6..+5.
[[nodiscard]] constexpr int signature_of_major(int tonic_pc) noexcept {
  const int fifths = (((tonic_pc % 12) + 12) % 12 * 7) % 12;  // steps round the circle of fifths from C
  return fifths > 5 ? fifths - 12 : fifths;
}

/// Returns the name of the major key with `sharps` (flats if negative), or with `minor` of its relative
/// minor: "C major", "Eb major", "F# minor" (key_estimate's sharps and minor name its best key). Any
/// number of sharps is taken enharmonically (+6 and +7 name Gb and Db major, as −6 and −5 do).
[[nodiscard]] std::string_view key_name(int sharps, bool minor) noexcept;

/// Returns true when two signatures name the same pitch-class set (enharmonic: +7 ≡ −5, +6 ≡ −6).
[[nodiscard]] constexpr bool same_signature(int sharps_a, int sharps_b) noexcept {
  return (((sharps_a - sharps_b) % 12) + 12) % 12 == 0;
}

}  // namespace continuo

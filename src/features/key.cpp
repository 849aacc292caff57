#include <continuo/features/key.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace continuo {
namespace {

struct profile_pair {
  std::array<double, 12> major;
  std::array<double, 12> minor;
};

// Tonic first. Values as published (see docs/tempo_key.md for the references).
constexpr profile_pair krumhansl_kessler{{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88},
                                         {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17}};
constexpr profile_pair temperley_kostka_payne{{0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366,
                                               0.057, 0.400},
                                              {0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067,
                                               0.133, 0.330}};
constexpr profile_pair albrecht_shanahan{{0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008,
                                          0.081},
                                         {0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061,
                                          0.052}};
constexpr profile_pair bellman_budge{{16.80, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.80, 8.04, 0.62, 10.57},
                                     {18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21}};
constexpr profile_pair aarden_essen{{17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
                                     8.15494, 0.232998, 4.95122},
                                    {18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
                                     1.93186, 7.37619, 1.75623}};
constexpr profile_pair sapp{{2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1}, {2, 0, 1, 1, 0, 1, 0, 2, 1, 0, 0.5, 0.5}};

/// Correlations of the 24 keys: [0, 12) major on tonic k, [12, 24) minor on tonic k - 12.
using key_scores = std::array<double, 24>;

/// Returns `v` minus its mean, scaled to unit norm (all zeros for a constant vector).
std::array<double, 12> centred_unit(const std::array<double, 12>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= 12;
  std::array<double, 12> out{};
  double norm = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    out[i] = v[i] - mean;
    norm += out[i] * out[i];
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (double& x : out) x /= norm;
  } else {
    out.fill(0);
  }
  return out;
}

/// Pearson correlation of the (centred, unit) histogram with each of the 24 rotations of a profile pair.
key_scores correlate(const std::array<double, 12>& h, const profile_pair& p) {
  const auto major = centred_unit(p.major);
  const auto minor = centred_unit(p.minor);
  key_scores r{};
  for (std::size_t tonic = 0; tonic < 12; ++tonic) {
    double a = 0;
    double b = 0;
    for (std::size_t i = 0; i < 12; ++i) {
      const double x = h[(tonic + i) % 12];
      a += x * major[i];
      b += x * minor[i];
    }
    r[tonic] = a;
    r[12 + tonic] = b;
  }
  return r;
}

const profile_pair& profile_of(key_profile p) {
  switch (p) {
    case key_profile::krumhansl_kessler: return krumhansl_kessler;
    case key_profile::temperley_kostka_payne: return temperley_kostka_payne;
    case key_profile::albrecht_shanahan: return albrecht_shanahan;
    case key_profile::bellman_budge: return bellman_budge;
    case key_profile::aarden_essen: return aarden_essen;
    case key_profile::sapp: return sapp;
    case key_profile::ensemble: break;
  }
  return albrecht_shanahan;
}

/// The signature of key k of key_scores (major tonic k, or minor tonic k - 12).
int signature_of_key(std::size_t k) {
  return k < 12 ? signature_of_major(static_cast<int>(k)) : signature_of_major(static_cast<int>(k - 12) + 3);
}

}  // namespace

std::string_view name(key_profile profile) noexcept {
  switch (profile) {
    case key_profile::krumhansl_kessler: return "krumhansl_kessler";
    case key_profile::temperley_kostka_payne: return "temperley_kostka_payne";
    case key_profile::albrecht_shanahan: return "albrecht_shanahan";
    case key_profile::bellman_budge: return "bellman_budge";
    case key_profile::aarden_essen: return "aarden_essen";
    case key_profile::sapp: return "sapp";
    case key_profile::ensemble: return "ensemble";
  }
  return "unknown";
}

std::string_view key_name(int sharps, bool minor) noexcept {
  // By signature, from 6 flats to 5 sharps.
  static constexpr std::array<std::string_view, 12> major = {"Gb major", "Db major", "Ab major", "Eb major",
                                                             "Bb major", "F major",  "C major",  "G major",
                                                             "D major",  "A major",  "E major",  "B major"};
  static constexpr std::array<std::string_view, 12> relative_minor = {"Eb minor", "Bb minor", "F minor",  "C minor",
                                                                      "G minor",  "D minor",  "A minor",  "E minor",
                                                                      "B minor",  "F# minor", "C# minor", "G# minor"};
  const auto index = static_cast<std::size_t>(((sharps % 12) + 18) % 12);  // −6 → 0, 0 → 6, +5 → 11, +6 → 0
  return minor ? relative_minor[index] : major[index];
}

pitch_class_histogram pitch_class_weights(const note_columns& notes, std::size_t first, std::size_t last,
                                          const key_options& options) {
  detail::require_note_seconds(notes, "continuo::pitch_class_weights");
  pitch_class_histogram h{};
  last = std::min(last, notes.size());
  const double cap = std::max(options.max_note_weight_s, 0.0);
  const double attack = std::max(options.attack_weight_s, 0.0);
  std::size_t chord_start = first;
  while (chord_start < last) {
    // One chord: the notes whose onsets lie within chord_window_s of its first onset.
    std::size_t chord_end = chord_start + 1;
    const seconds_t t0 = notes.onset_s[chord_start];
    while (chord_end < last && notes.onset_s[chord_end] - t0 <= options.chord_window_s) ++chord_end;
    std::size_t bass = chord_start;
    for (std::size_t i = chord_start; i < chord_end; ++i) {
      const double w = options.weight_by_duration ? std::clamp(notes.offset_s[i] - notes.onset_s[i], 0.0, cap) + attack
                                                  : 1.0;
      h[notes.pitch[i] % 12U] += w;
      if (notes.pitch[i] < notes.pitch[bass]) bass = i;
    }
    if (options.bass_weight > 0) {
      const double w = options.weight_by_duration
                           ? std::clamp(notes.offset_s[bass] - notes.onset_s[bass], 0.0, cap) + attack
                           : 1.0;
      h[notes.pitch[bass] % 12U] += options.bass_weight * w;
    }
    chord_start = chord_end;
  }
  return h;
}

key_estimate estimate_key(const pitch_class_histogram& weights, const key_options& options) {
  key_estimate out;
  double total = 0;
  for (double w : weights) total += std::max(w, 0.0);
  if (!(total > 0)) return out;
  const auto h = centred_unit(weights);

  key_scores score{};
  if (options.profile == key_profile::ensemble) {
    // Each profile's 24 correlations are z-scored before averaging, so that no profile dominates by
    // the spread of its values. Temperley's profile is the best of the published ones on short excerpts,
    // Sapp's and Albrecht-Shanahan's on whole pieces (docs/tempo_key.md).
    for (const profile_pair* p : {&temperley_kostka_payne, &albrecht_shanahan, &sapp}) {
      const key_scores r = correlate(h, *p);
      double mean = 0;
      for (double x : r) mean += x;
      mean /= 24;
      double var = 0;
      for (double x : r) var += (x - mean) * (x - mean);
      const double sd = std::sqrt(var / 24);
      for (std::size_t k = 0; k < 24; ++k) score[k] += sd > 0 ? (r[k] - mean) / sd / 3 : 0;
    }
  } else {
    score = correlate(h, profile_of(options.profile));
  }

  std::size_t best = 0;
  for (std::size_t k = 1; k < 24; ++k) {
    if (score[k] > score[best]) best = k;
  }
  // The runner-up among keys of another signature: the relative major/minor is the same answer.
  const int sig = signature_of_key(best);
  double runner_up = -1e300;
  for (std::size_t k = 0; k < 24; ++k) {
    if (signature_of_key(k) != sig) runner_up = std::max(runner_up, score[k]);
  }
  out.sharps = sig;
  out.minor = best >= 12;
  out.tonic_pc = static_cast<std::uint8_t>(best % 12);
  out.correlation = options.profile == key_profile::ensemble ? correlate(h, albrecht_shanahan)[best] : score[best];
  // The margin is in correlation units (or z units for the ensemble); a margin of `scale` gives ~0.63.
  const double scale = options.profile == key_profile::ensemble ? 0.5 : 0.1;
  out.confidence = 1.0 - std::exp(-(score[best] - runner_up) / scale);
  return out;
}

key_estimate estimate_key(const note_columns& notes, std::size_t first, std::size_t last, const key_options& options) {
  last = std::min(last, notes.size());
  if (first >= last) return {};
  key_estimate out = estimate_key(pitch_class_weights(notes, first, last, options), options);
  out.note_count = last - first;
  return out;
}

key_estimate estimate_key(const note_columns& notes, const key_options& options) {
  return estimate_key(notes, 0, notes.size(), options);
}

}  // namespace continuo

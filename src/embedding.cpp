#include "number_text.hpp"

#include <continuo/diagnostic.hpp>
#include <continuo/embedding.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <thread>
#include <utility>

namespace continuo {
namespace {

// Layout of the pitch block (docs/embeddings.md): offsets of its histograms.
constexpr std::size_t pc_at = 0;          // 12 pitch classes of all notes
constexpr std::size_t bass_pc_at = 12;    // 12 pitch classes of each event's lowest note
constexpr std::size_t melody_at = 24;     // 25 intervals (-12..12) between successive highest notes
constexpr std::size_t bass_step_at = 49;  // 25 intervals between successive lowest notes
constexpr std::size_t vertical_at = 74;   // 12 interval classes from each event's highest note down
constexpr std::size_t register_at = 86;   // 10 octaves of all notes
constexpr std::size_t pitch_end = 96;
// Layout of the rhythm block.
constexpr std::size_t ioi_at = 0;     // 25 bins of log2(gap / previous gap), 0.25 wide
constexpr std::size_t chord_at = 25;  // 7 chord sizes (1..7 or more notes)
constexpr std::size_t rhythm_end = 32;
static_assert(pitch_end == embedding_pitch_dimension && rhythm_end == embedding_rhythm_dimension);

/// Scales v to L2 norm 1 (or leaves it all zeros).
void normalise(std::span<float> v) {
  Eigen::Map<Eigen::VectorXf> m(v.data(), static_cast<Eigen::Index>(v.size()));
  const float norm = m.norm();
  if (norm > 0) m /= norm;
}

/// Turns counts into the square roots of their shares (the Hellinger map), so that the dot product of two
/// histograms is the Bhattacharyya coefficient of their distributions, and no single bin dominates.
void hellinger(std::span<float> counts) {
  float sum = 0;
  for (const float c : counts) sum += c;
  if (sum <= 0) return;
  for (float& c : counts) c = std::sqrt(c / sum);
}

/// Replaces a 12-bin pitch-class histogram by the magnitudes of its DFT (coefficients 0-6, then zeros):
/// unchanged by a rotation, that is by a transposition.
void rotation_invariant(std::span<float> pc) {
  std::array<float, 12> p{};
  std::copy(pc.begin(), pc.end(), p.begin());
  for (std::size_t k = 0; k < 12; ++k) {
    if (k > 6) {
      pc[k] = 0;
      continue;
    }
    double re = 0;
    double im = 0;
    for (std::size_t n = 0; n < 12; ++n) {
      const double angle = 2 * std::numbers::pi * static_cast<double>(k * n) / 12.0;
      re += p[n] * std::cos(angle);
      im -= p[n] * std::sin(angle);
    }
    pc[k] = static_cast<float>(std::hypot(re, im));
  }
  normalise(pc);
}

void triple_block(std::span<const onset_event> events, const embedding_options& options, std::span<float> out) {
  if (out.empty() || events.size() < 3) return;
  fingerprint_options fo = options.fingerprint;
  fo.transposition_invariant = options.transposition_invariant;
  detail::count_triples(events, fo, out);
  // Signed square root of each bin (power normalisation): a figure repeated ten times (an Alberti bass)
  // weighs about three times one played once, not ten times. It works on the bins, not per triple:
  // gathering the counts of each triple would mean storing and sorting them.
  for (float& x : out) x = std::copysign(std::sqrt(std::abs(x)), x);
  normalise(out);
}

void pitch_block(std::span<const std::uint8_t> pitch, std::span<const onset_event> events,
                 const embedding_options& options, std::span<float> out) {
  for (const auto p : pitch) {
    out[pc_at + p % 12U] += 1;
    out[register_at + std::min<std::size_t>(p / 12U, 9)] += 1;
  }
  auto step = [](int from, int to) { return static_cast<std::size_t>(std::clamp(to - from, -12, 12) + 12); };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    out[bass_pc_at + e.lowest % 12U] += 1;
    if (i > 0) {
      out[melody_at + step(events[i - 1].highest, e.highest)] += 1;
      out[bass_step_at + step(events[i - 1].lowest, e.lowest)] += 1;
    }
    for (std::size_t k = e.first; k < e.first + e.count && k < pitch.size(); ++k) {
      if (pitch[k] != e.highest) out[vertical_at + (e.highest - pitch[k]) % 12U] += 1;
    }
  }
  const std::array<std::pair<std::size_t, std::size_t>, 6> parts{
      {{pc_at, 12}, {bass_pc_at, 12}, {melody_at, 25}, {bass_step_at, 25}, {vertical_at, 12}, {register_at, 10}}};
  for (const auto& [at, size] : parts) hellinger(out.subspan(at, size));
  if (options.transposition_invariant) {
    rotation_invariant(out.subspan(pc_at, 12));
    rotation_invariant(out.subspan(bass_pc_at, 12));
    // The register moves by up to an octave under transposition: keep it, it is coarse.
  }
  normalise(out);
}

void rhythm_block(std::span<const onset_event> events, const embedding_options& options, std::span<float> out) {
  const double max_gap = options.fingerprint.max_gap_s;
  for (std::size_t i = 0; i < events.size(); ++i) {
    out[chord_at + std::min<std::size_t>(events[i].count, 7) - 1] += 1;
    if (i < 2) continue;
    const double g1 = events[i - 1].onset_s - events[i - 2].onset_s;
    const double g2 = events[i].onset_s - events[i - 1].onset_s;
    if (!(g1 > 0 && g2 > 0) || g1 > max_gap || g2 > max_gap) continue;
    // Rounds to the nearest 0.25 bin by truncating a positive value (std::round is a call into libm);
    // a tie rounds up, and an exact tie needs an irrational gap ratio.
    const double scaled = std::clamp(std::log2(g2 / g1) / 0.25, -12.5, 12.5);
    const auto bin = std::min<std::size_t>(static_cast<std::size_t>(scaled + 12.5), 24);
    out[ioi_at + bin] += 1;
  }
  hellinger(out.subspan(ioi_at, 25));
  hellinger(out.subspan(chord_at, 7));
  normalise(out);
}

/// Writes the embedding of the notes into `out` (embedding_dimension floats, zeroed by the caller).
void embed_into(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                const embedding_options& options, std::span<float> out) {
  const std::size_t n = std::min(onset_s.size(), pitch.size());
  if (n == 0) return;
  onset_s = onset_s.first(n);
  pitch = pitch.first(n);
  const auto events = onset_events(onset_s, pitch, options.fingerprint.merge_window_s);
  const std::size_t d = options.triple_dimension;
  auto triples = out.first(d);
  auto pitches = out.subspan(d, embedding_pitch_dimension);
  auto rhythm = out.subspan(d + embedding_pitch_dimension, embedding_rhythm_dimension);
  triple_block(events, options, triples);
  pitch_block(pitch, events, options, pitches);
  rhythm_block(events, options, rhythm);
  for (float& x : triples) x *= options.triple_weight;
  for (float& x : pitches) x *= options.pitch_weight;
  for (float& x : rhythm) x *= options.rhythm_weight;
  normalise(out);
}

[[noreturn]] void invalid_windows(const std::string& what) { throw error("[embedding.invalid_windows] " + what); }

/// The most triple bins an embedding may have (4 MiB a vector).
constexpr std::size_t max_triple_dimension = std::size_t{1} << 20U;

/// Throws continuo::error for options or pitches that would give no meaningful vector: a weight that
/// is negative or not finite (a NaN weight makes every value NaN), a triple block past
/// max_triple_dimension, a pitch over 127.
void check_input(std::span<const std::uint8_t> pitch, const embedding_options& options) {
  for (const auto& [name, weight] :
       {std::pair{"triple_weight", options.triple_weight}, std::pair{"pitch_weight", options.pitch_weight},
        std::pair{"rhythm_weight", options.rhythm_weight}}) {
    if (!(weight >= 0 && std::isfinite(weight))) {
      throw error("[embedding.invalid_options] " + std::string(name) + " must be a finite number of 0 or more, not " +
                  detail::number_text(weight));
    }
  }
  if (options.triple_dimension > max_triple_dimension) {
    throw error("[embedding.invalid_options] triple_dimension must be at most 2^20, not " +
                std::to_string(options.triple_dimension));
  }
  if (const auto bad = std::find_if(pitch.begin(), pitch.end(), [](std::uint8_t p) { return p > 127; });
      bad != pitch.end()) {
    throw error("[embedding.invalid_options] pitch " + std::to_string(*bad) + " of note " +
                std::to_string(bad - pitch.begin()) + " is not 0-127");
  }
}

}  // namespace

std::size_t embedding_dimension(const embedding_options& options) noexcept {
  return options.triple_dimension + embedding_pitch_dimension + embedding_rhythm_dimension;
}

std::vector<float> embed(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                         const embedding_options& options) {
  check_input(pitch, options);
  std::vector<float> out(embedding_dimension(options), 0.0F);
  embed_into(onset_s, pitch, options, out);
  return out;
}

std::vector<float> embed(const note_columns& notes, std::size_t first, std::size_t last,
                         const embedding_options& options) {
  detail::require_note_seconds(notes, "continuo::embed", /*offsets=*/false);
  last = std::min(last, notes.size());
  first = std::min(first, last);
  return embed(std::span(notes.onset_s).subspan(first, last - first),
               std::span(notes.pitch).subspan(first, last - first), options);
}

embedded_windows embed_windows(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                               const window_options& windows, const embedding_options& options) {
  const std::size_t n = std::min(onset_s.size(), pitch.size());
  onset_s = onset_s.first(n);
  pitch = pitch.first(n);
  check_input(pitch, options);
  embedded_windows result;
  result.dimension = embedding_dimension(options);
  const auto events = onset_events(onset_s, pitch, options.fingerprint.merge_window_s);
  const std::size_t count = events.size();
  // Cut windows as ranges of events [e0, e1), so a chord is never split.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  if (windows.length_events > 0) {
    const std::size_t length = windows.length_events;
    const std::size_t hop = windows.hop_events > 0 ? windows.hop_events : std::max<std::size_t>(length / 4, 1);
    for (std::size_t e0 = 0; e0 < count; e0 += hop) {
      ranges.emplace_back(e0, std::min(e0 + length, count));
      if (e0 + length >= count) break;
    }
  } else {
    const double length = windows.length_s;
    const double hop = windows.hop_s;
    if (!(length > 0 && std::isfinite(length))) invalid_windows("window length " + detail::number_text(length) + " s");
    if (!(hop > 0 && std::isfinite(hop))) invalid_windows("window hop " + detail::number_text(hop) + " s");
    // Windows are found hop by hop: a hop this small against the length would take forever to say
    // the same thing (and one below the resolution of the times, forever).
    if (hop < length * 1e-6) {
      invalid_windows("window hop of " + detail::number_text(hop) + " s against a length of " +
                      detail::number_text(length) +
                      " s: at most a million windows may overlap; use a hop of at least length / 1e6");
    }
    auto at_or_after = [&](double t) {
      return static_cast<std::size_t>(std::lower_bound(events.begin(), events.end(), t,
                                                       [](const onset_event& e, double x) { return e.onset_s < x; }) -
                                      events.begin());
    };
    double t = count > 0 ? events.front().onset_s : 0.0;
    std::size_t e0 = 0;
    while (e0 < count) {
      e0 = at_or_after(t);
      if (e0 >= count) break;
      if (events[e0].onset_s >= t + length) {
        // A silence longer than the window: jump to the first window that holds the next event,
        // in whole hops, instead of stepping through the silence.
        t += hop * (std::floor((events[e0].onset_s - t - length) / hop) + 1);
        continue;
      }
      const std::size_t e1 = at_or_after(t + length);
      if (ranges.empty() || ranges.back() != std::pair{e0, e1}) ranges.emplace_back(e0, e1);
      if (e1 >= count) break;
      if (!(t + hop > t)) {
        invalid_windows("window hop of " + detail::number_text(hop) + " s is below the resolution of times near " +
                        detail::number_text(t) + " s");
      }
      t += hop;
    }
  }
  const std::size_t d = result.dimension;
  result.windows.resize(ranges.size());
  result.vectors.assign(ranges.size() * d, 0.0F);
  auto work = [&](std::size_t begin, std::size_t end) {
    for (std::size_t w = begin; w < end; ++w) {
      const auto [e0, e1] = ranges[w];
      const std::size_t first = events[e0].first;
      const std::size_t last = events[e1 - 1].first + events[e1 - 1].count;
      result.windows[w] = {first, last, onset_s[first], onset_s[last - 1]};
      embed_into(onset_s.subspan(first, last - first), pitch.subspan(first, last - first), options,
                 std::span(result.vectors).subspan(w * d, d));
    }
  };
  const std::size_t threads = std::clamp<std::size_t>(windows.threads, 1, std::max<std::size_t>(ranges.size(), 1));
  if (threads == 1) {
    work(0, ranges.size());
  } else {
    std::vector<std::thread> pool;
    const std::size_t per = (ranges.size() + threads - 1) / threads;
    for (std::size_t k = 0; k < threads; ++k) {
      pool.emplace_back(work, std::min(k * per, ranges.size()), std::min((k + 1) * per, ranges.size()));
    }
    for (auto& th : pool) th.join();
  }
  return result;
}

embedded_windows embed_windows(const note_columns& notes, const window_options& windows,
                               const embedding_options& options) {
  detail::require_note_seconds(notes, "continuo::embed_windows", /*offsets=*/false);
  return embed_windows(notes.onset_s, notes.pitch, windows, options);
}

}  // namespace continuo

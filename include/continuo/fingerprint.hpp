#pragma once
/// \file Tempo-invariant fingerprints of played notes: hashes of note triples (Arzt & Widmer's method).
///
/// Notes are merged into onset events (a chord, even a slightly rolled one, is one event). Each event
/// starts triples with the events that follow it: (e1, e2, e3) with e2 among the next `fan_out` events
/// after e1 and e3 among the next `fan_out` after e2. A triple is hashed from the pitches of one line
/// through the three events (the highest note of each, or the lowest: melody and bass) and the
/// quantised ratio of its two time gaps. The ratio, not the gaps, goes into the hash, so the same
/// passage played 30 % slower gives the same hashes; the span of the triple (e3 − e1, in seconds) is
/// kept beside the hash so that a match also says how much faster or slower it was played.
/// docs/embeddings.md gives the layout of the hash and the measured accuracy.

#include <continuo/performance.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace continuo {

/// How to turn notes into fingerprints. The defaults are the ones measured in docs/embeddings.md.
struct fingerprint_options {
  /// Onsets closer than this to the first onset of an event join it (a chord, a rolled chord).
  seconds_t merge_window_s = 0.05;
  /// Each event pairs with this many following events, and those with as many again: fan_out²
  /// triples per event and line.
  std::size_t fan_out = 3;
  /// Gaps longer than this do not form triples: what is played after a long pause is a new phrase.
  seconds_t max_gap_s = 3.0;
  /// Width of a bin of log2(gap1 / gap2): 0.5 puts 1:1, 2:1, 3:2 and 3:1 in different bins while
  /// leaving room for expressive timing (a gap may stretch by about 19 % before it changes bin).
  double ratio_bin_log2 = 0.5;
  /// Hash pitch intervals instead of pitches: the same passage transposed gives the same hashes.
  bool transposition_invariant = false;
  /// Also emit the neighbouring ratio bin when a ratio lies within this fraction of a bin from a bin
  /// edge. Used on the query side only, so that a ratio played across an edge still matches.
  double edge_probe = 0.0;
};

/// One hashed note triple.
struct fingerprint {
  std::uint32_t hash = 0;   ///< Pitches (or intervals), line and ratio bin; see docs/embeddings.md.
  std::uint32_t event = 0;  ///< Index of the triple's first event (see onset_events).
  float onset_s = 0;        ///< Onset of the first event, seconds on the notes' clock.
  float span_s = 0;         ///< Onset of the third event minus onset of the first, seconds (> 0).
  friend constexpr bool operator==(const fingerprint&, const fingerprint&) = default;
};

/// One onset event: notes that start together.
struct onset_event {
  seconds_t onset_s = 0;     ///< Onset of the event's first note.
  std::uint32_t first = 0;   ///< Index of the event's first note in the input.
  std::uint32_t count = 0;   ///< Number of notes in the event.
  std::uint8_t lowest = 0;   ///< Lowest pitch of the event.
  std::uint8_t highest = 0;  ///< Highest pitch of the event.
  friend constexpr bool operator==(const onset_event&, const onset_event&) = default;
};

/// Returns the onset events of notes given as columns of one length (onsets in seconds,
/// non-decreasing, as read_performance returns them).
[[nodiscard]] std::vector<onset_event> onset_events(std::span<const seconds_t> onset_s,
                                                    std::span<const std::uint8_t> pitch,
                                                    seconds_t merge_window_s = 0.05);

namespace detail {
inline constexpr int max_ratio_bin = 7;

/// Returns the hash of a triple: bits 0-3 ratio bin + 7, bit 4 line (0 melody, 1 bass), then either three
/// 7-bit pitches (bits 5-25) or two 8-bit intervals + 127 (bits 5-20) with bit 30 set, so the two kinds
/// never collide. Inline: it runs once per triple.
[[nodiscard]] constexpr std::uint32_t triple_hash(int p1, int p2, int p3, std::uint32_t line, int ratio_bin,
                                                  bool invariant) noexcept {
  constexpr std::uint32_t invariant_bit = 1U << 30U;
  const auto bin = static_cast<std::uint32_t>(ratio_bin + max_ratio_bin);
  std::uint32_t pitches = 0;
  if (invariant) {
    pitches = static_cast<std::uint32_t>(p2 - p1 + 127) | (static_cast<std::uint32_t>(p3 - p2 + 127) << 8U);
    pitches |= invariant_bit >> 5U;
  } else {
    pitches = static_cast<std::uint32_t>(p1) | (static_cast<std::uint32_t>(p2) << 7U) |
              (static_cast<std::uint32_t>(p3) << 14U);
  }
  return bin | (line << 4U) | (pitches << 5U);
}

/// The gaps from each event to its next `fan_out` events, in the form the triples use.
struct event_gaps {
  std::size_t fan_out = 0;
  /// log2 of each gap divided by the ratio bin width, row-major (fan_out per event, 0 past the end): one
  /// log2 per pair of events, not per triple, and a triple's ratio bin is a subtraction away.
  std::vector<float> scaled_log2;
  /// How many of each event's next fan_out events are within max_gap_s of it (the gaps grow with the
  /// distance, so they are the first ones).
  std::vector<std::uint8_t> reach;
};

/// Returns the gaps of onset events for `options`.
[[nodiscard]] event_gaps gaps_of(std::span<const onset_event> events, const fingerprint_options& options);

/// Returns the fan-out the triples use: options.fan_out within 1..255 (a reach fits in a byte).
[[nodiscard]] constexpr std::size_t fan_out_of(const fingerprint_options& options) noexcept {
  return options.fan_out < 1 ? 1 : (options.fan_out > 255 ? 255 : options.fan_out);
}

/// Writes the gaps of gaps_of in any layout: the gap from event i to event i + d (d up to
/// fan_out_of(options)) goes to scaled_log2[i × event_stride + (d − 1) × distance_stride] (nothing is
/// written past an event's reach) and the reach of event i to reach[i].
void write_gaps(std::span<const onset_event> events, const fingerprint_options& options, float* scaled_log2,
                std::size_t event_stride, std::size_t distance_stride, std::uint8_t* reach);

/// The ratio bin of one triple, and the neighbouring bin the edge probe adds.
struct ratio_bins {
  int bin = 0;         ///< -max_ratio_bin to max_ratio_bin.
  int neighbour = 0;   ///< bin ± 1, towards the nearer edge; meaningful when probe is set.
  bool probe = false;  ///< The ratio lies within edge_probe of a bin edge and the neighbour exists.
};

/// Returns the bins of a ratio given as log2(gap1 / gap2) / bin width, without a branch: the sign of a
/// ratio and its nearness to an edge are as good as random, and mispredicted branches on them cost more
/// than the rest of a triple.
[[nodiscard]] constexpr ratio_bins bin_ratio(double scaled, double edge_probe) noexcept {
  constexpr double limit = max_ratio_bin + 0.5;
  const double clamped = scaled < -limit ? -limit : (scaled > limit ? limit : scaled);
  // floor(clamped + 0.5), by truncating a positive value (the check's concern, negative values, cannot
  // occur). It rounds a tie up where std::round rounds it away from zero; a log2 ratio that is exactly a
  // half-integer multiple of the bin width (an irrational ratio) does not occur.
  int bin = static_cast<int>(clamped + (limit + 1.0)) - (max_ratio_bin + 1);  // NOLINT(bugprone-incorrect-roundings)
  bin = bin > max_ratio_bin ? max_ratio_bin : bin;
  const double offset = scaled - bin;
  const double distance = offset < 0 ? -offset : offset;
  const int neighbour = bin + (offset > 0 ? 1 : -1);
  const bool probe = (distance < 0.5) & (0.5 - distance < edge_probe) & (neighbour >= -max_ratio_bin) &
                     (neighbour <= max_ratio_bin);
  return {bin, neighbour, probe};
}

/// One note triple before hashing: its three events and its ratio bins.
struct triple {
  std::uint32_t first = 0;  ///< Indices of the three events.
  std::uint32_t second = 0;
  std::uint32_t third = 0;
  ratio_bins bins;
};

/// Calls `visit(const triple&)` for each note triple of onset events, in order of their first event: the
/// enumeration behind for_each_fingerprint, for callers that hash the triples themselves.
template <class Visit>
void for_each_triple(std::span<const onset_event> events, const fingerprint_options& options, Visit&& visit) {
  const event_gaps gaps = gaps_of(events, options);
  const std::size_t fan = gaps.fan_out;
  const double probe = options.edge_probe;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const float* const from_i = &gaps.scaled_log2[i * fan];
    for (std::size_t dj = 1; dj <= gaps.reach[i]; ++dj) {
      const std::size_t j = i + dj;
      const float gap1 = from_i[dj - 1];
      const float* const from_j = &gaps.scaled_log2[j * fan];
      for (std::size_t dk = 1; dk <= gaps.reach[j]; ++dk) {
        visit(triple{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(j + dk),
                     bin_ratio(gap1 - from_j[dk - 1], probe)});
      }
    }
  }
}
}  // namespace detail

/// Calls `visit(const fingerprint&)` for each fingerprint of onset events, in order of their first
/// event: what fingerprints() returns, without storing it.
template <class Visit>
void for_each_fingerprint(std::span<const onset_event> events, const fingerprint_options& options, Visit&& visit) {
  const bool invariant = options.transposition_invariant;
  const auto emit = [&](const onset_event& a, const onset_event& b, const onset_event& c, std::uint32_t event,
                        int bin) {
    const auto onset = static_cast<float>(a.onset_s);
    const auto span = static_cast<float>(c.onset_s - a.onset_s);
    visit(fingerprint{detail::triple_hash(a.highest, b.highest, c.highest, 0, bin, invariant), event, onset, span});
    // A line of single notes has one pitch per event: the bass line would repeat the melody's hash.
    if (a.count > 1 || b.count > 1 || c.count > 1) {
      visit(fingerprint{detail::triple_hash(a.lowest, b.lowest, c.lowest, 1, bin, invariant), event, onset, span});
    }
  };
  detail::for_each_triple(events, options, [&](const detail::triple& t) {
    const auto& a = events[t.first];
    const auto& b = events[t.second];
    const auto& c = events[t.third];
    emit(a, b, c, t.first, t.bins.bin);
    if (t.bins.probe) emit(a, b, c, t.first, t.bins.neighbour);
  });
}

/// Returns the fingerprints of onset events, in order of their first event.
[[nodiscard]] std::vector<fingerprint> fingerprints(std::span<const onset_event> events,
                                                    const fingerprint_options& options = {});

/// Returns the fingerprints of notes [first, last) of `notes` (clamped to notes.size()).
///
///     const auto prints = continuo::fingerprints(perf.notes, 0, perf.notes.size());
[[nodiscard]] std::vector<fingerprint> fingerprints(const note_columns& notes, std::size_t first, std::size_t last,
                                                    const fingerprint_options& options = {});

}  // namespace continuo

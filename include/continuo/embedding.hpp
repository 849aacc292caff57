#pragma once
/// \file Fixed-length similarity embeddings of played notes: one float32 vector per range of notes.
///
/// A vector is three blocks, each L2-normalised, weighted, and the whole L2-normalised again, so the
/// dot product of two vectors is their cosine similarity:
/// - *triples*: the note-triple fingerprints of continuo/fingerprint.hpp (tempo-invariant: pitches of the
///   melody and bass lines and the ratio of the two gaps), feature-hashed with a sign (a count sketch) into
///   `triple_dimension` bins, then the signed square root of each bin. The signed hash makes collisions cancel on
///   average instead of adding up, which is what lets 896 bins do the work of a 4096-bin unsigned vector.
/// - *pitch*: pitch-class, bass pitch-class, melodic interval, bass interval, vertical interval-class and
///   register histograms (96 bins).
/// - *rhythm*: histograms of the ratio of successive inter-onset gaps and of chord sizes (32 bins).
/// Only onsets and pitches are read: durations, velocities and pedals do not change a vector, and no block
/// depends on absolute time, so the same passage played 30 % faster gives nearly the same vector.
/// docs/embeddings.md lists every bin and the measured retrieval accuracy.

#include <continuo/fingerprint.hpp>
#include <continuo/performance.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace continuo {

/// Bins of the pitch block (see docs/embeddings.md for the layout).
inline constexpr std::size_t embedding_pitch_dimension = 96;
/// Bins of the rhythm block.
inline constexpr std::size_t embedding_rhythm_dimension = 32;

/// How to embed notes. The defaults are the ones measured in docs/embeddings.md; vectors are comparable
/// only when made with equal options.
struct embedding_options {
  /// Bins of the hashed note-triple block; the vector has this + 96 + 32 floats (1024 by default).
  std::size_t triple_dimension = 896;
  /// Weight of each block before the final normalisation: the cosine of two vectors is the
  /// weight²-weighted mean of the blocks' cosines. The triples carry identity; the histograms make
  /// vectors of similar music close even when no triple is shared.
  float triple_weight = 1.0F;
  float pitch_weight = 0.25F;
  float rhythm_weight = 0.15F;
  /// Hashes intervals instead of pitches and replaces the pitch-class histograms by the magnitudes of
  /// their discrete Fourier transform: a transposed copy gives the same vector. Such vectors are not
  /// comparable with those of the default mode.
  bool transposition_invariant = false;
  /// The triples. Its transposition_invariant is overridden by the field above; edge_probe (0.25 by
  /// default here) emits both ratio bins of a gap ratio near a bin edge, on both sides of a comparison,
  /// so that expressive timing across an edge still matches.
  fingerprint_options fingerprint{.edge_probe = 0.25};
};

/// Returns the number of floats of a vector made with `options`.
[[nodiscard]] std::size_t embedding_dimension(const embedding_options& options = {}) noexcept;

/// Returns the embedding of notes given as columns of one length (onsets in seconds, non-decreasing).
/// All zeros when there are no notes; otherwise L2 norm 1. Throws continuo::error for a weight that
/// is negative or not finite, a triple_dimension over 2^20 or a pitch over 127.
[[nodiscard]] std::vector<float> embed(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                                       const embedding_options& options = {});

/// Returns the embedding of notes [first, last) of `notes` (clamped to notes.size()).
///
///     const auto v = continuo::embed(perf.notes, 0, perf.notes.size());
[[nodiscard]] std::vector<float> embed(const note_columns& notes, std::size_t first, std::size_t last,
                                       const embedding_options& options = {});

/// How to cut notes into overlapping windows. A window starts on an onset event (a chord is never cut),
/// so each window's vector equals embed() over its note range.
struct window_options {
  /// Window length and hop in seconds; used when length_events is 0.
  seconds_t length_s = 30.0;
  seconds_t hop_s = 10.0;
  /// Window length and hop in onset events (chords count once) instead of seconds: the same music
  /// gives the same windows at any tempo. Used when over 0; hop_events 0 means length_events / 4.
  std::size_t length_events = 0;
  std::size_t hop_events = 0;
  /// Threads that embed windows; the result does not depend on it.
  unsigned threads = 1;
};

/// Where one window lies.
struct window_span {
  std::size_t first_note = 0;  ///< Notes [first_note, last_note) of the input.
  std::size_t last_note = 0;
  seconds_t start_s = 0;  ///< Onset of the window's first note.
  seconds_t end_s = 0;    ///< Onset of its last note.
  friend constexpr bool operator==(const window_span&, const window_span&) = default;
};

/// Windows and their vectors, row-major: vectors[i * dimension, (i + 1) * dimension) is windows[i].
struct embedded_windows {
  std::size_t dimension = 0;
  std::vector<window_span> windows;
  std::vector<float> vectors;
  friend bool operator==(const embedded_windows&, const embedded_windows&) = default;
};

/// Returns the embeddings of overlapping windows of notes. Windows without notes are left out; the last
/// window reaches the last note. Throws continuo::error when a length or hop is not positive or not
/// finite, or a hop under a millionth of the length (windows are found hop by hop), and as embed does.
///
///     const auto w = continuo::embed_windows(perf.notes, {.length_s = 10, .hop_s = 2.5});
[[nodiscard]] embedded_windows embed_windows(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                                             const window_options& windows = {}, const embedding_options& options = {});

/// Returns the embeddings of overlapping windows of all the notes.
[[nodiscard]] embedded_windows embed_windows(const note_columns& notes, const window_options& windows = {},
                                             const embedding_options& options = {});

namespace detail {
/// The kernels of count_triples. They give identical counts; `best` is the fastest this CPU runs, capped by
/// CONTINUO_EMBED_KERNEL=portable in the environment (read once), to test the portable kernel on any machine.
enum class triple_kernel : std::uint8_t { best, portable, avx2 };

/// Returns whether `kernel` runs on this CPU (best and portable always do).
[[nodiscard]] bool has_triple_kernel(triple_kernel kernel) noexcept;

/// Adds the keys of the note triples of `events` into out, the triple block of an embedding before its
/// signed square root: each hash of for_each_fingerprint goes through murmur3's 32-bit finaliser, h, and
/// adds +1 (h even) or -1 (h odd) to out[(h × out.size()) >> 32]. A kernel that does not run here, or
/// that cannot handle the input (non-finite gap ratios, 2^31 bins or more), falls back to the portable one.
void count_triples(std::span<const onset_event> events, const fingerprint_options& options, std::span<float> out,
                   triple_kernel kernel = triple_kernel::best);
}  // namespace detail

}  // namespace continuo

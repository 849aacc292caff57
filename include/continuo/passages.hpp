#pragma once
/// \file Score-free passage discovery: the passages played again and again, within and across sessions.
///
/// No piece needs to be registered. Each attempt (a stretch of continuous playing) is fingerprinted with
/// the tempo-invariant note triples of continuo/fingerprint.hpp; pairs of attempts that share enough
/// triples are aligned by voting on the difference of their onset-event indices (a diagonal, which does
/// not depend on tempo); each dense diagonal is a matched segment, and the segments' two sides, merged where
/// they cover the same notes, form passage groups. Each group gets a stable id and its occurrences, in time
/// order, with their tempo relative to the first one and an absolute beat estimate. docs/embeddings.md
/// ("Passages") gives the algorithm, its bounds and its accuracy on simulated practice.

#include <continuo/fingerprint.hpp>
#include <continuo/session.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace continuo {

/// One session's playing, as a view of columns the caller keeps alive (a performance's notes, sliced or
/// whole). Sessions are processed in order of `time_s`, then of their place in the input.
struct session_notes {
  /// The caller's id of the session (a date, a file name): it goes into the passage ids, so it must be the
  /// same every time the session is passed.
  std::string id;
  /// When the session began, in seconds on a clock shared by all sessions (Unix time, say).
  double time_s = 0;
  std::span<const seconds_t> onset_s;   ///< Note onsets on the session's own clock, non-decreasing.
  std::span<const std::uint8_t> pitch;  ///< MIDI key numbers.
  std::span<const std::uint8_t> velocity;
  /// Attempts whose note ranges index these columns (split_practice's); when empty, the notes are split
  /// wherever no note starts for passage_options::attempt_gap_s.
  std::span<const attempt_span> attempts;
  /// Note offsets on the same clock, or empty. With them, the occurrences' tempo weighs each onset event
  /// by its beat probability (tempo_options::event_model), which is more accurate (docs/tempo_key.md).
  std::span<const seconds_t> offset_s;
};

/// How to find passages. The defaults are the ones measured in docs/embeddings.md.
struct passage_options {
  /// Silence between onsets that ends an attempt, for sessions given without attempts.
  seconds_t attempt_gap_s = 3.0;
  /// The triples. edge_probe lets a gap ratio played across a bin edge still match.
  fingerprint_options fingerprint{.edge_probe = 0.25};
  /// Attempts longer than this many onset events are cut into units of this size, so that the work of
  /// aligning two units stays bounded.
  std::size_t max_unit_events = 512;
  /// A triple hash occurring more often than this in a unit (a trill, an Alberti bass) is not used to
  /// align that unit: its matches would fill every diagonal.
  std::size_t max_hash_repeats = 6;
  /// Each unit is aligned with at most this many earlier units (those sharing the most distinct hashes)
  /// and with itself.
  std::size_t max_candidates = 24;
  /// Only the first this many units holding a hash vote for candidates (a common hash says little).
  std::size_t max_postings = 256;
  /// Matches on one diagonal (± diagonal_tolerance events) needed for a segment.
  std::size_t min_matches = 12;
  /// Missing or extra events allowed before a match leaves its diagonal.
  std::size_t diagonal_tolerance = 2;
  /// A diagonal run is cut where this many events pass without a match.
  std::size_t max_gap_events = 12;
  /// Shortest passage, in onset events.
  std::size_t min_events = 8;
  /// Segments taken from one pair of units at most.
  std::size_t max_segments_per_pair = 8;
  /// Two stretches of one session covering the same notes to this intersection-over-union are one
  /// occurrence.
  double merge_overlap = 0.6;
  /// Groups with fewer occurrences are left out.
  std::size_t min_occurrences = 2;
  /// An occurrence's bpm is reported when estimate_tempo is at least this confident (else 0).
  double min_bpm_confidence = 0.3;
  /// Threads that align units; the result does not depend on it.
  unsigned threads = 1;
};

/// One time a passage was played.
struct passage_occurrence {
  std::size_t session_index = 0;  ///< Index of the session in the input.
  std::size_t first_note = 0;     ///< Notes [first_note, last_note) of that session's columns.
  std::size_t last_note = 0;
  seconds_t start_s = 0;  ///< Onset of its first note, on the session's clock.
  seconds_t end_s = 0;    ///< Onset of its last note.
  /// Tempo relative to the group's first occurrence (1.25: 25 % faster), from the ratios of the time spans
  /// of matched triples.
  double tempo_ratio = 1.0;
  double bpm = 0;             ///< estimate_tempo's beat over its notes; 0 when not confident enough.
  double bpm_confidence = 0;  ///< estimate_tempo's confidence, reported even when bpm is 0.
  std::size_t matches = 0;    ///< Triple matches that support it, over all the segments it is part of.
  friend bool operator==(const passage_occurrence&, const passage_occurrence&) = default;
};

/// A passage played at least min_occurrences times.
struct passage_group {
  /// Stable id: a 64-bit hash of the session id and the note times of the group's earliest-completed match
  /// (the pair of occurrences whose later side came first). Adding sessions later in time leaves it
  /// unchanged; when new playing bridges two groups, the merged group keeps the older id.
  std::uint64_t id = 0;
  std::vector<passage_occurrence> occurrences;  ///< In time order.
  friend bool operator==(const passage_group&, const passage_group&) = default;
};

/// Returns the passages repeated within and across sessions, ordered by their first occurrence.
/// O(U · (F log F + C · F)) time for U units of at most F triples and C candidates each; memory O(total
/// triples). Throws continuo::error when a session's columns differ in length or an attempt lies outside them.
///
///     std::vector<continuo::session_notes> days{{"2024-05-01", t0, n.onset_s, n.pitch, n.velocity, split.attempts}};
///     for (const auto& g : continuo::find_passages(days)) show(g.id, g.occurrences);
[[nodiscard]] std::vector<passage_group> find_passages(std::span<const session_notes> sessions,
                                                       const passage_options& options = {});

}  // namespace continuo

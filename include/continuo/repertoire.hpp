#pragma once
/// \file Which registered piece is being played, where in it, and how fast.
///
/// A repertoire holds reference performances (score MIDIs or recordings) with their bar grids and an
/// inverted index from note-triple hashes (continuo/fingerprint.hpp) to where they occur. A query's
/// triples vote for pieces; each piece's votes are then verified geometrically: a match between a query
/// triple and a reference triple says how much faster the query was played (the ratio of their spans)
/// and where the query's clock sits on the reference's, so the matches of a real occurrence pile up in
/// one (tempo ratio, reference offset) cell while chance matches spread out. The size of that pile is
/// the score. locate() follows the pile with a subsequence DTW on the onset events to find where each
/// passage starts and ends, one passage per stop-and-restart. docs/repertoire.md gives the method and
/// its measured accuracy.

#include <continuo/embedding.hpp>
#include <continuo/fingerprint.hpp>
#include <continuo/index.hpp>
#include <continuo/performance.hpp>
#include <continuo/session.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace continuo {

/// The piece id of "no registered piece matches".
inline constexpr std::uint32_t unknown_piece = std::numeric_limits<std::uint32_t>::max();

/// Returns the downbeat times (seconds) of a performance's bars, laid out by its time signatures
/// (4/4 until the first one, as the SMF specification says) through its tempo map, from tick 0 up to
/// the last note's offset or duration_tick, whichever is later. Empty for an SMPTE division, which
/// has no bars.
[[nodiscard]] std::vector<seconds_t> bar_grid(const performance& perf);

/// The second recogniser: whole-vector embeddings (continuo/embedding.hpp) of overlapping windows of each
/// reference, searched with the query's embedding. A window vector is a bag of triples without their
/// geometry, so a query that stops and restarts still resembles its piece when its separate stretches
/// each hold too few consistent votes. It is consulted only when the votes alone say unknown, and it
/// can only confirm their best guess, never name another piece.
struct embedding_fusion_options {
  /// Whether references are embedded at add() and unknown queries searched. On by default: on ASAP
  /// (seed 1, with the scaled threshold) it raises top-1 of 10-s stop-and-restart queries from 0.900
  /// to 0.919 and of clean 10-s queries from 0.957 to 0.964, at the price of one more held-out 30-s
  /// query of 168 taken for a registered piece (unknown rate 0.845 → 0.839) and about 1.1 KiB per
  /// 2.5 s of reference (docs/repertoire.md). Off, nothing is embedded and window_count() is 0.
  bool enabled = true;
  /// Reference windows: 10 s every 2.5 s, as long as the short queries that need the help.
  seconds_t window_s = 10.0;
  seconds_t hop_s = 2.5;
  /// How the vectors are made. Its transposition_invariant is overridden by the repertoire's
  /// fingerprint option, so that both recognisers are key-blind together.
  embedding_options embedding{};
  /// int8: about 1.1 KiB per window (1 KiB of codes, a scale, id, metadata and table), a quarter of
  /// float32's; scores within about 1e-3 of it.
  vector_storage storage = vector_storage::int8;
  /// Nearest windows examined per query.
  std::size_t neighbours = 64;
  /// The votes' best guess is accepted when the nearest window of any other piece is at least this
  /// much less similar to the query than the guess's nearest window (a cosine difference), the
  /// guess holds at least `min_score` consistent votes and `min_score_ratio` times the best other
  /// piece's (the votes must still lean to it). Calibrated by bench/eval/fusion_calibration.py on
  /// queries of another seed than identify.py's: a margin of 0 or 0.02 let held-out pieces through.
  double min_margin = 0.05;
  double min_score = 3;
  double min_score_ratio = 1.2;
};

/// How pieces are indexed and queries verified. The defaults are the ones measured in
/// docs/repertoire.md.
struct repertoire_options {
  /// How reference and query notes are hashed. transposition_invariant makes the whole repertoire
  /// key-blind: a transposed performance matches, at the cost of more chance matches.
  fingerprint_options fingerprint{};
  /// Query-side multi-probe (fingerprint_options::edge_probe): a gap ratio played across a bin edge
  /// still finds its reference triple.
  double query_edge_probe = 0.3;
  /// Slowest and fastest query tempo considered, relative to the reference: wide, since a score
  /// MIDI's nominal tempo may be far from how the piece is played, before any practice slows it down.
  double min_tempo_ratio = 1.0 / 3;
  double max_tempo_ratio = 3.0;
  /// Hashes with more postings than this are skipped at query time: they say little (repeated notes,
  /// scales) and cost the most. On ASAP's 236 scores (4.3 M postings), 400 instead of 4000 keeps
  /// top-1 and cuts a transposition-invariant query from 158 to 28 ms (its interval hashes collide
  /// far more) while raising its top-1 from 0.90 to 0.955.
  std::size_t max_postings = 400;
  /// Width of a bin of ln(tempo ratio) when voting for the tempo: 0.05 is about 5 %.
  double tempo_bin = 0.05;
  /// A match is consistent with the voted tempo when its own ln(ratio) is this close (a triple's span
  /// varies with expressive timing far more than a whole passage's tempo).
  double tempo_tolerance = 0.25;
  /// Width of the window of reference offsets (seconds) whose matches count as one occurrence:
  /// wide enough for the drift of rubato over a query, narrow enough to keep chance matches out.
  seconds_t offset_window_s = 2.0;
  /// The best piece is reported as unknown_piece when its score is below this many consistent
  /// matches, or below `min_score_ratio` times the best other piece's score (see docs/repertoire.md for
  /// the calibration on pieces that were not registered).
  double min_score = 12;
  double min_score_ratio = 1.5;
  /// A threshold that shrinks with the query: the best piece is also known when its score is at least
  /// `min_score_per_event` times the query's onset events, at least `min_scaled_score`, and at least
  /// `min_scaled_score_ratio` times the best other piece's. A 10-s excerpt of a slow movement or a
  /// stop-and-restart query holds too few consistent matches for the fixed 12. The ratio is stricter
  /// than min_score_ratio because a short query's chance matches also fall under 12: at 1.5 (and no
  /// floor), as first proposed, it let 6 of 136 held-out 10-s queries through on the calibration seed
  /// and 8 of 168 on identify.py's. With these defaults, on ASAP (seed 1) it raised clean 10-s top-1
  /// from 0.954 to 0.957 and 10-s stop-and-restart from 0.891 to 0.900 with the held-out unknown
  /// rate unchanged. 0 turns the rule off. See docs/repertoire.md for the calibration.
  double min_score_per_event = 0.05;
  double min_scaled_score = 3;
  double min_scaled_score_ratio = 3;
  /// Alternatives kept in an identification, best first.
  std::size_t alternatives = 5;
  /// Queries longer than this many onset events are cut there (the cost and memory of a query stay
  /// bounded whatever is passed in; split long recordings with split_practice first).
  std::size_t max_query_events = 20'000;
  /// Passages found by locate() in one query at most, and the score a further passage needs.
  std::size_t max_placements = 16;
  double min_passage_score = 8;
  /// A further passage also needs this share of the strongest passage's score (what is left after
  /// the real passages are taken is chance matches, whose best cell grows with the query's length),
  /// unless it continues a kept passage on both clocks (a slow introduction before the Allegro).
  /// The strongest passage of the piece given to locate() needs neither: it is the piece's best place.
  double min_passage_share = 0.1;
  /// The embedding-window search that confirms a best guess the votes alone leave unknown.
  embedding_fusion_options fusion{};
  /// Refine passage boundaries with a subsequence DTW on the pitch-class sets of onset events. Off
  /// by default: on ASAP it placed 95.8 % of excerpt starts within a bar against 96.6 % for the
  /// votes alone (each end placed by the median of its nearest consistent matches); see
  /// docs/repertoire.md.
  bool refine = false;
};

/// A piece found for a query, with how well it matched.
struct candidate {
  std::uint32_t piece = unknown_piece;
  std::string name;
  double score = 0;        ///< Matches consistent with one tempo ratio and reference offset.
  double tempo_ratio = 0;  ///< Query tempo over reference tempo (0.7: played 30 % slower).
  friend bool operator==(const candidate&, const candidate&) = default;
};

/// Where a stretch of a query lies in a piece. Bars are 1-based and fractional: bar 3.5 is half-way
/// through the third bar; a bar before the first downbeat (a pickup) is bar 0.x.
struct placement {
  seconds_t query_start_s = 0;  ///< On the query's clock.
  seconds_t query_end_s = 0;
  seconds_t reference_start_s = 0;  ///< On the reference's clock.
  seconds_t reference_end_s = 0;
  double first_bar = 0;    ///< Bar position of reference_start_s.
  double last_bar = 0;     ///< Bar position of reference_end_s.
  double tempo_ratio = 0;  ///< Query tempo over reference tempo over this passage.
  double score = 0;        ///< Consistent matches in it.
  friend bool operator==(const placement&, const placement&) = default;
};

/// Which piece a query is, how sure, and roughly where; locate() refines the where.
struct identification {
  std::uint32_t piece = unknown_piece;  ///< unknown_piece when nothing matched well enough.
  std::string name;                     ///< Empty when unknown.
  double confidence = 0;                ///< In [0, 1]: 1 − (other piece's score + 1)/(score + 1), 0 when unknown.
  double score = 0;
  double tempo_ratio = 0;  ///< Query tempo over reference tempo; 0 when unknown.
  placement where;         ///< The strongest occurrence, from the voting alone.
  /// With fusion enabled and the votes alone short of the unknown threshold: the cosine of the
  /// query's embedding to the nearest window of the votes' best guess, and how far that is above the
  /// nearest window of any other piece (negative when another piece is nearer). 0 otherwise.
  double similarity = 0;
  double similarity_margin = 0;
  /// Whether the piece was accepted on the embedding's agreement rather than on the votes alone.
  bool by_fusion = false;
  /// Onset events of the query that were voted with (chords merged; cut at max_query_events).
  std::size_t query_events = 0;
  /// The best other pieces (a piece registered twice under one name counts once), best first. When
  /// unknown, the best guess comes first.
  std::vector<candidate> alternatives;

  [[nodiscard]] bool known() const noexcept { return piece != unknown_piece; }
  friend bool operator==(const identification&, const identification&) = default;
};

/// The passages of a query in one piece, in query order.
struct location {
  std::uint32_t piece = unknown_piece;
  std::vector<placement> placements;
  friend bool operator==(const location&, const location&) = default;
};

/// One attempt of a session: which piece and which bars.
struct attempt_analysis {
  attempt_span attempt;
  identification identified;
  std::vector<placement> placements;  ///< Empty when the piece is unknown.
  friend bool operator==(const attempt_analysis&, const attempt_analysis&) = default;
};

/// How many times each bar of a piece was played in a session. plays[b] counts bar b (plays[0] is the
/// pickup); a bar counts as played by a passage that covers at least half of it.
struct bar_heatmap {
  std::uint32_t piece = unknown_piece;
  std::string name;
  std::vector<std::uint32_t> plays;
  friend bool operator==(const bar_heatmap&, const bar_heatmap&) = default;
};

/// What a session of practice covered.
struct session_analysis {
  std::vector<attempt_analysis> attempts;
  std::vector<bar_heatmap> heatmaps;  ///< One per piece played, by piece id.
  friend bool operator==(const session_analysis&, const session_analysis&) = default;
};

/// Registered pieces and the index that finds them. Adding is not thread-safe; identify(), locate()
/// and analyse() are const and may run concurrently.
///
///     continuo::repertoire rep;
///     const auto id = rep.add("Fugue BWV 846", score.notes, continuo::bar_grid(score));
///     const auto found = rep.identify(take.notes, 0, take.notes.size());
///     if (found.known()) std::printf("%s, bars %.0f-%.0f\n", found.name.c_str(), found.where.first_bar,
///                                    found.where.last_bar);
class repertoire {
 public:
  explicit repertoire(const repertoire_options& options = {});

  /// Registers notes [0, notes.size()) as a piece; `downbeats_s` are the starts of its bars on the
  /// notes' clock (sorted; may be empty). Returns the piece's id, 0, 1, 2 ... in order of adding.
  /// Throws continuo::error when the notes' onsets are not sorted or the downbeats not increasing.
  std::uint32_t add(std::string_view name, const note_columns& notes, std::span<const seconds_t> downbeats_s);
  /// Registers a performance with the bars of its time signatures (bar_grid).
  std::uint32_t add(std::string_view name, const performance& perf);
  /// Registers notes given as onset and pitch columns of one length.
  std::uint32_t add(std::string_view name, std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                    std::span<const seconds_t> downbeats_s);

  /// Returns the piece that notes [first, last) of `notes` come from.
  [[nodiscard]] identification identify(const note_columns& notes, std::size_t first, std::size_t last) const;
  /// Returns the piece of notes given as columns (onsets non-decreasing).
  [[nodiscard]] identification identify(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch) const;

  /// Returns the passages of notes [first, last) in piece `piece` (an id from add()), refined by
  /// alignment. Throws continuo::error for an id that was never returned by add().
  [[nodiscard]] location locate(const note_columns& notes, std::size_t first, std::size_t last,
                                std::uint32_t piece) const;
  [[nodiscard]] location locate(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                                std::uint32_t piece) const;

  /// Identifies and locates every attempt of `split` (from split_practice(perf)), and counts how many
  /// times each bar of each piece was played.
  [[nodiscard]] session_analysis analyse(const performance& perf, const practice_split& split) const;

  [[nodiscard]] std::size_t size() const noexcept { return pieces_.size(); }
  [[nodiscard]] const std::string& name(std::uint32_t piece) const;
  /// Returns the downbeats of a piece, as registered.
  [[nodiscard]] std::span<const seconds_t> downbeats(std::uint32_t piece) const;
  /// Returns the bar position (1-based, fractional; see placement) of time `t` of a piece.
  [[nodiscard]] double bar_at(std::uint32_t piece, seconds_t t) const;
  /// Returns the number of postings in the index: its memory is about 16 bytes each.
  [[nodiscard]] std::size_t posting_count() const noexcept;
  /// Returns the number of embedded reference windows (0 unless fusion is enabled) and the bytes
  /// each takes in the window index (about 1.1 KiB in int8, 4.1 KiB in float32).
  [[nodiscard]] std::size_t window_count() const noexcept { return windows_.size(); }
  [[nodiscard]] double bytes_per_window() const noexcept { return windows_.bytes_per_vector(); }
  [[nodiscard]] const repertoire_options& options() const noexcept { return options_; }

 private:
  /// One reference triple in the index.
  struct posting {
    std::uint32_t hash = 0;
    std::uint32_t piece = 0;
    std::uint32_t event = 0;  ///< Index into the piece's onset events.
    float span_s = 0;         ///< The triple's span on the reference clock.
  };

  /// The index is kept as a few segments of geometrically growing size (as a log-structured merge
  /// tree does), so adding a piece costs amortised O(its postings × log pieces), not a rebuild.
  struct segment {
    std::vector<std::uint32_t> bucket_start;  ///< Postings of bucket b: [bucket_start[b], bucket_start[b+1]).
    std::vector<posting> postings;            ///< Grouped by bucket (a mix of the hash's bits).
    unsigned shift = 32;                      ///< bucket = mix(hash) >> shift.
  };

  /// A registered piece.
  struct piece_data {
    std::string name;
    std::uint32_t name_id = 0;  ///< Pieces registered under one name share it.
    std::vector<onset_event> events;
    std::vector<std::uint16_t> chroma;  ///< Pitch classes of each event, a 12-bit set.
    std::vector<std::uint8_t> pitch;    ///< The notes' pitches, indexed by onset_event::first.
    std::vector<seconds_t> downbeats_s;
    seconds_t end_s = 0;
  };

  struct match;
  struct query;

  [[nodiscard]] query make_query(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch) const;
  [[nodiscard]] std::vector<match> matches(const query& q) const;
  [[nodiscard]] identification identify(const query& q) const;
  /// Fills the similarity fields of `result` for the best guess `guess` (a name id) of the votes.
  void search_windows(const query& q, std::uint32_t guess, identification& result) const;
  [[nodiscard]] embedding_options window_embedding() const;
  [[nodiscard]] location locate(const query& q, std::uint32_t piece) const;
  /// Locates with the query's matches in `piece` already found (`ms`, in query order).
  [[nodiscard]] location locate(const query& q, std::uint32_t piece, const std::vector<match>& ms) const;
  void insert(const std::vector<posting>& postings);

  repertoire_options options_;
  std::vector<piece_data> pieces_;
  std::vector<std::string> names_;
  std::vector<segment> segments_;
  /// The fusion's reference windows: id = position in window_piece_, group = piece id.
  vector_index windows_;
  std::vector<std::uint32_t> window_piece_;
};

}  // namespace continuo

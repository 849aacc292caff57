// The repertoire on pieces built in code: identification, localisation, tempo, unknown pieces,
// transposition, stop-and-restart, session heatmaps, threads and hostile input.

#include <continuo/repertoire.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <limits>
#include <random>
#include <vector>

namespace {

using continuo::repertoire;
using continuo::repertoire_options;

/// A piece of 40 bars of 4/4 at 120 bpm (2 s a bar): a melody in uneven rhythm over a bass chord on
/// every beat, drawn from `seed`.
struct piece {
  std::vector<double> onset_s;
  std::vector<std::uint8_t> pitch;
  std::vector<double> downbeats_s;
};

constexpr double bar_s = 2.0;

piece make_piece(unsigned seed, int bars = 40) {
  std::mt19937 rng(seed);
  piece p;
  const std::vector<double> durations{0.25, 0.25, 0.5, 0.5, 0.75, 1.0};  // in beats of 0.5 s
  int melody = 72;
  for (int b = 0; b < bars; ++b) {
    const double bar_start = b * bar_s;
    p.downbeats_s.push_back(bar_start);
    std::vector<std::pair<double, std::uint8_t>> notes;
    for (int beat = 0; beat < 4; ++beat) {
      const int root = 48 + static_cast<int>(rng() % 12);
      for (const int step : {0, 4, 7})
        notes.emplace_back(bar_start + beat * 0.5, static_cast<std::uint8_t>(root + step));
    }
    for (double beats = 0; beats < 4;) {
      notes.emplace_back(bar_start + beats * 0.5, static_cast<std::uint8_t>(melody));
      beats += durations[rng() % durations.size()];
      melody = std::clamp(melody + static_cast<int>(rng() % 9) - 4, 64, 88);
    }
    std::sort(notes.begin(), notes.end());
    for (const auto& [t, k] : notes) {
      p.onset_s.push_back(t);
      p.pitch.push_back(k);
    }
  }
  return p;
}

/// Notes of bars [first, last) (1-based first), moved to start at `at_s`, `factor` times as fast,
/// transposed by `shift`.
piece excerpt(const piece& p, int first, int last, double at_s = 100.0, double factor = 1.0, int shift = 0) {
  piece out;
  const double from = (first - 1) * bar_s;
  const double to = (last - 1) * bar_s;
  for (std::size_t i = 0; i < p.onset_s.size(); ++i) {
    if (p.onset_s[i] >= from && p.onset_s[i] < to) {
      out.onset_s.push_back(at_s + (p.onset_s[i] - from) / factor);
      out.pitch.push_back(static_cast<std::uint8_t>(p.pitch[i] + shift));
    }
  }
  return out;
}

void append(piece& to, const piece& from) {
  to.onset_s.insert(to.onset_s.end(), from.onset_s.begin(), from.onset_s.end());
  to.pitch.insert(to.pitch.end(), from.pitch.begin(), from.pitch.end());
}

repertoire make_repertoire(const repertoire_options& options = {}, int count = 6) {
  repertoire rep(options);
  for (int k = 0; k < count; ++k) {
    const auto p = make_piece(static_cast<unsigned>(k + 1));
    rep.add("piece " + std::to_string(k), p.onset_s, p.pitch, p.downbeats_s);
  }
  return rep;
}

TEST(repertoire, finds_a_piece_among_several) {
  const auto rep = make_repertoire();
  const auto q = excerpt(make_piece(3), 11, 21);
  const auto found = rep.identify(q.onset_s, q.pitch);
  ASSERT_TRUE(found.known());
  EXPECT_EQ(found.piece, 2U);
  EXPECT_EQ(found.name, "piece 2");
  EXPECT_GT(found.confidence, 0.8);
  EXPECT_NEAR(found.tempo_ratio, 1.0, 0.05);
  EXPECT_NEAR(found.where.first_bar, 11.0, 1.0);
  ASSERT_FALSE(found.alternatives.empty());
  EXPECT_LT(found.alternatives[0].score, found.score / 4);
}

TEST(repertoire, locates_the_bar_range) {
  const auto rep = make_repertoire();
  const auto q = excerpt(make_piece(4), 17, 25);
  const auto where = rep.locate(q.onset_s, q.pitch, 3);
  ASSERT_EQ(where.placements.size(), 1U);
  const auto& p = where.placements[0];
  EXPECT_NEAR(p.first_bar, 17.0, 0.05);
  EXPECT_NEAR(p.last_bar, 24.9, 0.2);  // the last onset, near the end of bar 24
  EXPECT_NEAR(p.reference_start_s, 32.0, 0.01);
  EXPECT_NEAR(p.query_start_s, 100.0, 0.01);
}

TEST(repertoire, measures_the_tempo_of_a_slower_excerpt) {
  const auto rep = make_repertoire();
  const auto q = excerpt(make_piece(2), 5, 15, 0.0, 0.7);
  const auto found = rep.identify(q.onset_s, q.pitch);
  ASSERT_TRUE(found.known());
  EXPECT_EQ(found.piece, 1U);
  EXPECT_NEAR(found.tempo_ratio, 0.7, 0.03);
  const auto where = rep.locate(q.onset_s, q.pitch, 1);
  ASSERT_EQ(where.placements.size(), 1U);
  EXPECT_NEAR(where.placements[0].tempo_ratio, 0.7, 0.03);
  EXPECT_NEAR(where.placements[0].first_bar, 5.0, 0.05);
}

TEST(repertoire, reports_an_unregistered_piece_as_unknown) {
  const auto rep = make_repertoire();
  for (unsigned seed = 100; seed < 105; ++seed) {
    const auto q = excerpt(make_piece(seed), 1, 16);
    const auto found = rep.identify(q.onset_s, q.pitch);
    EXPECT_FALSE(found.known()) << "seed " << seed << " taken for " << found.name << " with score " << found.score;
    EXPECT_EQ(found.confidence, 0.0);
  }
}

TEST(repertoire, matches_a_transposed_copy_only_in_the_invariant_mode) {
  repertoire_options invariant;
  invariant.fingerprint.transposition_invariant = true;
  const auto plain = make_repertoire();
  const auto blind = make_repertoire(invariant);
  const auto q = excerpt(make_piece(5), 9, 19, 0.0, 1.0, 3);
  const auto found = blind.identify(q.onset_s, q.pitch);
  ASSERT_TRUE(found.known());
  EXPECT_EQ(found.piece, 4U);
  const auto where = blind.locate(q.onset_s, q.pitch, 4);
  ASSERT_FALSE(where.placements.empty());
  EXPECT_NEAR(where.placements[0].first_bar, 9.0, 0.5);
  EXPECT_FALSE(plain.identify(q.onset_s, q.pitch).known());
}

TEST(repertoire, finds_each_passage_of_a_stop_and_restart) {
  const auto rep = make_repertoire();
  const auto p = make_piece(1);
  auto q = excerpt(p, 11, 17, 0.0);     // bars 11-16, 12 s
  append(q, excerpt(p, 14, 22, 14.0));  // a 2 s pause, then again from bar 14 to bar 21
  const auto where = rep.locate(q.onset_s, q.pitch, 0);
  ASSERT_EQ(where.placements.size(), 2U);
  EXPECT_NEAR(where.placements[0].first_bar, 11.0, 0.1);
  EXPECT_NEAR(where.placements[0].last_bar, 16.9, 0.2);
  EXPECT_NEAR(where.placements[1].first_bar, 14.0, 0.1);
  EXPECT_NEAR(where.placements[1].last_bar, 21.9, 0.2);
  EXPECT_NEAR(where.placements[1].query_start_s, 14.0, 0.01);
}

TEST(repertoire, places_the_start_of_a_long_slowing_excerpt) {
  // Bars 5-24 (40 s) slowing down steadily to two thirds of the tempo: no single tempo ratio carries
  // the matches at the end back to the start, a line fitted to them does.
  const auto rep = make_repertoire();
  auto q = excerpt(make_piece(2), 5, 25, 0.0);
  for (auto& t : q.onset_s) t *= 1.0 + 0.0125 * t;
  const auto where = rep.locate(q.onset_s, q.pitch, 1);
  ASSERT_FALSE(where.placements.empty());
  EXPECT_NEAR(where.placements.front().first_bar, 5.0, 0.25);
  EXPECT_NEAR(where.placements.back().last_bar, 24.9, 0.5);
}

TEST(repertoire, finds_a_slow_passage_before_one_in_tempo) {
  // Two bars played slowly (a tempo of their own), then bars 7-18 in tempo.
  const auto rep = make_repertoire();
  const auto p = make_piece(3);
  auto q = excerpt(p, 5, 7, 0.0, 0.5);
  append(q, excerpt(p, 7, 19, q.onset_s.back() + 1.0));
  const auto where = rep.locate(q.onset_s, q.pitch, 2);
  ASSERT_EQ(where.placements.size(), 2U);
  EXPECT_NEAR(where.placements[0].first_bar, 5.0, 0.5);
  EXPECT_NEAR(where.placements[0].tempo_ratio, 0.5, 0.05);
  EXPECT_NEAR(where.placements[1].first_bar, 7.0, 0.2);
}

TEST(repertoire, locates_a_sparse_excerpt_in_the_piece_given) {
  // Under two bars of the melody alone: fewer consistent matches than a further passage needs (set
  // to 20 here), still placed, since the piece is given and this is its best place.
  repertoire_options options;
  options.min_passage_score = 20;
  const auto rep = make_repertoire(options);
  const auto p = make_piece(5);
  piece q;
  for (std::size_t i = 0; i < p.onset_s.size(); ++i) {
    if (p.onset_s[i] >= 24.0 && p.onset_s[i] < 25.5 && p.pitch[i] >= 64) {  // the melody alone
      q.onset_s.push_back(p.onset_s[i]);
      q.pitch.push_back(p.pitch[i]);
    }
  }
  const auto where = rep.locate(q.onset_s, q.pitch, 4);
  ASSERT_EQ(where.placements.size(), 1U);
  EXPECT_LT(where.placements[0].score, options.min_passage_score);
  EXPECT_NEAR(where.placements[0].first_bar, 13.0, 0.1);
}

/// A performance of `notes`, each held 0.2 s, on channel 0.
continuo::performance performance_of(const piece& notes) {
  continuo::performance perf;
  auto& n = perf.notes;
  n.onset_s = notes.onset_s;
  n.pitch = notes.pitch;
  for (const double t : notes.onset_s) n.offset_s.push_back(t + 0.2);
  n.channel.assign(notes.pitch.size(), 0);
  n.velocity.assign(notes.pitch.size(), 64);
  return perf;
}

TEST(repertoire, counts_the_plays_of_each_bar_of_a_session) {
  const auto rep = make_repertoire();
  const auto p = make_piece(2);
  piece day;
  double t = 10;
  for (int k = 0; k < 3; ++k, t += 30) append(day, excerpt(p, 11, 17, t));  // bars 11-16, three times
  append(day, excerpt(p, 30, 34, t));                                       // bars 30-33 once
  const auto unknown = excerpt(make_piece(77), 1, 6, t + 30);
  append(day, unknown);
  const auto perf = performance_of(day);
  const auto analysis = rep.analyse(perf, continuo::split_practice(perf));
  ASSERT_EQ(analysis.attempts.size(), 5U);
  EXPECT_FALSE(analysis.attempts[4].identified.known());
  ASSERT_EQ(analysis.heatmaps.size(), 1U);
  const auto& plays = analysis.heatmaps[0].plays;
  ASSERT_EQ(plays.size(), 41U);  // the pickup and 40 bars
  EXPECT_EQ(analysis.heatmaps[0].piece, 1U);
  for (std::size_t b = 0; b < plays.size(); ++b) {
    const std::uint32_t expected = (b >= 11 && b <= 16) ? 3 : (b >= 30 && b <= 33) ? 1 : 0;
    EXPECT_EQ(plays[b], expected) << "bar " << b;
  }
}

TEST(repertoire, gives_identical_results_from_one_and_two_threads) {
  const auto rep = make_repertoire();
  std::vector<piece> queries;
  queries.reserve(8);
  for (int k = 0; k < 8; ++k) queries.push_back(excerpt(make_piece(static_cast<unsigned>(k % 6 + 1)), 3 + k, 13 + k));
  std::vector<continuo::identification> one;
  one.reserve(queries.size());
  for (const auto& q : queries) one.push_back(rep.identify(q.onset_s, q.pitch));
  const auto half = [&](std::size_t from) {
    std::vector<continuo::identification> out;
    for (std::size_t k = from; k < queries.size(); k += 2)
      out.push_back(rep.identify(queries[k].onset_s, queries[k].pitch));
    return out;
  };
  auto even = std::async(std::launch::async, half, 0);
  auto odd = std::async(std::launch::async, half, 1);
  const auto a = even.get();
  const auto b = odd.get();
  for (std::size_t k = 0; k < queries.size(); ++k) EXPECT_EQ(one[k], k % 2 == 0 ? a[k / 2] : b[k / 2]) << k;
}

TEST(repertoire, gives_a_clear_result_for_degenerate_queries) {
  const auto rep = make_repertoire();
  const std::vector<double> none;
  const std::vector<std::uint8_t> no_pitch;
  EXPECT_FALSE(rep.identify(none, no_pitch).known());
  EXPECT_TRUE(rep.locate(none, no_pitch, 0).placements.empty());
  const std::vector<double> one{1.0};
  const std::vector<std::uint8_t> c{60};
  EXPECT_FALSE(rep.identify(one, c).known());
  const std::vector<double> instant(10'000, 5.0);
  const std::vector<std::uint8_t> chord(10'000, 60);
  EXPECT_FALSE(rep.identify(instant, chord).known());
  // A day of notes, four a second: cut at max_query_events, answered quickly.
  std::vector<double> day;
  std::vector<std::uint8_t> keys;
  for (int i = 0; i < 24 * 3600 * 4; ++i) {
    day.push_back(i * 0.25);
    keys.push_back(static_cast<std::uint8_t>(40 + (i * 7) % 40));
  }
  EXPECT_NO_THROW((void)rep.identify(day, keys));
  // Unsorted and non-finite onsets are cleaned, not trusted.
  auto q = excerpt(make_piece(3), 11, 21);
  std::reverse(q.onset_s.begin(), q.onset_s.end());
  std::reverse(q.pitch.begin(), q.pitch.end());
  q.onset_s.push_back(std::numeric_limits<double>::quiet_NaN());
  q.pitch.push_back(60);
  EXPECT_EQ(rep.identify(q.onset_s, q.pitch).piece, 2U);
  EXPECT_THROW((void)rep.identify(one, no_pitch), continuo::error);
  EXPECT_THROW((void)rep.locate(one, c, 99), continuo::error);
}

TEST(repertoire, refuses_unsorted_references_and_works_empty) {
  const repertoire empty;
  const auto q = excerpt(make_piece(3), 11, 21);
  EXPECT_FALSE(empty.identify(q.onset_s, q.pitch).known());
  repertoire rep;
  const std::vector<double> unsorted{1.0, 0.5};
  const std::vector<std::uint8_t> keys{60, 62};
  EXPECT_THROW(rep.add("bad", unsorted, keys, {}), continuo::error);
  const std::vector<double> sorted{0.5, 1.0};
  const std::vector<double> downbeats{0.0, 0.0};
  EXPECT_THROW(rep.add("bad", sorted, keys, downbeats), continuo::error);
  EXPECT_EQ(rep.add("tiny", sorted, keys, {}), 0U);  // too few notes to hash, but registered
  EXPECT_FALSE(rep.identify(sorted, keys).known());
}

TEST(repertoire, counts_bars_from_time_signatures) {
  continuo::performance perf;  // 480 PPQ, 120 bpm
  perf.time_signatures.push_back({0, 0, 3, 4});
  perf.time_signatures.push_back({continuo::tick_t{480} * 3 * 2, 0, 2, 4});  // 2/4 from bar 3
  perf.duration_tick = continuo::tick_t{480} * 3 * 2 + continuo::tick_t{480} * 2 * 2;
  const auto grid = continuo::bar_grid(perf);
  EXPECT_EQ(grid, (std::vector<double>{0.0, 1.5, 3.0, 4.0}));
  perf.time_signatures.clear();
  EXPECT_EQ(continuo::bar_grid(perf), (std::vector<double>{0.0, 2.0, 4.0}));  // 4/4 by default: 10 quarters
}

TEST(repertoire, gives_fractional_bars_with_a_pickup) {
  repertoire rep;
  const auto p = make_piece(1, 8);
  std::vector<double> downbeats(p.downbeats_s.begin() + 1, p.downbeats_s.end());  // bar 1 is a pickup
  const auto id = rep.add("pickup", p.onset_s, p.pitch, downbeats);
  EXPECT_NEAR(rep.bar_at(id, 1.0), 0.5, 1e-9);
  EXPECT_NEAR(rep.bar_at(id, 2.0), 1.0, 1e-9);
  EXPECT_NEAR(rep.bar_at(id, 3.0), 1.5, 1e-9);
  EXPECT_NEAR(rep.bar_at(id, 15.0), 7.5, 1e-9);  // the last bar lasts as long as the one before
}

}  // namespace

/// Bars 11-12 played three times over, each time from half a bar earlier than where it stopped, with
/// a 1.5-s pause before each restart: three 2-s stretches, each its own (tempo, offset) cell.
piece two_restarts(const piece& p) {
  auto q = excerpt(p, 11, 12, 0.0);
  append(q, excerpt(p, 11, 12, 3.5));
  append(q, excerpt(p, 11, 12, 7.0));
  return q;
}

TEST(repertoire, fusion_finds_a_query_with_two_restarts_the_votes_leave_unknown) {
  // These made-up pieces are dense with distinct triples (a bar gives about a hundred consistent
  // matches), so the unknown threshold is raised until each 2-s stretch falls short of it, as a
  // sparse 3-8-s stretch of a real piece falls short of 12; the scaled threshold, which each stretch
  // would pass, is turned off.
  repertoire_options strict;
  strict.min_score = 200;
  strict.min_score_per_event = 0;
  strict.fusion.enabled = false;
  auto fused = strict;
  fused.fusion.enabled = true;
  const auto votes = make_repertoire(strict);
  const auto both = make_repertoire(fused);
  EXPECT_EQ(votes.window_count(), 0U);
  EXPECT_GT(both.window_count(), 6U * 20U);  // 80-s pieces in 10-s windows every 2.5 s
  const auto q = two_restarts(make_piece(4));
  const auto alone = votes.identify(q.onset_s, q.pitch);
  ASSERT_FALSE(alone.known());
  ASSERT_FALSE(alone.alternatives.empty());
  const auto found = both.identify(q.onset_s, q.pitch);
  ASSERT_TRUE(found.known());
  EXPECT_TRUE(found.by_fusion);
  EXPECT_EQ(found.piece, 3U);
  EXPECT_GT(found.similarity_margin, fused.fusion.min_margin);
  EXPECT_GT(found.where.score, 0.0);
  EXPECT_EQ(alone.alternatives[0].piece, 3U);  // the votes' best guess, now confirmed
}

TEST(repertoire, fusion_keeps_an_unregistered_piece_unknown) {
  // The fusion alone: the scaled threshold takes one of these loops (seed 104) for a piece, as
  // scaled_threshold_keeps_an_unregistered_piece_unknown allows.
  repertoire_options fused;
  fused.fusion.enabled = true;
  fused.min_score_per_event = 0;
  const auto rep = make_repertoire(fused);
  for (unsigned seed = 100; seed < 105; ++seed) {
    for (const auto& q : {excerpt(make_piece(seed), 1, 16), two_restarts(make_piece(seed))}) {
      const auto found = rep.identify(q.onset_s, q.pitch);
      EXPECT_FALSE(found.known()) << "seed " << seed << " taken for " << found.name;
      EXPECT_FALSE(found.by_fusion);
    }
  }
}

namespace {

/// The melody alone over the first `seconds` of each bar of piece `seed`: a handful of notes, the
/// few triples of a sparse slow-movement excerpt.
std::vector<piece> melody_fragments(unsigned seed, double seconds = 1.0) {
  const auto p = make_piece(seed);
  std::vector<piece> out;
  for (int bar = 0; bar < 40; ++bar) {
    piece q;
    for (std::size_t i = 0; i < p.onset_s.size(); ++i) {
      const double t = p.onset_s[i] - bar * bar_s;
      if (t >= 0 && t < seconds && p.pitch[i] >= 64) {
        q.onset_s.push_back(p.onset_s[i]);
        q.pitch.push_back(p.pitch[i]);
      }
    }
    out.push_back(q);
  }
  return out;
}

/// The votes' unknown thresholds alone, the scaled one at `min_score_per_event` (0: off): the
/// fusion would confirm some of the same queries.
repertoire_options thresholds_alone(double min_score_per_event) {
  repertoire_options options;
  options.min_score_per_event = min_score_per_event;
  options.fusion.enabled = false;
  return options;
}

}  // namespace

TEST(repertoire, scaled_threshold_finds_a_sparse_query_the_fixed_one_leaves_unknown) {
  const auto fixed = thresholds_alone(0);
  const auto scaled = thresholds_alone(0.05);
  const auto votes = make_repertoire(fixed);
  const auto both = make_repertoire(scaled);
  int short_of_fixed = 0;
  for (const auto& q : melody_fragments(5)) {
    const auto alone = votes.identify(q.onset_s, q.pitch);
    const auto found = both.identify(q.onset_s, q.pitch);
    EXPECT_EQ(found.query_events, alone.query_events);
    if (alone.known()) {
      EXPECT_EQ(found, alone);  // the scaled threshold only lowers the fixed one
      continue;
    }
    const double events = static_cast<double>(alone.query_events);
    if (alone.alternatives.empty() ||
        alone.alternatives[0].score < std::max(scaled.min_scaled_score, scaled.min_score_per_event * events))
      continue;
    const double other = alone.alternatives.size() > 1 ? alone.alternatives[1].score : 0.0;
    if (alone.alternatives[0].score < scaled.min_scaled_score_ratio * other) continue;
    ++short_of_fixed;
    EXPECT_LT(alone.alternatives[0].score, fixed.min_score);
    ASSERT_TRUE(found.known()) << "a fragment of " << q.onset_s.size() << " notes";
    EXPECT_EQ(found.piece, 4U);
    EXPECT_EQ(found.score, alone.alternatives[0].score);
    EXPECT_GT(found.where.score, 0.0);
  }
  EXPECT_GE(short_of_fixed, 5);  // fragments of 4-6 events hold 3-11 consistent matches
}

TEST(repertoire, scaled_threshold_keeps_an_unregistered_piece_unknown) {
  // Excerpts of 3 to 15 bars and stop-and-restart loops of 10 unregistered pieces. These made-up
  // pieces share one random-walk melody range and chord vocabulary, so chance matches are far more
  // frequent than in real music: the fixed threshold itself takes a few of them for a piece. The
  // scaled one must add at most one to those.
  const auto fixed = thresholds_alone(0);
  const auto scaled = thresholds_alone(0.05);
  const auto votes = make_repertoire(fixed);
  const auto rep = make_repertoire(scaled);
  int queries = 0;
  int taken_by_fixed = 0;
  int taken_by_scaled = 0;
  for (unsigned seed = 100; seed < 110; ++seed) {
    const auto p = make_piece(seed);
    for (const auto& q :
         {excerpt(p, 1, 16), excerpt(p, 11, 16), excerpt(p, 21, 24), excerpt(p, 31, 33), two_restarts(p)}) {
      ++queries;
      const auto alone = votes.identify(q.onset_s, q.pitch);
      const auto found = rep.identify(q.onset_s, q.pitch);
      taken_by_fixed += alone.known() ? 1 : 0;
      taken_by_scaled += found.known() ? 1 : 0;
      if (alone.known()) {
        EXPECT_EQ(found, alone);
      }
    }
  }
  EXPECT_EQ(queries, 50);
  EXPECT_LE(taken_by_fixed, 3);
  EXPECT_LE(taken_by_scaled, taken_by_fixed + 1);
}

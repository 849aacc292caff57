// Score-free passage discovery on practice built in code.

#include <continuo/diagnostic.hpp>
#include <continuo/passages.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using continuo::passage_group;
using continuo::session_notes;

/// A passage of `events` onset events drawn from `seed`: uneven rhythm (in beats), a melody over a bass.
struct passage {
  std::vector<double> beat;
  std::vector<std::uint8_t> pitch;
};

passage make_passage(unsigned seed, int events = 40) {
  std::mt19937 rng(seed);
  const std::vector<double> durations{0.5, 0.5, 1.0, 0.25, 0.75, 1.5, 0.33};
  passage p;
  double b = 0;
  int melody = 72;
  for (int e = 0; e < events; ++e) {
    melody = std::clamp(melody + static_cast<int>(rng() % 15) - 7, 55, 96);
    p.beat.push_back(b);
    p.pitch.push_back(static_cast<std::uint8_t>(melody));
    if (e % 2 == 0) {
      p.beat.push_back(b);
      p.pitch.push_back(static_cast<std::uint8_t>(30 + rng() % 20));
    }
    b += durations[rng() % durations.size()];
  }
  return p;
}

/// One session's notes, laid out attempt after attempt with pauses between them.
struct session {
  std::vector<double> onset_s;
  std::vector<std::uint8_t> pitch;
  std::vector<std::uint8_t> velocity;
  std::vector<double> offset_s;
  double now_s = 0;

  /// Plays `p` at `bpm`, then pauses 5 s.
  void play(const passage& p, double bpm) {
    const double beat_s = 60.0 / bpm;
    for (std::size_t i = 0; i < p.beat.size(); ++i) {
      onset_s.push_back(now_s + p.beat[i] * beat_s);
      pitch.push_back(p.pitch[i]);
      velocity.push_back(static_cast<std::uint8_t>(i % 4 == 0 ? 90 : 60));
      offset_s.push_back(onset_s.back() + 0.4 * beat_s);
    }
    now_s = onset_s.back() + 5.0;
  }
  [[nodiscard]] session_notes view(std::string id, double time_s) const {
    return {std::move(id), time_s, onset_s, pitch, velocity, {}, offset_s};
  }
};

std::vector<passage_group> find(const std::vector<session_notes>& sessions, unsigned threads = 1) {
  continuo::passage_options o;
  o.threads = threads;
  return continuo::find_passages(sessions, o);
}

TEST(passages, finds_a_passage_repeated_three_times_at_different_tempi_as_one_group) {
  const auto drilled = make_passage(1);
  session s;
  s.play(make_passage(100), 100);  // other material between the repetitions
  s.play(drilled, 70);
  s.play(make_passage(101), 100);
  s.play(drilled, 85);
  s.play(make_passage(102), 100);
  s.play(drilled, 100);
  const auto groups = find({s.view("monday", 0)});
  ASSERT_EQ(groups.size(), 1U);
  const auto& occ = groups[0].occurrences;
  ASSERT_EQ(occ.size(), 3U);
  EXPECT_LT(occ[0].start_s, occ[1].start_s);
  EXPECT_LT(occ[1].start_s, occ[2].start_s);
  EXPECT_DOUBLE_EQ(occ[0].tempo_ratio, 1.0);
  EXPECT_NEAR(occ[1].tempo_ratio, 85.0 / 70.0, 0.05);
  EXPECT_NEAR(occ[2].tempo_ratio, 100.0 / 70.0, 0.07);
  for (const auto& o : occ) {
    EXPECT_EQ(o.session_index, 0U);
    EXPECT_LT(o.first_note, o.last_note);
    EXPECT_GT(o.matches, 0U);
  }
}

TEST(passages, keeps_two_drilled_passages_apart) {
  const auto a = make_passage(1);
  const auto b = make_passage(2);
  session s;
  for (const double bpm : {70.0, 80.0, 90.0}) s.play(a, bpm);
  for (const double bpm : {60.0, 75.0, 90.0}) s.play(b, bpm);
  const auto groups = find({s.view("monday", 0)});
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].occurrences.size(), 3U);
  EXPECT_EQ(groups[1].occurrences.size(), 3U);
  EXPECT_NE(groups[0].id, groups[1].id);
  EXPECT_LT(groups[0].occurrences[0].start_s, groups[1].occurrences[0].start_s);
}

TEST(passages, finds_a_passage_across_sessions_and_keeps_ids_when_a_later_session_is_added) {
  const auto a = make_passage(1);
  const auto b = make_passage(2);
  session monday;
  monday.play(a, 70);
  monday.play(b, 80);
  monday.play(a, 75);
  monday.play(b, 85);
  session tuesday;
  tuesday.play(a, 90);
  tuesday.play(make_passage(3), 90);
  tuesday.play(b, 95);
  const auto before = find({monday.view("monday", 0)});
  const auto after = find({tuesday.view("tuesday", 86'400), monday.view("monday", 0)});  // input order is free
  ASSERT_EQ(before.size(), 2U);
  for (const auto& old : before) {
    const auto same = std::find_if(after.begin(), after.end(), [&](const passage_group& g) { return g.id == old.id; });
    ASSERT_NE(same, after.end());
    ASSERT_EQ(same->occurrences.size(), 3U);
    EXPECT_EQ(same->occurrences.back().session_index, 0U);  // tuesday, index 0 of the input
    EXPECT_GT(same->occurrences.back().tempo_ratio, 1.05);
  }
}

TEST(passages, are_identical_from_one_and_two_threads) {
  session s;
  for (unsigned k = 0; k < 4; ++k) {
    const auto p = make_passage(10 + k);
    for (const double bpm : {60.0, 72.0, 84.0}) s.play(p, bpm + k);
  }
  const auto one = find({s.view("x", 0)}, 1);
  const auto two = find({s.view("x", 0)}, 2);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one.size(), 4U);
}

TEST(passages, survive_degenerate_input) {
  const std::vector<double> none;
  const std::vector<std::uint8_t> no_keys;
  EXPECT_TRUE(continuo::find_passages({}).empty());
  EXPECT_TRUE(find({{"empty", 0, none, no_keys, no_keys, {}, {}}}).empty());
  const std::vector<double> one{1.0};
  const std::vector<std::uint8_t> key{60};
  EXPECT_TRUE(find({{"one", 0, one, key, key, {}, {}}}).empty());
  const std::vector<double> instant(500, 3.0);
  const std::vector<std::uint8_t> keys(500, 60);
  EXPECT_TRUE(find({{"chord", 0, instant, keys, keys, {}, {}}}).empty());
  const std::vector<double> two{1.0, 2.0};
  EXPECT_THROW((void)find({{"bad", 0, two, key, key, {}, {}}}), continuo::error);
  const std::vector<continuo::attempt_span> outside{{0, 0, 5, 10, 0}};
  EXPECT_THROW((void)find({{"bad", 0, one, key, key, outside, {}}}), continuo::error);
  EXPECT_THROW((void)find({{"bad", 0, one, key, key, {}, two}}), continuo::error);  // offsets of another length
}

TEST(passages, finish_a_day_of_scales_in_bounded_time) {
  // 24 hours of a C major scale up and down, four notes a second without a pause: one attempt, every
  // triple repeated tens of thousands of times.
  session s;
  const std::vector<int> steps{0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2};
  for (int k = 0; k < 24 * 3600 * 4; ++k) {
    s.onset_s.push_back(k * 0.25);
    s.pitch.push_back(static_cast<std::uint8_t>(60 + steps[static_cast<std::size_t>(k) % steps.size()]));
    s.velocity.push_back(64);
  }
  const auto groups = find({s.view("day", 0)});
  for (const auto& g : groups) EXPECT_GE(g.occurrences.size(), 2U);
}

}  // namespace

TEST(passages, report_each_occurrences_tempo_with_and_without_note_lengths) {
  // A passage in even beats (its pitches from make_passage), drilled at 72, 90 and 108 bpm.
  passage even = make_passage(7, 48);
  for (std::size_t i = 0, beat = 0; i < even.beat.size(); ++i) {
    if (i > 0 && even.beat[i] != even.beat[i - 1]) ++beat;
    even.beat[i] = static_cast<double>(beat);
  }
  session s;
  for (const double bpm : {72.0, 90.0, 108.0}) s.play(even, bpm);
  for (const bool lengths : {true, false}) {
    auto view = s.view("monday", 0);
    if (!lengths) view.offset_s = {};
    const auto groups = find({view});
    ASSERT_EQ(groups.size(), 1U) << lengths;
    ASSERT_EQ(groups[0].occurrences.size(), 3U) << lengths;
    const double played[] = {72.0, 90.0, 108.0};
    for (std::size_t k = 0; k < 3; ++k) {
      const double bpm = groups[0].occurrences[k].bpm;
      // The beat or a level of it (x 2, 1/2, 3, 1/3), within 4 %; confident enough to be reported.
      ASSERT_GT(bpm, 0) << "occurrence " << k << (lengths ? "" : ", no lengths");
      double nearest = 1e9;
      for (const double level : {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0}) {
        nearest = std::min(nearest, std::abs(bpm / (level * played[k]) - 1));
      }
      EXPECT_LE(nearest, 0.04) << bpm << " played at " << played[k] << (lengths ? "" : ", no lengths");
    }
  }
}

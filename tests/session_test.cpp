// The sessionizer on hand-made event streams, and live against offline.

#include <continuo/midi/writer.hpp>
#include <continuo/session.hpp>

#include "support/test_support.hpp"

#include <random>

namespace {

using continuo::attempt_span;
using continuo::diagnostic_id;
using continuo::sessionizer;
using continuo::sessionizer_options;

constexpr std::int64_t s = 1'000'000'000;  // nanoseconds per second

/// Plays `pitch` from `from` to `to` seconds.
void play(sessionizer& z, double from, double to, std::uint8_t pitch = 60) {
  z.note_on(static_cast<std::int64_t>(from * s), 0, pitch);
  z.note_off(static_cast<std::int64_t>(to * s), 0, pitch);
}

std::vector<std::pair<double, double>> spans_of(const std::vector<attempt_span>& attempts) {
  std::vector<std::pair<double, double>> out;
  for (const auto& a : attempts) out.emplace_back(a.start_s(), a.end_s());
  return out;
}

TEST(sessionizer, splits_attempts_at_a_silence_of_attempt_gap) {
  sessionizer z({.attempt_gap_s = 3});
  play(z, 0, 1);
  play(z, 2, 3);    // 1 s of silence: same attempt
  play(z, 10, 11);  // 7 s: a new attempt
  z.finish();
  const auto attempts = z.take_attempts();
  EXPECT_EQ(spans_of(attempts), (std::vector<std::pair<double, double>>{{0, 3}, {10, 11}}));
  EXPECT_EQ(attempts[0].note_count, 2U);
  EXPECT_EQ(attempts[1].first_note, 2U);
  const auto sessions = z.take_sessions();
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].attempt_count, 2U);
  EXPECT_DOUBLE_EQ(sessions[0].playing_s(), 4.0);
  EXPECT_DOUBLE_EQ(sessions[0].end_s(), 11.0);
}

TEST(sessionizer, keeps_an_attempt_open_while_a_key_is_held_across_a_gap) {
  sessionizer z({.attempt_gap_s = 3});
  z.note_on(0, 0, 48);  // a bass note held for 20 s
  play(z, 1, 2);
  play(z, 15, 16);  // 13 s after the last strike, but the bass still sounds
  z.note_off(20 * s, 0, 48);
  z.finish();
  EXPECT_EQ(spans_of(z.take_attempts()), (std::vector<std::pair<double, double>>{{0, 20}}));
}

TEST(sessionizer, keeps_an_attempt_open_while_the_pedal_is_held_across_a_gap) {
  sessionizer z({.attempt_gap_s = 3});
  play(z, 0, 1);
  z.sustain(static_cast<std::int64_t>(0.5 * s), 0, true);
  z.sustain(static_cast<std::int64_t>(0.6 * s), 0, true);  // a repeated "down" value
  z.sustain(9 * s, 0, false);
  play(z, 11, 12);  // 2 s after the pedal came up
  z.finish();
  EXPECT_EQ(spans_of(z.take_attempts()), (std::vector<std::pair<double, double>>{{0, 12}}));
}

TEST(sessionizer, keeps_a_key_struck_twice_down_until_both_strikes_are_released) {
  sessionizer z({.attempt_gap_s = 3});
  z.note_on(0, 0, 60);
  z.note_on(1 * s, 0, 60);
  z.note_off(2 * s, 0, 60);
  z.note_off(8 * s, 0, 60);
  play(z, 10, 11);
  z.finish();
  EXPECT_EQ(spans_of(z.take_attempts()), (std::vector<std::pair<double, double>>{{0, 11}}));
}

TEST(sessionizer, releases_a_stuck_key_with_a_diagnostic) {
  sessionizer z({.attempt_gap_s = 3, .stuck_s = 60});
  play(z, 0, 1);
  z.note_on(2 * s, 0, 61);  // never released
  z.advance(1000 * s);
  const auto attempts = z.take_attempts();
  EXPECT_EQ(spans_of(attempts), (std::vector<std::pair<double, double>>{{0, 62}}));
  const auto diagnostics = z.take_diagnostics();
  ASSERT_EQ(diagnostics.size(), 1U);
  EXPECT_EQ(diagnostics[0].id, diagnostic_id::stuck);
  EXPECT_EQ(diagnostics[0].time_ns, 62 * s);
  EXPECT_EQ(z.keys_down(), 0U);
  z.note_off(1001 * s, 0, 61);  // the late release changes nothing
  EXPECT_FALSE(z.in_attempt());
}

TEST(sessionizer, takes_an_event_from_the_past_as_simultaneous) {
  sessionizer z;
  play(z, 10, 11);
  z.note_on(5 * s, 0, 62);
  const auto diagnostics = z.take_diagnostics();
  ASSERT_EQ(diagnostics.size(), 1U);
  EXPECT_EQ(diagnostics[0].id, diagnostic_id::clock_backwards);
  z.note_off(12 * s, 0, 62);
  z.finish();
  EXPECT_EQ(spans_of(z.take_attempts()), (std::vector<std::pair<double, double>>{{10, 12}}));
}

TEST(sessionizer, reports_a_clock_jump_and_splits_there) {
  sessionizer z({.clock_jump_s = 3600});
  play(z, 0, 1);
  play(z, 2 * 86'400.0, 2 * 86'400.0 + 1);
  z.finish();
  const auto diagnostics = z.take_diagnostics();
  ASSERT_EQ(diagnostics.size(), 1U);
  EXPECT_EQ(diagnostics[0].id, diagnostic_id::clock_jump);
  EXPECT_EQ(z.take_sessions().size(), 2U);
}

TEST(sessionizer, starts_a_new_session_after_session_gap) {
  sessionizer z({.attempt_gap_s = 3, .session_gap_s = 300});
  play(z, 0, 10);
  play(z, 100, 110);  // 90 s: a pause within the session
  play(z, 500, 510);  // 390 s: a new session
  z.advance(900 * s);
  const auto sessions = z.take_sessions();
  ASSERT_EQ(sessions.size(), 2U);
  EXPECT_EQ(sessions[0].attempt_count, 2U);
  EXPECT_EQ(sessions[1].first_attempt, 2U);
  EXPECT_FALSE(z.in_session());  // closed by time passing, with no event
}

/// A practice-like stream: bursts of playing, pedals, pauses from 0.5 s to 20 minutes.
continuo::performance random_practice(std::uint32_t seed) {
  std::mt19937 rng(seed);
  continuo::midi::smf_file file;
  file.division = continuo::midi::division::metrical(480);  // 960 ticks per second at 120 bpm
  file.begin_track();
  std::vector<continuo::midi::event> events;
  continuo::tick_t t = 0;
  for (int burst = 0; burst < 40; ++burst) {
    const std::array<double, 5> pauses{0.5, 2.5, 4, 30, 1200};
    const double scale = 0.5 + static_cast<double>(rng() % 100) / 100.0;
    t += static_cast<continuo::tick_t>(pauses[rng() % pauses.size()] * 960 * scale);
    const bool pedal = rng() % 2 == 0;
    if (pedal) events.push_back({t, 0, 0xB0, 64, 100});
    for (int n = 0, count = 1 + static_cast<int>(rng() % 30); n < count; ++n) {
      const auto pitch = static_cast<std::uint8_t>(48 + rng() % 36);
      events.push_back({t, 0, 0x90, pitch, 80});
      events.push_back({t + 100 + static_cast<continuo::tick_t>(rng() % 2000), 0, 0x80, pitch, 0});
      t += static_cast<continuo::tick_t>(rng() % 400);
    }
    if (pedal) events.push_back({t + static_cast<continuo::tick_t>(rng() % 3000), 0, 0xB0, 64, 0});
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.tick < b.tick; });
  for (const auto& e : events) file.append(e);
  return continuo::read_performance(continuo::midi::write_smf(file));
}

TEST(sessionizer, live_and_offline_give_the_same_split_whatever_the_thresholds) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const auto perf = random_practice(seed);
    for (const double gap : {1.0, 3.0, 8.0}) {
      const sessionizer_options options{.attempt_gap_s = gap, .session_gap_s = 300};
      const auto offline = continuo::split_practice(perf, options);
      ASSERT_FALSE(offline.attempts.empty());

      // Live: the raw events in time order, with time passing between them at random.
      std::mt19937 rng(seed);
      sessionizer live(options);
      const auto file = continuo::midi::read_smf(continuo::midi::write_performance(perf));
      std::vector<continuo::attempt_span> attempts;
      for (const auto& e : file.events) {
        const auto ns = std::llround(perf.tempo.to_seconds(e.tick) * 1e9);
        if (rng() % 4 == 0) live.advance(ns);
        const bool on = (e.status & 0xF0U) == 0x90 && e.data2 > 0;
        const bool off = (e.status & 0xF0U) == 0x80 || ((e.status & 0xF0U) == 0x90 && e.data2 == 0);
        if (on) live.note_on(ns, e.channel(), e.data1);
        if (off) live.note_off(ns, e.channel(), e.data1);
        if ((e.status & 0xF0U) == 0xB0 && e.data1 == 64) live.sustain(ns, e.channel(), e.data2 >= 64);
        for (const auto& a : live.take_attempts()) attempts.push_back(a);  // drained as a recorder would
      }
      live.finish();
      for (const auto& a : live.take_attempts()) attempts.push_back(a);
      EXPECT_EQ(attempts, offline.attempts) << "seed " << seed << ", gap " << gap;
    }
  }
}

TEST(sessionizer, a_longer_gap_merges_attempts_and_never_splits_them) {
  const auto perf = random_practice(3);
  const auto fine = continuo::split_practice(perf, {.attempt_gap_s = 1});
  const auto coarse = continuo::split_practice(perf, {.attempt_gap_s = 10});
  EXPECT_LT(coarse.attempts.size(), fine.attempts.size());
  for (const auto& a : fine.attempts) {  // every fine attempt lies inside one coarse attempt
    const auto inside = std::count_if(coarse.attempts.begin(), coarse.attempts.end(),
                                      [&](const auto& c) { return c.start_ns <= a.start_ns && a.end_ns <= c.end_ns; });
    EXPECT_EQ(inside, 1);
  }
  std::uint64_t notes = 0;
  for (const auto& a : coarse.attempts) notes += a.note_count;
  EXPECT_EQ(notes, perf.notes.size());
}

TEST(sessionizer, holds_only_the_open_attempt_over_a_day_of_events) {
  sessionizer z;
  std::uint64_t attempts = 0;
  for (std::int64_t t = 0; t < 86'400LL * s; t += 250'000'000) {  // a note every 250 ms for 24 h
    const bool playing = (t / (60 * s)) % 2 == 0;                 // a minute on, a minute off
    if (!playing) continue;
    z.note_on(t, 0, 60);
    z.note_off(t + 100'000'000, 0, 60);
    attempts += z.take_attempts().size();
  }
  z.finish();
  attempts += z.take_attempts().size();
  EXPECT_EQ(attempts, 720U);
  EXPECT_EQ(z.take_sessions().size(), 1U);
  EXPECT_TRUE(z.take_diagnostics().empty());
}

}  // namespace

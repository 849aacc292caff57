// The sessionizer on hand-made event streams, and live against offline.

#include <continuo/midi/writer.hpp>
#include <continuo/session.hpp>

#include "support/test_support.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string_view>

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

/// Whether `f` throws std::invalid_argument with `part` in its message.
template <class F>
testing::AssertionResult refused(F&& f, std::string_view part) {
  try {
    std::forward<F>(f)();
  } catch (const std::invalid_argument& e) {
    if (std::string_view(e.what()).find(part) != std::string_view::npos) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "refused with \"" << e.what() << "\"";
  }
  return testing::AssertionFailure() << "not refused";
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

/// Plays `pitches` as one-note events `ioi` seconds apart from `from`, each held `held` seconds.
double play_line(sessionizer& z, double from, const std::vector<std::uint8_t>& pitches, double ioi = 0.2,
                 double held = 0.15) {
  double t = from;
  for (const auto pitch : pitches) {
    play(z, t, t + held, pitch);
    t += ioi;
  }
  return t - ioi + held;  // when the last note came up
}

const std::vector<std::uint8_t> phrase{60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 77, 76, 74, 72};

TEST(sessionizer, splits_at_a_restart_shorter_than_attempt_gap) {
  sessionizer z;                                                                  // attempt gap 3 s, restart gap 1 s
  const double stopped = play_line(z, 0, {phrase.begin(), phrase.begin() + 12});  // breaks off in the phrase
  // 1.5 s later, from the phrase's fifth note again
  const double end = play_line(z, stopped + 1.5, {phrase.begin() + 4, phrase.end()});
  z.finish();
  const auto attempts = z.take_attempts();
  ASSERT_EQ(attempts.size(), 2U);
  EXPECT_NEAR(attempts[0].end_s(), stopped, 1e-6);
  EXPECT_NEAR(attempts[1].start_s(), stopped + 1.5, 1e-6);
  EXPECT_NEAR(attempts[1].end_s(), end, 1e-6);
  EXPECT_EQ(attempts[0].note_count, 12U);
  EXPECT_EQ(attempts[1].first_note, 12U);
  EXPECT_EQ(attempts[1].note_count, 12U);
  const auto sessions = z.take_sessions();
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].attempt_count, 2U);
  EXPECT_EQ(sessions[0].note_count, 24U);
}

TEST(sessionizer, tolerates_wrong_notes_in_a_restart) {
  sessionizer z;
  const double stopped = play_line(z, 0, {phrase.begin(), phrase.begin() + 12});
  std::vector<std::uint8_t> again{phrase.begin() + 2, phrase.end()};
  again[1] = 61;  // two wrong notes among the first eight
  again[5] = 70;
  play_line(z, stopped + 1.2, again);
  z.finish();
  EXPECT_EQ(z.take_attempts().size(), 2U);
}

TEST(sessionizer, reports_a_restart_once_eight_events_follow_it) {
  sessionizer z;
  const double stopped = play_line(z, 0, {phrase.begin(), phrase.begin() + 12});
  play_line(z, stopped + 1.5, {phrase.begin() + 4, phrase.begin() + 11});  // seven events: undecided
  EXPECT_TRUE(z.take_attempts().empty());
  play(z, stopped + 1.5 + 7 * 0.2, stopped + 1.5 + 7 * 0.2 + 0.1, phrase[11]);  // the eighth
  EXPECT_TRUE(z.take_attempts().empty());                                       // its event may still grow into a chord
  play(z, stopped + 1.5 + 8 * 0.2, stopped + 1.5 + 8 * 0.2 + 0.1, phrase[12]);
  EXPECT_EQ(z.take_attempts().size(), 1U);
}

TEST(sessionizer, keeps_one_attempt_when_the_music_goes_on_after_a_short_silence) {
  sessionizer z;
  const double stopped = play_line(z, 0, phrase);
  play_line(z, stopped + 1.5, {48, 50, 52, 53, 55, 57, 59, 60, 62});  // new material: a rest, not a restart
  z.finish();
  EXPECT_EQ(z.take_attempts().size(), 1U);
}

TEST(sessionizer, keeps_one_attempt_when_the_silence_is_in_the_music_s_own_pace) {
  sessionizer z;
  // Slow music: 1.2 s between onsets; a rest of 1.3 s is no break in it, even before a repeat.
  const double stopped = play_line(z, 0, phrase, 1.2, 1.0);
  play_line(z, stopped + 1.3, phrase, 1.2, 1.0);
  z.finish();
  EXPECT_EQ(z.take_attempts().size(), 1U);
}

TEST(sessionizer, finds_no_restart_when_restart_gap_is_zero) {
  sessionizer z({.restart_gap_s = 0});
  const double stopped = play_line(z, 0, {phrase.begin(), phrase.begin() + 12});
  play_line(z, stopped + 1.5, {phrase.begin() + 4, phrase.end()});
  z.finish();
  EXPECT_EQ(z.take_attempts().size(), 1U);
}

TEST(sessionizer, a_pedal_pressed_in_silence_keeps_the_attempt_open_but_does_not_hide_a_restart) {
  sessionizer z;
  double stopped = play_line(z, 0, {phrase.begin(), phrase.begin() + 12});
  z.sustain(static_cast<std::int64_t>((stopped + 1.0) * s), 0, true);  // the foot goes down before the restart
  const double end = play_line(z, stopped + 1.5, {phrase.begin() + 4, phrase.end()});
  z.sustain(static_cast<std::int64_t>((end + 0.5) * s), 0, false);
  auto attempts = (z.finish(), z.take_attempts());
  ASSERT_EQ(attempts.size(), 2U);
  EXPECT_NEAR(attempts[0].end_s(), stopped, 1e-6);
  EXPECT_NEAR(attempts[1].end_s(), end + 0.5, 1e-6);  // the pedal held the last notes

  sessionizer y;  // a pedal pressed in a 2 + 4 s silence: one attempt, as with the pedal held throughout
  stopped = play_line(y, 0, phrase);
  y.sustain(static_cast<std::int64_t>((stopped + 2) * s), 0, true);
  play_line(y, stopped + 6, {48, 50, 52});
  y.sustain(static_cast<std::int64_t>((stopped + 8) * s), 0, false);
  y.finish();
  EXPECT_EQ(y.take_attempts().size(), 1U);
}

/// A practice-like stream: bursts of playing, pedals, pauses from 0.5 s to 20 minutes, and restarts
/// (a burst that plays the previous one again from a point in it, after a pause of 1-2.5 s).
continuo::performance random_practice(std::uint32_t seed) {
  std::mt19937 rng(seed);
  continuo::midi::smf_file file;
  file.division = continuo::midi::division::metrical(480);  // 960 ticks per second at 120 bpm
  file.begin_track();
  std::vector<continuo::midi::event> events;
  std::vector<std::uint8_t> previous;  // the pitches of the burst before
  continuo::tick_t t = 0;
  for (int burst = 0; burst < 40; ++burst) {
    const bool restart = previous.size() >= 12 && rng() % 3 == 0;
    const std::array<double, 5> pauses{0.5, 2.5, 4, 30, 1200};
    const double scale = 0.5 + static_cast<double>(rng() % 100) / 100.0;
    t += restart ? 2100 + 960 + rng() % 1440  // past the last release, then 1-2.5 s
                 : static_cast<continuo::tick_t>(pauses[rng() % pauses.size()] * 960 * scale);
    const bool pedal = rng() % 2 == 0;
    if (pedal) events.push_back({t, 0xB0, 64, 100});
    std::vector<std::uint8_t> pitches;
    if (restart) pitches.assign(previous.begin() + static_cast<std::ptrdiff_t>(rng() % 4), previous.end());
    for (int n = 0, count = 1 + static_cast<int>(rng() % 30); !restart && n < count; ++n) {
      pitches.push_back(static_cast<std::uint8_t>(48 + rng() % 36));
    }
    for (const std::uint8_t pitch : pitches) {
      events.push_back({t, 0x90, pitch, 80});
      events.push_back({t + 100 + static_cast<continuo::tick_t>(rng() % 2000), 0x80, pitch, 0});
      t += static_cast<continuo::tick_t>(rng() % 400);
    }
    if (pedal) events.push_back({t + static_cast<continuo::tick_t>(rng() % 3000), 0xB0, 64, 0});
    previous = std::move(pitches);
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.tick() < b.tick(); });
  for (const auto& e : events) file.append(e);
  return continuo::read_performance(continuo::midi::write_smf(file));
}

/// The attempts of a live sessionizer fed the events of `perf` as written to a file, in file order,
/// with time passing between them at random (seeded by `seed`) and the attempts drained as a
/// recorder would.
std::vector<attempt_span> live_attempts(const continuo::performance& perf, const sessionizer_options& options,
                                        std::uint32_t seed) {
  std::mt19937 rng(seed);
  sessionizer live(options);
  const auto file = continuo::midi::read_smf(continuo::midi::write_performance(perf));
  std::vector<attempt_span> attempts;
  for (const auto& e : file.events) {
    const auto ns = std::llround(perf.tempo.to_seconds(e.tick()) * 1e9);
    if (rng() % 4 == 0) live.advance(ns);
    const bool on = (e.status() & 0xF0U) == 0x90 && e.data2() > 0;
    const bool off = (e.status() & 0xF0U) == 0x80 || ((e.status() & 0xF0U) == 0x90 && e.data2() == 0);
    if (on) live.note_on(ns, e.channel(), e.data1());
    if (off) live.note_off(ns, e.channel(), e.data1());
    if ((e.status() & 0xF0U) == 0xB0 && e.data1() == 64) live.sustain(ns, e.channel(), e.data2() >= 64);
    for (const auto& a : live.take_attempts()) attempts.push_back(a);
  }
  live.finish();
  for (const auto& a : live.take_attempts()) attempts.push_back(a);
  return attempts;
}

TEST(sessionizer, live_and_offline_give_the_same_split_whatever_the_thresholds) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const auto perf = random_practice(seed);
    for (const auto& [gap, restart_gap] : {std::pair{1.0, 0.0}, {3.0, 1.0}, {3.0, 0.0}, {8.0, 1.5}}) {
      const sessionizer_options options{.attempt_gap_s = gap, .restart_gap_s = restart_gap, .session_gap_s = 300};
      const auto offline = continuo::split_practice(perf, options);
      ASSERT_FALSE(offline.attempts.empty());

      EXPECT_EQ(live_attempts(perf, options, seed), offline.attempts)
          << "seed " << seed << ", gap " << gap << ", restart gap " << restart_gap;
    }
  }
}

TEST(sessionizer, random_practice_has_restarts_to_find) {
  std::size_t more = 0;  // the live-offline comparison above is only worth something if restarts occur
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const auto perf = random_practice(seed);
    more += continuo::split_practice(perf, {.restart_gap_s = 1}).attempts.size() -
            continuo::split_practice(perf, {.restart_gap_s = 0}).attempts.size();
  }
  EXPECT_GE(more, 10U);
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

TEST(sessionizer, refuses_thresholds_out_of_range_naming_them) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const double bad : {nan, inf, -inf, 0.0, -1.0, 2e9, 1e-300}) {
    EXPECT_TRUE(refused([&] { sessionizer({.attempt_gap_s = bad}); }, "attempt_gap_s must be"));
    EXPECT_TRUE(refused([&] { sessionizer({.session_gap_s = bad}); }, "session_gap_s must be"));
    EXPECT_TRUE(refused([&] { sessionizer({.stuck_s = bad}); }, "stuck_s must be"));
    EXPECT_TRUE(refused([&] { sessionizer({.clock_jump_s = bad}); }, "clock_jump_s must be"));
    if (bad < 0 || bad > 1 || std::isnan(bad)) {  // restarts allow 0 (off), and 1e-300 is 0 ns
      EXPECT_TRUE(refused([&] { sessionizer({.restart_gap_s = bad}); }, "restart_gap_s must be"));
    }
  }
  EXPECT_NO_THROW(sessionizer({.attempt_gap_s = 1e9, .restart_gap_s = 0, .session_gap_s = 1e9, .stuck_s = 1e9}));
  EXPECT_THROW(continuo::split_practice(random_practice(1), {.attempt_gap_s = nan}), std::invalid_argument);
}

TEST(sessionizer, refuses_events_it_cannot_place_and_goes_on_after_them) {
  sessionizer z;
  EXPECT_TRUE(refused([&] { z.note_on(-1, 0, 60); }, "note_on: time_ns -1 is outside 0 to 2^62"));
  EXPECT_TRUE(refused([&] { z.note_off(sessionizer::max_time_ns + 1, 0, 60); }, "note_off: time_ns"));
  EXPECT_TRUE(refused([&] { z.advance(std::numeric_limits<std::int64_t>::min()); }, "advance: time_ns"));
  EXPECT_TRUE(refused([&] { z.note_on(0, 16, 60); }, "note_on: channel 16 is not 0-15"));
  EXPECT_TRUE(refused([&] { z.note_on(0, 0, 128); }, "note_on: pitch 128 is not 0-127"));
  EXPECT_TRUE(refused([&] { z.sustain(0, 255, true); }, "sustain: channel 255"));
  EXPECT_FALSE(z.in_session());  // nothing refused reached the state
  play(z, 0, 1);
  z.note_on(sessionizer::max_time_ns - s, 15, 127);  // the end of the clock is a time like any other
  z.note_off(sessionizer::max_time_ns, 15, 127);
  z.advance(sessionizer::max_time_ns);
  z.finish();
  const auto attempts = z.take_attempts();
  ASSERT_EQ(attempts.size(), 2U);
  EXPECT_EQ(attempts[1].end_ns, sessionizer::max_time_ns);
  EXPECT_EQ(z.take_sessions().size(), 2U);
  EXPECT_EQ(z.take_diagnostics().size(), 1U);  // the clock jump of 146 years
}

TEST(split_practice, a_note_or_pedal_press_of_no_length_holds_nothing) {
  // At 960 ticks a second: a note struck and released on one tick at 1 s, a note from 1.5 to 1.6 s,
  // the pedal pressed and lifted on one tick at 2 s, and a note at 30 s. Released before its strike,
  // a note of no length stayed down until taken as stuck (120 s), and the split had one attempt.
  continuo::midi::smf_file file;
  file.division = continuo::midi::division::metrical(480);
  file.begin_track();
  file.append({960, 0x90, 60, 64});
  file.append({960, 0x80, 60, 64});
  file.append({1440, 0x90, 64, 64});
  file.append({1536, 0x80, 64, 64});
  file.append({1920, 0xB0, 64, 127});
  file.append({1920, 0xB0, 64, 0});
  file.append({28800, 0x90, 67, 64});
  file.append({29280, 0x80, 67, 64});
  const auto perf = continuo::read_performance(continuo::midi::write_smf(file));
  ASSERT_EQ(perf.notes.size(), 3U);
  ASSERT_EQ(perf.notes.onset_s[0], perf.notes.offset_s[0]);
  ASSERT_EQ(perf.pedals.size(), 1U);
  ASSERT_EQ(perf.pedals[0].onset_s, perf.pedals[0].offset_s);
  const auto split = continuo::split_practice(perf);
  // The attempt ends when the pedal, pressed 0.4 s after the last note, comes up: at 2 s.
  EXPECT_EQ(spans_of(split.attempts), (std::vector<std::pair<double, double>>{{1.0, 2.0}, {30.0, 30.5}}));
  EXPECT_TRUE(split.diagnostics.empty()) << split.diagnostics.front().message;
  EXPECT_EQ(live_attempts(perf, {}, 1), split.attempts);
}

TEST(split_practice, splits_a_performance_longer_than_the_clock_up_to_its_end) {
  // One tick a quarter note at 16.8 s a quarter (the slowest tempo): deltas of 2^28 - 1 ticks are
  // 143 years apart, so the third note starts past the clock's 146 years.
  continuo::midi::smf_file file;
  file.division = continuo::midi::division::metrical(1);
  file.begin_track();
  file.append({0, 0xFF, continuo::midi::meta::tempo}, std::array<std::uint8_t, 3>{0xFF, 0xFF, 0xFF});
  for (continuo::tick_t k = 0; k < 4; ++k) {
    const continuo::tick_t at = k * ((continuo::tick_t{1} << 28U) - 1);
    file.append({at, 0x90, static_cast<std::uint8_t>(60 + k), 64});
    file.append({at + 1, 0x80, static_cast<std::uint8_t>(60 + k), 64});
  }
  const auto perf = continuo::read_performance(continuo::midi::write_smf(file));
  ASSERT_EQ(perf.status, continuo::read_status::ok);
  ASSERT_EQ(perf.notes.size(), 4U);
  const auto split = continuo::split_practice(perf);
  ASSERT_EQ(split.attempts.size(), 2U);
  EXPECT_EQ(split.attempts[1].first_note + split.attempts[1].note_count, 2U);
  EXPECT_GT(split.attempts[1].start_ns, 0);  // in order, not wrapped round
  ASSERT_FALSE(split.diagnostics.empty());
  const auto& last = split.diagnostics.back();
  EXPECT_EQ(last.id, diagnostic_id::clock_limit);
  EXPECT_EQ(last.time_ns, sessionizer::max_time_ns);
  EXPECT_NE(last.message.find("2 note(s) from"), std::string::npos) << last.message;
}

}  // namespace

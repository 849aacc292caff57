// Tests of the beat-period (tempo) estimator on performances built in code.
#include <continuo/features/tempo.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using continuo::note_columns;

/// Appends a note to columns kept sorted by onset by the caller.
void add(note_columns& n, double onset_s, double duration_s, int pitch, int velocity = 80) {
  n.onset_tick.push_back(static_cast<continuo::tick_t>(onset_s * 960));
  n.offset_tick.push_back(static_cast<continuo::tick_t>((onset_s + duration_s) * 960));
  n.onset_s.push_back(onset_s);
  n.offset_s.push_back(onset_s + duration_s);
  n.pitch.push_back(static_cast<std::uint8_t>(pitch));
  n.velocity.push_back(static_cast<std::uint8_t>(velocity));
  n.release_velocity.push_back(64);
  n.channel.push_back(0);
  n.track.push_back(0);
}

/// A C-major scale up and down, one note every `period_s`, `count` notes, the first of every four louder.
note_columns metronomic_scale(double period_s, int count) {
  static constexpr int steps[] = {60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62};
  note_columns n;
  for (int i = 0; i < count; ++i) add(n, 1.0 + i * period_s, period_s * 0.9, steps[i % 14], i % 4 == 0 ? 96 : 80);
  return n;
}

/// A waltz: a bass note on beat 1, a chord on beats 2 and 3, `bars` bars of three beats of `beat_s`.
note_columns waltz(double beat_s, int bars) {
  note_columns n;
  for (int b = 0; b < bars; ++b) {
    const double t = 0.5 + 3 * b * beat_s;
    add(n, t, beat_s, 43, 90);
    add(n, t, 3 * beat_s, 71, 85);
    for (int k = 1; k < 3; ++k) {
      add(n, t + k * beat_s, beat_s * 0.8, 59, 60);
      add(n, t + k * beat_s, beat_s * 0.8, 62, 60);
      add(n, t + k * beat_s, beat_s * 0.8, 65, 60);
    }
  }
  return n;
}

/// All the notes of `n`, as the span functions take them.
continuo::tempo_notes all_notes(const note_columns& n) { return continuo::tempo_notes::of(n, 0, n.size()); }

/// True when `a` is within 4 % of `b` times 1, 2, 1/2, 3 or 1/3 (the Acc2 criterion).
bool same_up_to_level(double a, double b) {
  for (double f : {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0}) {
    if (std::abs(a / (f * b) - 1) <= 0.04) return true;
  }
  return false;
}

TEST(tempo, metronomic_scale_at_120_bpm_has_beat_period_half_a_second_and_no_spread) {
  const auto est = continuo::estimate_tempo(metronomic_scale(0.5, 64));
  EXPECT_NEAR(est.beat_period_s, 0.5, 0.01);
  EXPECT_NEAR(est.bpm, 120.0, 2.0);
  EXPECT_NEAR(est.tempo_spread, 0.0, 1e-9);
  EXPECT_GT(est.confidence, 0.0);
  EXPECT_LE(est.confidence, 1.0);
  EXPECT_GE(est.beat_count, 32U);
  EXPECT_EQ(est.event_count, 64U);
}

TEST(tempo, plain_scales_from_60_to_120_bpm_are_read_at_their_own_beat) {
  // What a user checking the estimator with a metronome plays first. The level-choice models are fitted
  // on concert performances; a refit that reads these at a third or half of their beat is a
  // regression there would be no other test for (docs/tempo_key.md, "Products of features").
  for (const double period_s : {0.5, 0.6, 0.75, 1.0}) {
    for (const bool accented : {false, true}) {
      note_columns n;
      for (int i = 0; i < 64; ++i) {
        add(n, 1.0 + i * period_s, period_s * 0.9, 60 + (i % 8), accented && i % 4 == 0 ? 96 : 80);
      }
      const auto est = continuo::estimate_tempo(all_notes(n));
      EXPECT_NEAR(est.bpm, 60 / period_s, 0.02 * 60 / period_s) << period_s << " s, accented " << accented;
    }
  }
}

TEST(tempo, waltz_beat_is_found_up_to_the_metrical_level) {
  const auto est = continuo::estimate_tempo(waltz(0.6, 24));
  EXPECT_TRUE(same_up_to_level(est.beat_period_s, 0.6)) << est.beat_period_s;
  EXPECT_NEAR(est.tempo_spread, 0.0, 1e-9);
}

TEST(tempo, doubling_the_speed_halves_the_period_up_to_the_metrical_level) {
  for (double period : {0.3, 0.45, 0.6, 0.8}) {
    const auto slow = continuo::estimate_tempo(waltz(period, 24));
    const auto fast = continuo::estimate_tempo(waltz(period / 2, 48));
    ASSERT_GT(slow.bpm, 0);
    ASSERT_GT(fast.bpm, 0);
    EXPECT_TRUE(same_up_to_level(fast.bpm, 2 * slow.bpm)) << period << ": " << slow.bpm << " vs " << fast.bpm;
  }
}

TEST(tempo, empty_and_tiny_inputs_give_no_estimate_and_zero_confidence) {
  const note_columns none;
  for (const auto& est : {continuo::estimate_tempo(none), continuo::estimate_tempo(metronomic_scale(0.5, 2)),
                          continuo::estimate_tempo(metronomic_scale(0.5, 64), 10, 10),
                          continuo::estimate_tempo(metronomic_scale(0.5, 64), 62, 1000)}) {
    EXPECT_EQ(est.confidence, 0.0);
    EXPECT_EQ(est.beat_period_s, 0.0);
    EXPECT_EQ(est.bpm, 0.0);
  }
  note_columns chord;  // many notes at one instant: no interval at all
  for (int p = 40; p < 80; ++p) add(chord, 1.0, 1.0, p);
  EXPECT_EQ(continuo::estimate_tempo(chord).confidence, 0.0);
}

TEST(tempo, a_nan_onset_or_a_negative_merge_window_neither_hangs_nor_spoils_the_estimate) {
  // Both once made the loop that merges onsets into events stop advancing.
  auto scale = metronomic_scale(0.5, 64);
  scale.onset_s[0] = std::nan("");
  scale.onset_s[31] = std::nan("");
  EXPECT_TRUE(same_up_to_level(continuo::estimate_tempo(scale).beat_period_s, 0.5));
  continuo::tempo_options options;
  options.merge_window_s = -1;
  EXPECT_TRUE(same_up_to_level(continuo::estimate_tempo(metronomic_scale(0.5, 64), options).beat_period_s, 0.5));
}

TEST(tempo, a_range_of_notes_is_estimated_on_its_own) {
  note_columns n = metronomic_scale(0.5, 40);  // 1 s .. 20.5 s at 120 bpm
  const note_columns second = metronomic_scale(0.4, 50);
  for (std::size_t i = 0; i < second.size(); ++i)
    add(n, 30 + second.onset_s[i], 0.3, second.pitch[i], second.velocity[i]);
  const auto first_part = continuo::estimate_tempo(n, 0, 40);
  const auto second_part = continuo::estimate_tempo(n, 40, n.size());
  EXPECT_NEAR(first_part.beat_period_s, 0.5, 0.01);
  // The level may be the bar of four (1.6 s; the choice model reads the louder note every four as a
  // downbeat): what matters here is that the period is 0.4 s times a power of two, not mixed with 0.5 s.
  const double octaves = std::log2(second_part.beat_period_s / 0.4);
  EXPECT_NEAR(octaves, std::round(octaves), 0.06) << second_part.beat_period_s;
  const auto spans = continuo::estimate_tempo(
      {std::span(n.onset_s).subspan(0, 40), std::span(n.offset_s).subspan(0, 40), std::span(n.velocity).subspan(0, 40),
       std::span(n.pitch).subspan(0, 40)});
  EXPECT_EQ(spans, first_part);
}

TEST(tempo, an_unsteady_performance_has_a_larger_spread_than_a_steady_one) {
  note_columns steady;
  note_columns unsteady;
  double t = 1.0;
  for (int i = 0; i < 96; ++i) {
    add(steady, 1.0 + 0.5 * i, 0.4, 60 + (i % 8), i % 4 == 0 ? 96 : 80);
    add(unsteady, t, 0.4, 60 + (i % 8), i % 4 == 0 ? 96 : 80);
    t += 0.5 * (1 + 0.12 * std::sin(i * 0.7));  // +-12 % from beat to beat
  }
  const auto a = continuo::estimate_tempo(steady);
  const auto b = continuo::estimate_tempo(unsteady);
  EXPECT_LT(a.tempo_spread, 0.01);
  EXPECT_GT(b.tempo_spread, 0.03);
}

TEST(tempo, lengthened_beats_do_not_make_the_tempo_fast) {
  // Beats of 0.5 s with an eighth-note filler; every fourth beat is held to 0.75 s (a phrase-end
  // lengthening), its filler halfway. The median beat is 0.5 s, the mean 0.5625 s. A tracker for which a
  // beat 50 % too long costs as much as two beats 25 % too short splits the long beats and reported
  // 0.45 s. The estimator's period is the median of means over runs of four beats, each of which holds
  // one long beat here: the mean beat, and not faster than the median.
  note_columns n;
  double t = 1.0;
  for (int i = 0; i < 64; ++i) {
    const double beat_s = i % 4 == 3 ? 0.75 : 0.5;
    add(n, t, beat_s * 0.9, 48 + (i % 4), 90);
    add(n, t + beat_s / 2, beat_s * 0.4, 67, 70);
    t += beat_s;
  }
  add(n, t, 0.5, 48, 90);
  continuo::tempo_options o;
  o.min_bpm = 90;  // the level is not what this test is about
  o.max_bpm = 160;
  const double period_s = continuo::estimate_tempo(n, o).beat_period_s;
  EXPECT_GE(period_s, 0.49);
  EXPECT_LE(period_s, 0.57);
}

TEST(tempo, a_pause_longer_than_the_trackers_reach_does_not_end_the_beat_chain) {
  // Two stretches of 32 beats of 0.5 s separated by a 6 s pause (12 beats without a note): the chain
  // goes on after the pause, so the beats of both stretches are counted (a chain ending at the pause
  // counted 32).
  note_columns n = metronomic_scale(0.5, 32);  // 1 s .. 16.5 s
  const note_columns second = metronomic_scale(0.5, 32);
  for (std::size_t i = 0; i < second.size(); ++i)
    add(n, 21.5 + second.onset_s[i], 0.45, second.pitch[i], second.velocity[i]);
  continuo::tempo_options o;
  o.min_bpm = 90;  // the level is not what this test is about
  o.max_bpm = 160;
  const auto est = continuo::estimate_tempo(n, o);
  EXPECT_NEAR(est.beat_period_s, 0.5, 0.01);
  EXPECT_GE(est.beat_count, 60U);
  EXPECT_LE(est.beat_count, 64U);
}

TEST(tempo, soft_ornaments_between_the_beats_do_not_move_the_beat) {
  // Loud bass notes every 0.6 s, and between them soft grace notes at irregular places (a fixed
  // pseudo-random sequence): the beat is the bass.
  note_columns n;
  std::uint32_t state = 12345;
  for (int i = 0; i < 80; ++i) {
    const double t = 1.0 + 0.6 * i;
    add(n, t, 0.5, 40 + (i % 5), 100);
    state = state * 1664525U + 1013904223U;
    const double offset = 0.12 + 0.36 * static_cast<double>(state >> 8) / static_cast<double>(1U << 24);
    add(n, t + offset, 0.1, 76 + (i % 7), 25);
  }
  continuo::tempo_options o;
  o.min_bpm = 80;  // the level is not what this test is about
  o.max_bpm = 120;
  const auto est = continuo::estimate_tempo(n, o);
  EXPECT_NEAR(est.beat_period_s, 0.6, 0.01);
  EXPECT_LT(est.tempo_spread, 0.02);
}

TEST(tempo, estimates_are_deterministic_and_candidates_are_ordered) {
  const auto n = waltz(0.5, 20);
  EXPECT_EQ(continuo::estimate_tempo(n), continuo::estimate_tempo(n));
  const auto c = continuo::tempo_candidates(all_notes(n));
  ASSERT_FALSE(c.empty());
  double total = 0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    total += c[k].probability;
    if (k > 0) {
      EXPECT_GE(c[k - 1].probability, c[k].probability);
    }
    EXPECT_GT(c[k].beat_period_s, 0);
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(tempo, options_bound_the_tempo_range) {
  continuo::tempo_options o;
  o.min_bpm = 50;
  o.max_bpm = 70;
  const auto est = continuo::estimate_tempo(metronomic_scale(0.5, 64), o);
  EXPECT_NEAR(est.bpm, 60.0, 2.0);  // the bar of two beats is the only level left
}

/// Returns meter feature `m` (0: one beat in 2 stronger, 1: one in 3, 2: events near the half of the
/// beats, 3: near their thirds) of a level choice.
double meter_feature(const continuo::tempo_level_choice& c, std::size_t m) {
  constexpr std::size_t levels = continuo::tempo_level_multiples.size();
  std::size_t k = 0;
  while (k < levels && continuo::tempo_level_multiples[k] != c.multiple) ++k;
  return c.features[continuo::tempo_feature_count + levels * (1 + m) + k];
}

TEST(tempo, level_choices_are_the_multiples_of_the_tracked_period_within_the_range) {
  const auto n = metronomic_scale(0.5, 64);
  const auto all = continuo::tempo_level_choices(all_notes(n));
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().multiple, 1.0);
  double total = 0;
  for (const auto& c : all) {
    EXPECT_NEAR(c.beat_period_s, c.multiple * all.front().beat_period_s, 1e-12);
    total += c.probability;
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  continuo::tempo_options o;
  o.min_bpm = 90;
  o.max_bpm = 160;
  const auto only = continuo::tempo_level_choices(all_notes(n), o);
  ASSERT_EQ(only.size(), 1U);  // 0.25 s and 1 s are out of the range
  EXPECT_NEAR(only.front().beat_period_s, 0.5, 0.01);
  EXPECT_TRUE(continuo::tempo_level_choices(continuo::tempo_notes{}).empty());
}

TEST(tempo, meter_evidence_tells_a_waltz_from_a_march) {
  continuo::tempo_options o;
  o.min_bpm = 80;  // track the beat of 0.6 s (waltz) and of 0.5 s (scale, every fourth note louder)
  o.max_bpm = 130;
  const auto w = waltz(0.6, 24);
  const auto three = continuo::tempo_level_choices(all_notes(w), o);
  ASSERT_FALSE(three.empty());
  EXPECT_NEAR(three.front().beat_period_s, 0.6, 0.01);
  EXPECT_GT(meter_feature(three.front(), 1), meter_feature(three.front(), 0) + 0.2);
  const auto m = metronomic_scale(0.5, 64);
  const auto two = continuo::tempo_level_choices(all_notes(m), o);
  ASSERT_FALSE(two.empty());
  EXPECT_NEAR(two.front().beat_period_s, 0.5, 0.01);
  EXPECT_GT(meter_feature(two.front(), 0), meter_feature(two.front(), 1) + 0.02);
  // Eighth notes between the beats: events at the half, none at the thirds; triplets: the reverse.
  note_columns eighths;
  note_columns triplets;
  for (int i = 0; i < 48; ++i) {
    for (int k = 0; k < 2; ++k) add(eighths, 1.0 + 0.5 * i + 0.25 * k, 0.2, 60 + k, k == 0 ? 100 : 70);
    for (int k = 0; k < 3; ++k) add(triplets, 1.0 + 0.5 * i + 0.5 * k / 3, 0.15, 60 + k, k == 0 ? 100 : 70);
  }
  o.min_bpm = 100;
  o.max_bpm = 140;
  const auto e = continuo::tempo_level_choices(all_notes(eighths), o);
  const auto t = continuo::tempo_level_choices(all_notes(triplets), o);
  ASSERT_FALSE(e.empty());
  ASSERT_FALSE(t.empty());
  EXPECT_GT(meter_feature(e.front(), 2), 0.9);
  EXPECT_LT(meter_feature(e.front(), 3), 0.1);
  EXPECT_GT(meter_feature(t.front(), 3), 0.9);
  EXPECT_LT(meter_feature(t.front(), 2), 0.1);
}

}  // namespace

TEST(tempo, events_describe_each_onset_and_its_neighbours) {
  // A bar of four: a loud long bass note with a chord on the beat, then three soft short single notes.
  note_columns n;
  for (int bar = 0; bar < 8; ++bar) {
    const double t = 1.0 + 2.0 * bar;
    add(n, t, 1.5, 36, 110);
    add(n, t + 0.01, 0.4, 64, 90);
    add(n, t + 0.02, 0.4, 67, 90);
    for (int k = 1; k < 4; ++k) add(n, t + 0.5 * k, 0.2, 72 + k, 50);
  }
  const auto events = continuo::tempo_events(all_notes(n));
  ASSERT_EQ(events.size(), 32U);    // the chord and its bass note merge into one event
  const auto& beat = events[4];     // the second bar's first event, with neighbours on both sides
  const auto& offbeat = events[6];  // its third note (pitch 74; 73 is still among the lowest 30 %)
  EXPECT_DOUBLE_EQ(beat.time_s, 3.0);
  EXPECT_NEAR(beat.features[0], std::log(std::sqrt(290.0 / 127)), 1e-12);  // ln w
  EXPECT_EQ(beat.features[1], 1.0);                                        // bass
  EXPECT_NEAR(beat.features[2], std::log(3.0), 1e-12);                     // three notes
  EXPECT_NEAR(beat.features[12], std::log(1.5), 1e-12);                    // its longest note
  EXPECT_NEAR(beat.features[15], (36.0 - 75) / 12, 1e-12);                 // a leap down from the last note
  EXPECT_EQ(offbeat.features[1], 0.0);
  EXPECT_GT(beat.features[3], 0.5);   // louder than the events around it
  EXPECT_LT(offbeat.features[3], 0);  // softer
  EXPECT_GT(beat.features[11], offbeat.features[11]);
  // The fitted model finds the beats: every bar's first event is more probable than the three others.
  for (std::size_t e = 0; e + 3 < events.size(); e += 4) {
    for (std::size_t k = 1; k < 4; ++k) EXPECT_GT(events[e].salience, events[e + k].salience) << e;
  }
  for (const auto& e : events) {
    EXPECT_GT(e.salience, 0.0);
    EXPECT_LT(e.salience, 1.0);
  }
  // Without offsets the lengths are unknown: their features are 0 and the salience is the velocity weight,
  // doubled for a bass event.
  continuo::tempo_notes no_lengths = all_notes(n);
  no_lengths.offset_s = {};
  const auto unknown = continuo::tempo_events(no_lengths);
  ASSERT_EQ(unknown.size(), events.size());
  EXPECT_EQ(unknown[4].features[11], 0.0);
  EXPECT_EQ(unknown[4].features[12], 0.0);
  EXPECT_NEAR(unknown[4].salience, 2 * std::exp(unknown[4].features[0]), 1e-12);
  EXPECT_NEAR(unknown[6].salience, std::exp(unknown[6].features[0]), 1e-12);
}

TEST(tempo, the_event_model_is_what_weighs_the_events) {
  // All zeros: every event is as probable as the others (1/2); a model that only sees the bass flag
  // makes the bass events the likely beats.
  const auto n = waltz(0.6, 12);
  continuo::tempo_options flat;
  flat.event_model = {};
  for (const auto& e : continuo::tempo_events(all_notes(n), flat)) EXPECT_DOUBLE_EQ(e.salience, 0.5);
  continuo::tempo_options bass_only = flat;
  bass_only.event_model[2] = 4;  // bias, then ln w, then the bass flag
  const auto events = continuo::tempo_events(all_notes(n), bass_only);
  ASSERT_EQ(events.size(), 36U);
  for (std::size_t e = 0; e < events.size(); ++e) {
    EXPECT_NEAR(events[e].salience, e % 3 == 0 ? 1 / (1 + std::exp(-4.0)) : 0.5, 1e-12) << e;
  }
  // Notes given with and without their offsets both give a tempo; both see the waltz's beat.
  continuo::tempo_notes no_lengths = all_notes(n);
  no_lengths.offset_s = {};
  EXPECT_TRUE(same_up_to_level(continuo::estimate_tempo(no_lengths).beat_period_s, 0.6));
  EXPECT_TRUE(same_up_to_level(continuo::estimate_tempo(n).beat_period_s, 0.6));
}

TEST(tempo, bad_note_lengths_give_finite_features) {
  // Offsets before their onsets (a damaged file) and zero lengths count as 10 ms, an offset at infinity as
  // a day, a NaN offset as none: no NaN, no infinity in the features.
  note_columns n = metronomic_scale(0.5, 32);
  for (std::size_t k = 0; k < n.size(); k += 3) n.offset_s[k] = n.onset_s[k] - 1.0;
  for (std::size_t k = 1; k < n.size(); k += 3) n.offset_s[k] = n.onset_s[k];
  n.offset_s[5] = std::numeric_limits<double>::infinity();
  n.offset_s[8] = std::numeric_limits<double>::quiet_NaN();
  for (const auto& e : continuo::tempo_events(all_notes(n))) {
    for (const double f : e.features) EXPECT_TRUE(std::isfinite(f));
    EXPECT_TRUE(std::isfinite(e.salience));
  }
  EXPECT_GT(continuo::estimate_tempo(n).bpm, 0);
}

TEST(tempo, onsets_out_of_order_are_put_in_order) {
  // The contract is notes sorted by onset; a caller that breaks it gets the estimate of the sorted notes
  // (single notes here, so the events are the same), not a scan past its buffers.
  const note_columns sorted = metronomic_scale(0.5, 48);
  note_columns shuffled;
  std::vector<std::size_t> order(sorted.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = (k * 29) % order.size();  // 29 is prime to 48
  for (const std::size_t k : order) {
    add(shuffled, sorted.onset_s[k], sorted.offset_s[k] - sorted.onset_s[k], sorted.pitch[k], sorted.velocity[k]);
  }
  EXPECT_EQ(continuo::estimate_tempo(shuffled), continuo::estimate_tempo(sorted));
  EXPECT_NEAR(continuo::estimate_tempo(shuffled).beat_period_s, 0.5, 0.01);
}

TEST(tempo, hostile_columns_give_finite_estimates) {
  // Random columns with NaN, infinite, huge and backwards onsets and offsets, velocities and pitches
  // past 127, runs of equal onsets and jumps of 1e6 s: every estimate and salience is finite.
  std::mt19937 rng(1);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = rng() % 300;
    std::vector<double> onset_s(n);
    std::vector<double> offset_s(n);
    std::vector<std::uint8_t> velocity(n);
    std::vector<std::uint8_t> pitch(n);
    double t = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto kind = rng() % 20;
      t += kind == 0 ? 0.0 : kind == 1 ? 1e6 : static_cast<double>(rng() % 1000) / 1000;
      onset_s[i] = kind == 2 ? nan : kind == 3 ? inf : kind == 4 ? -1e300 : t;
      const auto end = rng() % 10;
      offset_s[i] = end == 0   ? nan
                    : end == 1 ? inf
                    : end == 2 ? -inf
                               : onset_s[i] + static_cast<double>(rng() % 3000) / 1000 - 0.5;
      velocity[i] = static_cast<std::uint8_t>(rng() % 256);
      pitch[i] = static_cast<std::uint8_t>(rng() % 256);
    }
    const continuo::tempo_notes notes{onset_s, offset_s, velocity, pitch};
    const auto est = continuo::estimate_tempo(notes);
    EXPECT_TRUE(std::isfinite(est.bpm) && std::isfinite(est.confidence) && std::isfinite(est.tempo_spread))
        << "trial " << trial;
    for (const auto& e : continuo::tempo_events(notes)) ASSERT_TRUE(std::isfinite(e.salience)) << "trial " << trial;
  }
}

// Tests of the key-signature estimator on performances built in code.
#include <continuo/features/key.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace {

using continuo::note_columns;

void add(note_columns& n, double onset_s, double duration_s, int pitch) {
  n.onset_tick.push_back(static_cast<continuo::tick_t>(onset_s * 960));
  n.offset_tick.push_back(static_cast<continuo::tick_t>((onset_s + duration_s) * 960));
  n.onset_s.push_back(onset_s);
  n.offset_s.push_back(onset_s + duration_s);
  n.pitch.push_back(static_cast<std::uint8_t>(pitch));
  n.velocity.push_back(80);
  n.release_velocity.push_back(64);
  n.channel.push_back(0);
  n.track.push_back(0);
}

/// The major scale on `tonic` up an octave, then the chords I, IV, V7, I (block chords, one second each).
note_columns cadence_in_major(int tonic) {
  note_columns n;
  double t = 0;
  for (int step : {0, 2, 4, 5, 7, 9, 11, 12}) add(n, t += 0.25, 0.25, tonic + step);
  for (std::initializer_list<int> chord :
       {std::initializer_list<int>{0, 4, 7, 12}, {5, 9, 12, 17}, {7, 11, 14, 17}, {0, 4, 7, 12}}) {
    t += 1.0;
    add(n, t, 1.0, tonic - 12 + *chord.begin());
    for (int p : chord) add(n, t, 1.0, tonic + p);
  }
  return n;
}

TEST(key, c_major_scale_has_no_sharps) {
  note_columns n;
  for (int i = 0; i < 8; ++i)
    add(n, 0.5 * i, 0.5, std::initializer_list<int>{60, 62, 64, 65, 67, 69, 71, 72}.begin()[i]);
  const auto k = continuo::estimate_key(n);
  EXPECT_EQ(k.sharps, 0);
  EXPECT_GT(k.confidence, 0.0);
  EXPECT_EQ(k.note_count, 8U);
}

TEST(key, g_major_has_one_sharp_and_f_major_one_flat) {
  const auto g = continuo::estimate_key(cadence_in_major(67));
  EXPECT_EQ(g.sharps, 1);
  EXPECT_EQ(g.tonic_pc, 7);
  EXPECT_FALSE(g.minor);
  const auto f = continuo::estimate_key(cadence_in_major(65));
  EXPECT_EQ(f.sharps, -1);
  EXPECT_EQ(f.tonic_pc, 5);
}

TEST(key, every_transposition_moves_the_signature_round_the_circle_of_fifths) {
  for (int tonic = 0; tonic < 12; ++tonic) {
    const auto k = continuo::estimate_key(cadence_in_major(60 + tonic));
    EXPECT_EQ(k.sharps, continuo::signature_of_major(tonic)) << tonic;
    EXPECT_GE(k.sharps, -6);
    EXPECT_LE(k.sharps, 5);
  }
}

TEST(key, a_minor_has_the_signature_of_c_major) {
  note_columns n;
  double t = 0;
  for (int p : {57, 59, 60, 62, 64, 65, 68, 69, 64, 57}) add(n, t += 0.3, 0.3, p);  // harmonic minor
  for (std::initializer_list<int> chord :
       {std::initializer_list<int>{45, 57, 60, 64}, {40, 56, 59, 64}, {45, 57, 60, 64}}) {
    t += 1.0;
    for (int p : chord) add(n, t, 1.0, p);
  }
  const auto k = continuo::estimate_key(n);
  EXPECT_TRUE(continuo::same_signature(k.sharps, 0)) << k.sharps;
  EXPECT_TRUE(k.minor);
  EXPECT_EQ(k.tonic_pc, 9);
}

/// The harmonic minor scale on `tonic` up an octave, then the chords i, iv, V (with the raised leading tone), i.
note_columns cadence_in_harmonic_minor(int tonic) {
  note_columns n;
  double t = 0;
  for (int step : {0, 2, 3, 5, 7, 8, 11, 12}) add(n, t += 0.25, 0.25, tonic + step);
  for (std::initializer_list<int> chord :
       {std::initializer_list<int>{0, 3, 7, 12}, {5, 8, 12, 17}, {7, 11, 14, 19}, {0, 3, 7, 12}}) {
    t += 1.0;
    add(n, t, 1.0, tonic - 12 + *chord.begin());
    for (int p : chord) add(n, t, 1.0, tonic + p);
  }
  return n;
}

// The raised leading tone is a sharp the signature lacks (G-sharp in A minor); it must not pull the estimate
// towards the signature of the dominant (E minor, one sharp) or of the parallel major.
TEST(key, the_raised_leading_tone_of_minor_keys_does_not_change_the_signature) {
  for (int tonic = 0; tonic < 12; ++tonic) {
    const auto k = continuo::estimate_key(cadence_in_harmonic_minor(57 + tonic));
    EXPECT_TRUE(continuo::same_signature(k.sharps, continuo::signature_of_major(9 + tonic + 3))) << tonic;
    EXPECT_TRUE(k.minor) << tonic;
    EXPECT_EQ(k.tonic_pc, (9 + tonic) % 12) << tonic;
  }
}

TEST(key, empty_input_gives_zero_confidence) {
  const note_columns none;
  const auto k = continuo::estimate_key(none);
  EXPECT_EQ(k.confidence, 0.0);
  EXPECT_EQ(k.note_count, 0U);
  EXPECT_EQ(continuo::estimate_key(cadence_in_major(60), 5, 5).confidence, 0.0);
  EXPECT_EQ(continuo::estimate_key(continuo::pitch_class_histogram{}).confidence, 0.0);
}

TEST(key, a_range_of_notes_is_estimated_on_its_own) {
  note_columns n = cadence_in_major(62);  // D major, then E-flat major
  const std::size_t split = n.size();
  const note_columns e_flat = cadence_in_major(63);
  for (std::size_t i = 0; i < e_flat.size(); ++i) add(n, 20 + e_flat.onset_s[i], 0.5, e_flat.pitch[i]);
  EXPECT_EQ(continuo::estimate_key(n, 0, split).sharps, 2);
  EXPECT_EQ(continuo::estimate_key(n, split, n.size()).sharps, -3);
}

TEST(key, every_profile_finds_a_plain_cadence) {
  using continuo::key_profile;
  for (auto p : {key_profile::krumhansl_kessler, key_profile::temperley_kostka_payne, key_profile::albrecht_shanahan,
                 key_profile::bellman_budge, key_profile::aarden_essen, key_profile::sapp, key_profile::ensemble}) {
    continuo::key_options o;
    o.profile = p;
    EXPECT_EQ(continuo::estimate_key(cadence_in_major(69), o).sharps, 3) << continuo::name(p);
    EXPECT_FALSE(continuo::name(p).empty());
  }
}

TEST(key, signature_arithmetic) {
  static_assert(continuo::signature_of_major(0) == 0);
  static_assert(continuo::signature_of_major(7) == 1);
  static_assert(continuo::signature_of_major(5) == -1);
  static_assert(continuo::signature_of_major(6) == -6);
  static_assert(continuo::signature_of_major(11) == 5);
  static_assert(continuo::signature_of_major(1) == -5);
  static_assert(continuo::same_signature(7, -5));
  static_assert(continuo::same_signature(6, -6));
  static_assert(!continuo::same_signature(1, -1));
}

TEST(key, names_follow_the_signature_and_the_mode) {
  EXPECT_EQ(continuo::key_name(0, false), "C major");
  EXPECT_EQ(continuo::key_name(0, true), "A minor");
  EXPECT_EQ(continuo::key_name(-3, false), "Eb major");
  EXPECT_EQ(continuo::key_name(-3, true), "C minor");
  EXPECT_EQ(continuo::key_name(3, true), "F# minor");
  EXPECT_EQ(continuo::key_name(5, false), "B major");
  EXPECT_EQ(continuo::key_name(-6, true), "Eb minor");
  // Enharmonic signatures share a name, however far out of -6..+5 they lie.
  EXPECT_EQ(continuo::key_name(6, false), "Gb major");
  EXPECT_EQ(continuo::key_name(7, true), "Bb minor");
  EXPECT_EQ(continuo::key_name(-7, false), "B major");
  EXPECT_EQ(continuo::key_name(19, false), "Db major");
  EXPECT_EQ(continuo::key_name(std::numeric_limits<int>::min(), false),
            continuo::key_name(std::numeric_limits<int>::min() % 12, false));
  // The name's tonic is the estimate's: every key of the cadences above is named by its own tonic.
  static constexpr const char* tonic_names[] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};
  for (int tonic = 0; tonic < 12; ++tonic) {
    const auto k = continuo::estimate_key(cadence_in_major(60 + tonic));
    EXPECT_EQ(continuo::key_name(k.sharps, k.minor), std::string(tonic_names[tonic]) + " major");
  }
  const auto a = continuo::estimate_key(cadence_in_harmonic_minor(57));
  EXPECT_EQ(continuo::key_name(a.sharps, a.minor), "A minor");
}

}  // namespace

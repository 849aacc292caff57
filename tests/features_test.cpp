// Practice features on small performances built in code, with answers known by hand.

#include <continuo/features.hpp>
#include <continuo/midi/writer.hpp>

#include "support/test_support.hpp"

#include <cmath>
#include <set>
#include <string>

namespace {

struct played {
  double onset_s, offset_s;
  std::uint8_t pitch, velocity = 64;
};

/// A performance at 480 PPQ and 120 bpm (960 ticks per second), with sustain spans in seconds.
continuo::performance perform(const std::vector<played>& notes,
                              const std::vector<std::pair<double, double>>& pedal = {}) {
  continuo::midi::smf_file file;
  file.division = continuo::midi::division::metrical(480);
  file.begin_track();
  std::vector<continuo::midi::event> events;
  const auto tick = [](double s) { return static_cast<continuo::tick_t>(std::llround(s * 960)); };
  for (const auto& n : notes) {
    events.push_back({tick(n.onset_s), 0x90, n.pitch, n.velocity});
    events.push_back({tick(n.offset_s), 0x80, n.pitch, 0});
  }
  for (const auto& [down, up] : pedal) {
    events.push_back({tick(down), 0xB0, 64, 127});
    events.push_back({tick(up), 0xB0, 64, 0});
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.tick() < b.tick(); });
  for (const auto& e : events) file.append(e);
  return continuo::read_performance(continuo::midi::write_smf(file));
}

TEST(features, measure_a_metronomic_c_major_scale) {
  std::vector<played> scale;
  const std::uint8_t pitches[] = {60, 62, 64, 65, 67, 69, 71, 72};
  for (int i = 0; i < 8; ++i)
    scale.push_back({0.5 * i, 0.5 * i + 0.4, pitches[i], static_cast<std::uint8_t>(60 + 2 * i)});
  const auto perf = perform(scale);
  const auto f = continuo::compute_features(perf, 0, perf.notes.size(), 0.0, 4.0);
  EXPECT_DOUBLE_EQ(f.note_count, 8);
  EXPECT_DOUBLE_EQ(f.notes_per_second, 2);
  EXPECT_DOUBLE_EQ(f.pitch_range, 12);
  EXPECT_DOUBLE_EQ(f.pitch_class_histogram[0], 0.25);
  EXPECT_DOUBLE_EQ(f.pitch_class_histogram[1], 0);  // no sharps
  EXPECT_DOUBLE_EQ(f.pitch_class_histogram[11], 0.125);
  EXPECT_DOUBLE_EQ(f.ioi_median_s, 0.5);
  EXPECT_NEAR(f.ioi_cv, 0, 1e-12);  // zero tempo spread
  EXPECT_NEAR(f.articulation, 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(f.chord_size_mean, 1);
  EXPECT_DOUBLE_EQ(f.polyphony_max, 1);
  EXPECT_DOUBLE_EQ(f.polyphony_mean, 1);
  EXPECT_DOUBLE_EQ(f.velocity_min, 60);
  EXPECT_DOUBLE_EQ(f.velocity_max, 74);
  EXPECT_DOUBLE_EQ(f.velocity_mean, 67);
  EXPECT_NEAR(f.velocity_std, std::sqrt(21.0), 1e-12);
  EXPECT_DOUBLE_EQ(f.sustain_fraction, 0);
  EXPECT_EQ(f.key_sharps, 0);  // C major
}

TEST(features, merge_slightly_spread_chords_and_count_polyphony) {
  std::vector<played> chords;
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 3; ++k) {
      const double at = i * 1.0 + k * 0.01;  // a triad spread over 20 ms
      chords.push_back({at, i * 1.0 + 1.0, static_cast<std::uint8_t>(60 + 4 * k)});
    }
  }
  const auto perf = perform(chords);
  const auto f = continuo::compute_features(perf, 0, perf.notes.size(), 0.0, 4.0);
  EXPECT_DOUBLE_EQ(f.chord_count, 4);
  EXPECT_DOUBLE_EQ(f.chord_size_mean, 3);
  EXPECT_DOUBLE_EQ(f.polyphony_max, 3);
  EXPECT_GT(f.polyphony_mean, 2.9);
  EXPECT_NEAR(f.articulation, 1.0, 0.03);  // legato: each chord lasts until the next
}

TEST(features, measure_pedal_use_inside_the_stretch) {
  const auto perf = perform({{0, 1, 60}, {3, 4, 62}}, {{0.5, 2.5}, {5, 6}});
  const auto f = continuo::compute_features(perf, 0, 2, 0.0, 4.0);
  EXPECT_DOUBLE_EQ(f.sustain_fraction, 0.5);
  EXPECT_DOUBLE_EQ(f.pedal_presses_per_minute, 15);  // one press in 4 s
}

TEST(features, measure_an_attempt_found_by_the_sessionizer) {
  const auto perf = perform({{0, 1, 60}, {1, 2, 62}, {20, 21, 64}});
  const auto split = continuo::split_practice(perf);
  ASSERT_EQ(split.attempts.size(), 2U);
  const auto f = continuo::compute_features(perf, split.attempts[0]);
  EXPECT_DOUBLE_EQ(f.note_count, 2);
  EXPECT_DOUBLE_EQ(f.playing_time_s, 2);
}

TEST(features, are_zero_for_an_empty_stretch) {
  const auto perf = perform({});
  EXPECT_EQ(continuo::compute_features(perf, 0, 0, 0, 0), continuo::practice_features{});
  EXPECT_EQ(continuo::compute_features(perf, 5, 10, 0, 1).note_count, 0);  // out of range
}

TEST(features, name_every_entry_of_the_vector_once) {
  const auto names = continuo::feature_names();
  const auto vector = continuo::to_vector(continuo::practice_features{});
  EXPECT_EQ(names.size(), vector.size());
  EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.front(), "playing_time_s");
  EXPECT_EQ(names.back(), "pitch_class_11");
}

}  // namespace

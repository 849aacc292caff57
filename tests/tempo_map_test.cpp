#include <continuo/tempo_map.hpp>

#include "support/test_support.hpp"

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using continuo::tempo_change;
using continuo::tempo_map;
using continuo::midi::division;

TEST(tempo_map, defaults_to_120_bpm_at_480_ppq) {
  const tempo_map map;
  EXPECT_DOUBLE_EQ(map.to_seconds(480), 0.5);
  EXPECT_DOUBLE_EQ(map.to_ticks(0.5), 480.0);
  ASSERT_EQ(map.changes().size(), 1U);
  EXPECT_DOUBLE_EQ(map.changes()[0].bpm(), 120.0);
}

TEST(tempo_map, converts_across_tempo_changes_both_ways) {
  const std::vector<tempo_change> changes{{960, 1'000'000}, {1440, 250'000}};
  const tempo_map map(division::metrical(480), changes);
  EXPECT_DOUBLE_EQ(map.to_seconds(960), 1.0);   // two quarters at 0.5 s
  EXPECT_DOUBLE_EQ(map.to_seconds(1440), 2.0);  // one quarter at 1 s
  EXPECT_DOUBLE_EQ(map.to_seconds(1920), 2.25);
  EXPECT_DOUBLE_EQ(map.to_ticks(1.5), 1200.0);
  EXPECT_DOUBLE_EQ(map.to_ticks(2.25), 1920.0);
}

TEST(tempo_map, rounds_seconds_correctly) {
  const tempo_map map(division::metrical(96), {});
  EXPECT_EQ(map.to_seconds(288), 1.5);  // not 1.5000000000000002
  EXPECT_EQ(map.to_seconds(120 * 96), 60.0);
  tempo_map::cursor cursor(map);
  EXPECT_EQ(cursor.to_seconds(288), 1.5);
}

TEST(tempo_map, lets_the_last_change_at_one_tick_win) {
  const std::vector<tempo_change> changes{{0, 1'000'000}, {0, 250'000}, {480, 400'000}, {480, 500'000}};
  const tempo_map map(division::metrical(480), changes);
  ASSERT_EQ(map.changes().size(), 2U);
  EXPECT_EQ(map.changes()[0].us_per_quarter, 250'000U);
  EXPECT_EQ(map.changes()[1].us_per_quarter, 500'000U);
}

TEST(tempo_map, drops_a_change_back_to_the_tempo_in_force) {
  const std::vector<tempo_change> changes{{32, 1'000'000}, {32, 500'000}};
  const tempo_map map(division::metrical(96), changes);
  EXPECT_EQ(map.changes().size(), 1U);
  EXPECT_EQ(map, tempo_map(division::metrical(96), {}));
}

TEST(tempo_map, uses_frames_for_smpte_divisions) {
  const tempo_map map(division::smpte(25, 40), std::vector<tempo_change>{{0, 1'000'000}});
  EXPECT_DOUBLE_EQ(map.to_seconds(1000), 1.0);  // 25 fps x 40 ticks: millisecond ticks, tempo ignored
  const tempo_map ntsc(division::smpte(29, 100), {});
  EXPECT_NEAR(ntsc.to_seconds(3'000'000), 1001.0, 1e-9);  // 29.97 drop-frame is 30000 frames per 1001 s
  EXPECT_NEAR(ntsc.to_ticks(1001.0), 3'000'000.0, 1e-6);
}

TEST(tempo_map, cursor_agrees_with_random_access) {
  std::mt19937 rng(7);
  std::vector<tempo_change> changes;
  continuo::tick_t tick = 0;
  for (int i = 0; i < 500; ++i)
    changes.push_back({tick += rng() % 2000, 200'000 + static_cast<std::uint32_t>(rng() % 900'000)});
  const tempo_map map(division::metrical(960), changes);
  tempo_map::cursor cursor(map);
  for (continuo::tick_t t = 0; t < tick + 5000; t += 37) EXPECT_EQ(cursor.to_seconds(t), map.to_seconds(t));
  EXPECT_EQ(cursor.to_seconds(5), map.to_seconds(5));  // and going back
}

// The batch conversion takes a vector path for blocks within one tempo segment and a scalar path
// for the rest; both must give to_seconds's value bit for bit, whatever the order of the ticks.
TEST(tempo_map, converts_spans_as_it_converts_single_ticks) {
  std::mt19937_64 rng(11);
  std::vector<tempo_change> changes;
  continuo::tick_t tick = 0;
  for (int i = 0; i < 60; ++i)
    changes.push_back({tick += 1 + static_cast<continuo::tick_t>(rng() % 5000), 300'000U + i});
  const std::vector<tempo_map> maps{tempo_map(division::metrical(960), changes), tempo_map(division::metrical(96), {}),
                                    tempo_map(division::smpte(29, 80), {})};
  std::vector<std::vector<continuo::tick_t>> inputs;
  auto& sorted = inputs.emplace_back();  // onsets: non-decreasing, chords, crossing every change
  for (continuo::tick_t t = 0; t < tick + 10'000; t += static_cast<continuo::tick_t>(rng() % 200)) sorted.push_back(t);
  auto& offsets = inputs.emplace_back(sorted);  // offsets: the onsets plus random lengths
  for (auto& t : offsets) t += static_cast<continuo::tick_t>(rng() % 20'000);
  auto& hostile = inputs.emplace_back();  // negative, huge and jumping ticks, past 2^52 and back
  for (int i = 0; i < 997; ++i) {
    const auto r = static_cast<continuo::tick_t>(rng() % 8);
    const continuo::tick_t big = (continuo::tick_t{1} << 52) - 16 + static_cast<continuo::tick_t>(rng() % 32);
    hostile.push_back(r == 0   ? -static_cast<continuo::tick_t>(rng() % 1000)
                      : r == 1 ? big
                               : static_cast<continuo::tick_t>(rng() % 40));
  }
  for (int i = 0; i < 96; ++i) hostile.push_back((continuo::tick_t{1} << 52) - 48 + i);  // blocks about 2^52
  hostile.push_back(std::numeric_limits<continuo::tick_t>::max());
  hostile.push_back(std::numeric_limits<continuo::tick_t>::min());
  for (const auto& map : maps) {
    for (const auto& ticks : inputs) {
      std::vector<double> seconds(ticks.size());
      map.to_seconds(ticks, seconds);
      for (std::size_t i = 0; i < ticks.size(); ++i) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(seconds[i]), std::bit_cast<std::uint64_t>(map.to_seconds(ticks[i])))
            << "tick " << ticks[i] << " at index " << i;
      }
    }
  }
}

TEST(tempo_map, stays_exact_over_many_tempo_changes) {
  // 100k alternating tempos: exact seconds are 100k * (480 * 0.4 + 480 * 0.6) / 480 / 2... computed
  // in integers, the float sum must not drift.
  std::vector<tempo_change> changes;
  for (int i = 0; i < 100'000; ++i) changes.push_back({i * 480LL, i % 2 == 0 ? 400'001U : 600'003U});
  const tempo_map map(division::metrical(480), changes);
  const long double exact = 50'000.0L * (400'001 + 600'003) / 1e6L;
  EXPECT_NEAR(map.to_seconds(100'000LL * 480), static_cast<double>(exact), 1e-9);
  EXPECT_NEAR(map.to_ticks(static_cast<double>(exact)), 100'000.0 * 480, 1e-6);
}

TEST(tempo_map, round_trips_ticks_through_seconds) {
  const std::vector<tempo_change> changes{{100, 123'456}, {777, 654'321}, {5000, 90'000}};
  const tempo_map map(division::metrical(384), changes);
  for (continuo::tick_t t = 0; t < 10'000; t += 13)
    EXPECT_NEAR(map.to_ticks(map.to_seconds(t)), static_cast<double>(t), 1e-6);
}

}  // namespace

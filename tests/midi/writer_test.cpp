// The SMF writer: exact bytes, and round trips. The property tests generate random event streams
// (overlapping strikes of few keys, simultaneous events, pedals, tempo changes), read them under
// each pairing policy, and check that writing and reading again gives the same performance and
// that a second write gives the same bytes.

#include <continuo/midi/reader.hpp>
#include <continuo/midi/writer.hpp>
#include <continuo/performance.hpp>

#include "support/test_support.hpp"

#include <random>

namespace {

using continuo::pairing_policy;
using continuo::performance;
using continuo::read_status;
using continuo::midi::event;
using continuo::midi::smf_file;
using continuo::test::bytes;

TEST(writer, writes_the_exact_bytes_of_a_small_file) {
  smf_file file;
  file.format = 0;
  file.division = continuo::midi::division::metrical(96);
  file.begin_track();
  file.append({0, 0x90, 60, 100});
  file.append({96, 0x90, 60, 0});
  file.append({96, 0xFF, continuo::midi::meta::end_of_track, 0});
  const bytes expected{'M',  'T',  'h', 'd', 0,    0,  0, 6,    0,    0,    0,   1, 0, 96,  //
                       'M',  'T',  'r', 'k', 0,    0,  0, 11,                               //
                       0x00, 0x90, 60,  100, 0x60, 60, 0, 0x00, 0xFF, 0x2F, 0x00};
  EXPECT_EQ(continuo::midi::write_smf(file), expected);
  const auto plain = continuo::midi::write_smf(file, false);
  EXPECT_EQ(plain.size(), expected.size() + 1);  // the second 0x90 is written out
}

TEST(writer, restates_the_status_after_a_meta_event) {
  smf_file file;
  file.begin_track();
  file.append({0, 0x90, 60, 100});
  const std::uint8_t text[] = {'x'};
  file.append({0, 0xFF, continuo::midi::meta::text, 0}, text);
  file.append({10, 0x90, 60, 0});
  const auto written = continuo::midi::write_smf(file);
  const auto again = continuo::midi::read_smf(written, {.strict = true});
  EXPECT_EQ(again.status, read_status::ok);
  EXPECT_EQ(again.events.size(), 4U);  // end of track added
}

TEST(writer, reads_back_every_event_and_payload) {
  smf_file file;
  file.format = 1;
  file.division = continuo::midi::division::smpte(25, 40);
  file.begin_track();
  const std::uint8_t name[] = {'p', 'i', 'a', 'n', 'o'};
  const std::uint8_t sysex[] = {0x7E, 0x7F, 0x09, 0x01, 0xF7};
  file.append({0, 0xFF, continuo::midi::meta::track_name, 0}, name);
  file.append({0, 0xF0, 0, 0}, sysex);
  file.append({5, 0xC0, 4, 0});
  file.append({5, 0xE0, 0x00, 0x40});
  file.append({7, 0xFF, continuo::midi::meta::end_of_track, 0});
  file.begin_track();
  file.append({0, 0xFF, continuo::midi::meta::end_of_track, 0});
  const auto again = continuo::midi::read_smf(continuo::midi::write_smf(file), {.strict = true});
  EXPECT_EQ(again.status, read_status::ok);
  EXPECT_EQ(again, file);
}

TEST(writer, bridges_a_gap_no_delta_time_can_hold_with_empty_text_events) {
  constexpr continuo::tick_t longest = (continuo::tick_t{1} << 28U) - 1;  // the largest delta time
  smf_file file;
  file.begin_track();
  file.append({0, 0x90, 60, 100});
  file.append({2 * longest + 5, 0x80, 60, 0});  // needs two bridges
  file.append({2 * longest + 5, 0x90, 62, 100});
  const auto written = continuo::midi::write_smf(file);
  EXPECT_EQ(written, continuo::midi::write_smf(file));
  const auto again = continuo::midi::read_smf(written, {.strict = true});
  ASSERT_EQ(again.status, read_status::ok);
  ASSERT_EQ(again.events.size(), 6U);  // the three, two bridges and the end of track
  for (const std::size_t i : {1, 2}) {
    EXPECT_EQ(again.events[i], (continuo::midi::event{static_cast<continuo::tick_t>(i) * longest, 0xFF, 0x01}));
    EXPECT_TRUE(again.payload(i).empty());
  }
  EXPECT_EQ(again.events[3], file.events[1]);
  EXPECT_EQ(again.events[4], file.events[2]);  // a status byte again after the bridges

  // A performance whose notes lie that far apart writes and reads back the same.
  const auto perf = continuo::read_performance(written);
  EXPECT_EQ(continuo::read_performance(continuo::midi::write_performance(perf)).notes, perf.notes);
}

TEST(writer, refuses_events_out_of_tick_order) {
  smf_file file;
  file.begin_track();
  file.append({10, 0x90, 60, 100});
  file.append({5, 0x80, 60, 0});
  EXPECT_THROW((void)continuo::midi::write_smf(file), continuo::error);
}

/// Random event streams that stress pairing: few keys, many simultaneous events.
class stream_generator {
 public:
  explicit stream_generator(std::uint32_t seed) : rng_(seed) {}

  bytes make() {
    smf_file file;
    file.format = 1;
    file.division = continuo::midi::division::metrical(static_cast<std::uint16_t>(pick(1, 3) * 96));
    const int tracks = pick(1, 3);
    for (int t = 0; t < tracks; ++t) {
      file.begin_track();
      int open[2][4] = {};
      continuo::tick_t tick = 0;
      for (int i = 0, n = pick(0, 60); i < n; ++i) {
        tick += pick(0, 3) == 0 ? pick(1, 30) : 0;  // many events share a tick
        const auto ch = static_cast<std::uint8_t>(pick(0, 1));
        const int k = pick(0, 3);
        const auto pitch = static_cast<std::uint8_t>(60 + k);
        switch (pick(0, 9)) {
          case 0:
          case 1:
          case 2:
            file.append({tick, static_cast<std::uint8_t>(0x90 | ch), pitch, static_cast<std::uint8_t>(pick(1, 127))});
            ++open[ch][k];
            break;
          case 3:
          case 4:
            file.append({tick, static_cast<std::uint8_t>(0x80 | ch), pitch, static_cast<std::uint8_t>(pick(0, 127))});
            open[ch][k] = std::max(0, open[ch][k] - 1);
            break;
          case 5:
            file.append({tick, static_cast<std::uint8_t>(0x90 | ch), pitch, 0});
            open[ch][k] = std::max(0, open[ch][k] - 1);
            break;
          case 6:
            file.append({tick, static_cast<std::uint8_t>(0xB0 | ch),
                         static_cast<std::uint8_t>(pick(0, 1) == 0 ? 64 : 67),
                         static_cast<std::uint8_t>(pick(0, 127))});
            break;
          case 7:
            file.append({tick, static_cast<std::uint8_t>(0xE0 | ch), static_cast<std::uint8_t>(pick(0, 127)),
                         static_cast<std::uint8_t>(pick(0, 127))});
            break;
          case 8:
            file.append({tick, static_cast<std::uint8_t>(0xC0 | ch), static_cast<std::uint8_t>(pick(0, 127)), 0});
            break;
          default: {
            const auto us = static_cast<std::uint32_t>(pick(200'000, 1'000'000));
            const std::uint8_t tempo[] = {static_cast<std::uint8_t>(us >> 16U), static_cast<std::uint8_t>(us >> 8U),
                                          static_cast<std::uint8_t>(us)};
            file.append({tick, 0xFF, continuo::midi::meta::tempo, 0}, tempo);
          }
        }
      }
      // Release every key after the last event: enough note-offs for any policy (close_all keeps
      // notes struck on a note-off's tick open, so `open` may undercount; extra offs are harmless).
      tick += 1;
      for (std::uint8_t ch = 0; ch < 2; ++ch) {
        for (int k = 0; k < 4; ++k) {
          for (int j = 0; j < std::max(open[ch][k], 1); ++j) {
            file.append({tick, static_cast<std::uint8_t>(0x80 | ch), static_cast<std::uint8_t>(60 + k), 0});
          }
        }
      }
      file.append({tick + pick(0, 5), 0xFF, continuo::midi::meta::end_of_track, 0});
    }
    return continuo::midi::write_smf(file);
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937 rng_;
};

/// Expects the same music: everything but the event count and the diagnostics of the first read.
void expect_same_music(const performance& a, const performance& b) {
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.pedals, b.pedals);
  EXPECT_EQ(a.controls, b.controls);
  EXPECT_EQ(a.programs, b.programs);
  EXPECT_EQ(a.pitch_bends, b.pitch_bends);
  EXPECT_EQ(a.tempo, b.tempo);
  EXPECT_EQ(a.time_signatures, b.time_signatures);
  EXPECT_EQ(a.key_signatures, b.key_signatures);
  EXPECT_EQ(a.duration_tick, b.duration_tick);
  EXPECT_EQ(a.duration_s, b.duration_s);
  EXPECT_EQ(a.track_count, b.track_count);
}

class round_trip : public ::testing::TestWithParam<pairing_policy> {};

TEST_P(round_trip, write_then_read_gives_the_same_performance_and_bytes) {
  const pairing_policy policy = GetParam();
  stream_generator generate(static_cast<std::uint32_t>(policy) + 1);
  for (int i = 0; i < 400; ++i) {
    SCOPED_TRACE(i);
    const auto source = generate.make();
    for (const bool keep_controls : {true, false}) {
      const continuo::performance_options options{.pairing = policy, .keep_controls = keep_controls};
      const auto first = continuo::read_performance(source, options);
      ASSERT_EQ(first.status, read_status::ok);
      const continuo::midi::write_options write{.format = 1, .pairing = policy};
      const auto written = continuo::midi::write_performance(first, write);
      const auto second = continuo::read_performance(written, options);
      ASSERT_EQ(second.status, read_status::ok) << to_string(second.diagnostics.at(0));
      expect_same_music(first, second);
      EXPECT_EQ(continuo::midi::write_performance(second, write), written);
      if (HasFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(policies, round_trip,
                         ::testing::Values(pairing_policy::fifo, pairing_policy::lifo, pairing_policy::close_all),
                         [](const auto& param_info) { return std::string(continuo::name(param_info.param)); });

TEST(writer, keeps_sustain_extended_offsets) {
  stream_generator generate(99);
  const auto perf = continuo::read_performance(generate.make(), {.sustain = true});
  const auto again = continuo::read_performance(continuo::midi::write_performance(perf));
  EXPECT_EQ(again.notes, perf.notes);
}

TEST(writer, rescales_ticks_to_another_ppq) {
  stream_generator generate(5);
  const auto perf = continuo::read_performance(generate.make());
  const auto ppq = perf.tempo.division().ticks_per_quarter();
  const auto doubled = continuo::read_performance(
      continuo::midi::write_performance(perf, {.ticks_per_quarter = static_cast<std::uint16_t>(ppq * 2)}));
  ASSERT_EQ(doubled.notes.size(), perf.notes.size());
  for (std::size_t i = 0; i < perf.notes.size(); ++i) {
    EXPECT_EQ(doubled.notes.onset_tick[i], perf.notes.onset_tick[i] * 2);
    EXPECT_NEAR(doubled.notes.onset_s[i], perf.notes.onset_s[i], 1e-9);
  }
}

TEST(writer, refuses_a_rescaled_tick_past_what_an_event_holds) {
  smf_file file;
  file.division = continuo::midi::division::metrical(96);
  file.begin_track();
  for (int i = 0; i < 512; ++i) file.append({(continuo::tick_t{i} + 1) * ((1 << 28) - 1), 0xB0, 1, 0});
  const auto perf = continuo::read_performance(continuo::midi::write_smf(file));
  ASSERT_EQ(perf.controls.back().tick, 512 * ((continuo::tick_t{1} << 28) - 1));  // about 2^37
  EXPECT_NO_THROW((void)continuo::midi::write_performance(perf));
  try {
    (void)continuo::midi::write_performance(perf, {.ticks_per_quarter = 960});  // 10x: past 2^40 - 1
    FAIL() << "expected continuo::error";
  } catch (const continuo::error& e) {
    EXPECT_NE(std::string(e.what()).find("2^40 - 1"), std::string::npos) << e.what();
  }
}

TEST(writer, merges_tracks_into_format_0) {
  stream_generator generate(11);
  const auto perf = continuo::read_performance(generate.make());
  const auto merged = continuo::read_performance(continuo::midi::write_performance(perf, {.format = 0}));
  EXPECT_EQ(merged.format, 0);
  EXPECT_EQ(merged.track_count, 1);
  EXPECT_EQ(merged.notes.onset_tick.size(), perf.notes.onset_tick.size());
  EXPECT_EQ(merged.status, read_status::ok);
}

TEST(writer, writes_simultaneous_conductor_events_tempo_first_then_in_the_order_given) {
  // Events of one tick are ordered by class and rank, sorted together in place: the conductor's
  // tempo changes, time and key signatures keep their order, and each its own data bytes.
  performance perf;
  const std::vector<continuo::tempo_change> tempo{{0, 600'000}, {960, 400'000}};
  perf.tempo = continuo::tempo_map(continuo::midi::division::metrical(480), tempo);
  perf.time_signatures = {{.tick = 0, .numerator = 3},
                          {.tick = 0, .numerator = 6, .denominator = 8},
                          {.tick = 960, .numerator = 2, .denominator = 2}};
  perf.key_signatures = {{.tick = 0, .sharps = -3, .minor = true}, {.tick = 960, .sharps = 2}};
  perf.duration_tick = 1920;
  const auto file = continuo::midi::read_smf(continuo::midi::write_performance(perf));
  ASSERT_EQ(file.status, read_status::ok);
  std::vector<std::pair<continuo::tick_t, bytes>> conductor;
  for (std::size_t i = 0; i < file.events.size(); ++i) {
    const auto data = file.payload(i);
    if (file.events[i].data1() != continuo::midi::meta::end_of_track) {
      conductor.emplace_back(file.events[i].tick(), bytes(data.begin(), data.end()));
    }
  }
  const std::vector<std::pair<continuo::tick_t, bytes>> expected{
      {0, {0x09, 0x27, 0xC0}},   {0, {3, 2, 24, 8}},   {0, {6, 3, 24, 8}}, {0, {0xFD, 1}},
      {960, {0x06, 0x1A, 0x80}}, {960, {2, 1, 24, 8}}, {960, {2, 0}}};
  EXPECT_EQ(conductor, expected);
}

}  // namespace

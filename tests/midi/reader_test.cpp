// Edge cases of the SMF reader, each built in code, each asserting the exact diagnostic id and
// byte offset. Offsets: the MThd chunk is bytes 0-13, the first MTrk id is at 14, its length at
// 18 and its first event at 22.

#include <continuo/midi/reader.hpp>
#include <continuo/performance.hpp>

#include "support/test_support.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace {

using continuo::diagnostic_id;
using continuo::read_status;
using continuo::midi::read_smf;
using continuo::test::bytes;
using continuo::test::cat;
using continuo::test::end_of_track;
using continuo::test::smf;

constexpr std::uint64_t first_event = 22;

const bytes middle_c{0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0};  // one quarter at 96 PPQ

continuo::midi::read_options strict() { return {.strict = true}; }

/// Expects exactly one diagnostic with this id, offset and track.
void expect_only(const std::vector<continuo::diagnostic>& diagnostics, diagnostic_id id, std::uint64_t offset,
                 std::int32_t track) {
  std::string all;
  for (const auto& d : diagnostics) all += to_string(d) + "\n";
  ASSERT_EQ(diagnostics.size(), 1U) << all;
  EXPECT_EQ(continuo::name(diagnostics[0].id), continuo::name(id)) << diagnostics[0].message;
  EXPECT_EQ(diagnostics[0].offset, offset) << diagnostics[0].message;
  EXPECT_EQ(diagnostics[0].track, track) << diagnostics[0].message;
  EXPECT_FALSE(diagnostics[0].message.empty());
}

TEST(reader, reads_a_minimal_file_as_ok) {
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, end_of_track})), strict());
  EXPECT_EQ(file.status, read_status::ok);
  EXPECT_TRUE(file.diagnostics.empty());
  EXPECT_EQ(file.format, 0);
  EXPECT_EQ(file.division.ticks_per_quarter(), 96);
  ASSERT_EQ(file.tracks.size(), 1U);
  const auto events = file.track_events(0);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0], (continuo::midi::event{0, 0x90, 60, 100}));
  EXPECT_EQ(events[1], (continuo::midi::event{96, 0x80, 60, 0}));
  EXPECT_TRUE(events[2].is_meta());
  EXPECT_EQ(events[2].data1(), continuo::midi::meta::end_of_track);
  EXPECT_EQ(events[2].tick(), 96);
}

TEST(event, holds_a_40_bit_tick_and_three_bytes_in_8_bytes) {
  using continuo::midi::event;
  static_assert(sizeof(event) == 8);
  constexpr event last{event::max_tick, 0xB3, 64, 127};
  static_assert(last.tick() == (continuo::tick_t{1} << 40) - 1);
  static_assert(last.status() == 0xB3 && last.data1() == 64 && last.data2() == 127 && last.channel() == 3);
  static_assert(event{}.tick() == 0 && !event{}.is_channel());
  EXPECT_EQ(last.at(7), (event{7, 0xB3, 64, 127}));
  EXPECT_THROW((void)event(event::max_tick + 1, 0x90, 60, 100), std::out_of_range);
  EXPECT_THROW((void)event(-1, 0x90, 60, 100), std::out_of_range);
  EXPECT_THROW((void)event(std::numeric_limits<continuo::tick_t>::min(), 0x90, 60, 100), std::out_of_range);
}

TEST(reader, finds_each_payload_by_event_index_or_reference) {
  // A track name, a note, a sysex packet, then the end of the track.
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 0xFF, 0x03, 0x02, 'R', 'H'},
                                                               {0x00, 0x90, 60, 100},
                                                               {0x10, 0xF0, 0x03, 0x7E, 0x09, 0xF7},
                                                               end_of_track})));
  ASSERT_EQ(file.status, read_status::ok);
  ASSERT_EQ(file.events.size(), 4U);
  ASSERT_EQ(file.payload_spans.size(), 3U);  // the end of track has an empty one
  const auto text = [](std::span<const std::uint8_t> b) { return std::string(b.begin(), b.end()); };
  EXPECT_EQ(text(file.payload(0)), "RH");
  EXPECT_TRUE(file.payload(1).empty());
  EXPECT_EQ(text(file.payload(2)), "\x7E\x09\xF7");
  EXPECT_TRUE(file.payload(3).empty());
  EXPECT_EQ(text(file.payload(file.track_events(0)[2])), "\x7E\x09\xF7");
  EXPECT_THROW((void)file.payload(4), std::out_of_range);
  const continuo::midi::event copy = file.events[0];  // not an element of file.events
  EXPECT_THROW((void)file.payload(copy), std::invalid_argument);
}

TEST(reader, caps_max_tick_to_what_an_event_holds) {
  continuo::midi::read_options options;
  options.limits.max_tick = std::numeric_limits<continuo::tick_t>::max();
  // 2^12 deltas of 2^28 - 1 ticks reach 2^40 - 2^12; the next one passes 2^40 - 1.
  bytes body;
  for (int i = 0; i < 4097; ++i) body.insert(body.end(), {0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 100});
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({body, end_of_track})), options);
  expect_only(file.diagnostics, diagnostic_id::tick_limit, first_event + 4096 * 7, 0);
  ASSERT_EQ(file.events.size(), 4096U);
  EXPECT_EQ(file.events.back().tick(), 4096 * ((continuo::tick_t{1} << 28) - 1));
}

TEST(reader, rejects_a_zero_byte_file) {
  const auto file = read_smf({});
  EXPECT_EQ(file.status, read_status::invalid);
  expect_only(file.diagnostics, diagnostic_id::header_not_found, 0, -1);
}

TEST(reader, rejects_a_file_of_only_mthd) {
  const auto file = read_smf(bytes{'M', 'T', 'h', 'd'});
  EXPECT_EQ(file.status, read_status::invalid);
  expect_only(file.diagnostics, diagnostic_id::header_truncated, 0, -1);
}

TEST(reader, reports_missing_tracks_for_a_header_without_tracks) {
  const auto file = read_smf(smf().header(0, 1, 96));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::missing_tracks, 14, -1);
  EXPECT_EQ(read_smf(smf().header(0, 1, 96), strict()).status, read_status::invalid);
}

TEST(reader, rejects_a_header_chunk_shorter_than_six_bytes) {
  const auto file = read_smf(smf().raw({'M', 'T', 'h', 'd'}).be(4, 4).be(0, 2).be(1, 2).be(96, 2));
  EXPECT_EQ(file.status, read_status::invalid);
  expect_only(file.diagnostics, diagnostic_id::header_truncated, 4, -1);
}

TEST(reader, reads_up_to_the_end_when_a_track_length_is_past_the_end_of_the_file) {
  const auto body = cat({middle_c, end_of_track});
  const auto file = read_smf(smf().header(0, 1, 96).track(body, 1000));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::chunk_truncated, 18, 0);
  EXPECT_EQ(file.track_events(0).size(), 3U);
  EXPECT_EQ(read_smf(smf().header(0, 1, 96).track(body, 1000), strict()).status, read_status::invalid);
}

TEST(reader, reports_65535_declared_tracks_without_reserving_for_them) {
  const auto file = read_smf(smf().header(1, 65535, 96).track(cat({middle_c, end_of_track})));
  EXPECT_EQ(file.status, read_status::repaired);
  const auto size = smf().header(1, 65535, 96).track(cat({middle_c, end_of_track})).data.size();
  expect_only(file.diagnostics, diagnostic_id::missing_tracks, size, -1);
  EXPECT_EQ(file.tracks.size(), 1U);
  EXPECT_LT(file.events.capacity(), 1000U);
}

TEST(reader, cuts_the_track_at_a_4_gb_sysex_length) {
  // 0xFFFFFFFF needs five VLQ bytes: more than the four an SMF allows.
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, {0x00, 0xF0, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F}})));
  expect_only(file.diagnostics, diagnostic_id::vlq_too_long, first_event + middle_c.size() + 1, 0);
  EXPECT_EQ(file.status, read_status::repaired);
  EXPECT_EQ(file.track_events(0).size(), 2U);  // the note survives
}

TEST(reader, cuts_the_track_at_a_sysex_length_past_the_end) {
  // 0x0FFFFFFF (256 MiB), the largest length a VLQ holds, in a 12-byte track.
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, {0x00, 0xF0, 0xFF, 0xFF, 0xFF, 0x7F}})));
  expect_only(file.diagnostics, diagnostic_id::length_past_end, first_event + middle_c.size() + 1, 0);
  EXPECT_EQ(file.track_events(0).size(), 2U);
}

TEST(reader, stops_after_four_bytes_of_a_100k_byte_vlq) {
  const auto file = read_smf(smf().header(0, 1, 96).track(bytes(100'000, 0xFF)));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::vlq_too_long, first_event, 0);
  EXPECT_TRUE(file.track_events(0).empty());
}

TEST(reader, reads_the_largest_four_byte_vlq) {
  const auto file = read_smf(
      smf().header(0, 1, 96).track(cat({{0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 100}, {0x00, 0x80, 60, 0}, end_of_track})));
  EXPECT_EQ(file.status, read_status::ok);
  EXPECT_EQ(file.events[0].tick(), 0x0FFFFFFF);
}

TEST(reader, cuts_the_track_at_running_status_with_no_prior_status) {
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 60, 100}, end_of_track})));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::running_status_missing, first_event + 1, 0);
}

TEST(reader, reuses_running_status_after_a_meta_event_only_when_lenient) {
  const bytes body = cat({{0x00, 0x90, 60, 100}, {0x00, 0xFF, 0x01, 0x01, 'a'}, {0x60, 60, 0}, end_of_track});
  const auto lenient = continuo::read_performance(smf().header(0, 1, 96).track(body));
  EXPECT_EQ(lenient.status, read_status::repaired);
  expect_only(lenient.diagnostics, diagnostic_id::running_status_cancelled, first_event + 4 + 5 + 1, 0);
  ASSERT_EQ(lenient.notes.size(), 1U);
  EXPECT_EQ(lenient.notes.offset_tick[0], 96);

  const auto file = read_smf(smf().header(0, 1, 96).track(body), strict());
  EXPECT_EQ(file.status, read_status::invalid);
  expect_only(file.diagnostics, diagnostic_id::running_status_cancelled, first_event + 4 + 5 + 1, 0);
}

TEST(reader, reuses_running_status_after_a_sysex_event_only_when_lenient) {
  const bytes body = cat({{0x00, 0x90, 60, 100}, {0x00, 0xF0, 0x02, 0x7E, 0xF7}, {0x60, 60, 0}, end_of_track});
  const auto file = read_smf(smf().header(0, 1, 96).track(body));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::running_status_cancelled, first_event + 4 + 5 + 1, 0);
  EXPECT_EQ(file.events[2], (continuo::midi::event{96, 0x90, 60, 0}));
  EXPECT_EQ(read_smf(smf().header(0, 1, 96).track(body), strict()).status, read_status::invalid);
}

TEST(reader, reads_division_zero_as_480_with_a_diagnostic) {
  const auto file = read_smf(smf().header(0, 1, 0).track(cat({middle_c, end_of_track})));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::division_zero, 12, -1);
  EXPECT_EQ(file.division.ticks_per_quarter(), 480);
}

TEST(reader, ignores_a_tempo_of_zero_with_a_diagnostic) {
  const bytes body = cat({{0x00, 0xFF, 0x51, 0x03, 0, 0, 0}, middle_c, end_of_track});
  const auto perf = continuo::read_performance(smf().header(0, 1, 96).track(body));
  EXPECT_EQ(perf.status, read_status::repaired);
  expect_only(perf.diagnostics, diagnostic_id::tempo_zero, first_event + 1, 0);
  ASSERT_EQ(perf.tempo.changes().size(), 1U);
  EXPECT_EQ(perf.tempo.changes()[0].us_per_quarter, 500'000U);  // the default stays in force
  EXPECT_DOUBLE_EQ(perf.notes.offset_s[0], 0.5);
}

TEST(reader, reports_a_missing_end_of_track_at_the_end_of_the_chunk) {
  const auto file = read_smf(smf().header(0, 1, 96).track(middle_c));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::missing_end_of_track, first_event + middle_c.size(), 0);
  EXPECT_EQ(file.track_events(0).size(), 2U);
}

TEST(reader, ignores_bytes_after_the_end_of_track_event) {
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, end_of_track, {0x00, 0x90}})));
  expect_only(file.diagnostics, diagnostic_id::data_after_end_of_track, first_event + middle_c.size() + 4, 0);
}

TEST(reader, finds_the_header_after_leading_garbage) {
  const auto file = read_smf(cat({{'j', 'u', 'n', 'k'}, smf().header(0, 1, 96).track(cat({middle_c, end_of_track}))}));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::leading_garbage, 0, -1);
  EXPECT_EQ(file.track_events(0).size(), 3U);
}

TEST(reader, reads_a_riff_rmid_wrapper_without_diagnostics) {
  const bytes midi = smf().header(0, 1, 96).track(cat({middle_c, end_of_track}));
  const auto file = read_smf(smf()
                                 .raw({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'R', 'M', 'I', 'D', 'd', 'a', 't', 'a'})
                                 .be(static_cast<std::uint32_t>(midi.size()), 4)
                                 .raw(midi),
                             strict());
  EXPECT_EQ(file.status, read_status::ok);
  EXPECT_EQ(file.track_events(0).size(), 3U);
}

TEST(reader, skips_unknown_chunks_silently) {
  const auto file = read_smf(
      smf().header(0, 1, 96).raw({'X', 'F', 'I', 'H'}).be(3, 4).raw({1, 2, 3}).track(cat({middle_c, end_of_track})),
      strict());
  EXPECT_EQ(file.status, read_status::ok);
  EXPECT_EQ(file.tracks.size(), 1U);
}

TEST(reader, finds_the_tracks_after_an_unknown_chunk_whose_length_runs_past_the_end) {
  const auto file = read_smf(smf()
                                 .header(1, 2, 96)
                                 .raw({'X', 'F', 'I', 'H'})
                                 .be(0xFFFFFF, 4)
                                 .track(cat({middle_c, end_of_track}))
                                 .track(cat({middle_c, end_of_track})));
  ASSERT_EQ(file.tracks.size(), 2U);
  EXPECT_EQ(file.track_events(1).size(), 3U);
  expect_only(file.diagnostics, diagnostic_id::chunk_truncated, 18, -1);
  EXPECT_NE(file.diagnostics[0].message.find("resumed at the next MTrk, byte 22"), std::string::npos);
}

TEST(reader, resumes_at_the_next_track_after_a_garbage_chunk_id) {
  const auto file = read_smf(
      smf().header(1, 1, 96).raw({0x01, 0x02, 0x03, 0x04, 0x05}).track(cat({middle_c, end_of_track})));
  EXPECT_EQ(file.status, read_status::repaired);
  expect_only(file.diagnostics, diagnostic_id::chunk_id_invalid, 14, -1);
  EXPECT_EQ(file.track_events(0).size(), 3U);
}

TEST(reader, finds_a_track_whose_tag_an_over_long_chunk_swallowed) {
  // Track 0 declares 5 bytes: its end of track and the 'M' of the next "MTrk".
  const auto file = read_smf(smf()
                                 .header(1, 2, 96)
                                 .track(cat({end_of_track, {'M'}}), 5)
                                 .raw({'T', 'r', 'k'})
                                 .be(12, 4)
                                 .raw(cat({middle_c, end_of_track})));
  ASSERT_EQ(file.tracks.size(), 2U);
  EXPECT_EQ(file.track_events(1).size(), 3U);
  expect_only(file.diagnostics, diagnostic_id::data_after_end_of_track, 26, 0);
  EXPECT_EQ(file.diagnostics[0].message,
            "1 bytes after the end-of-track event hold the track chunk at byte 26; read "
            "from there");
}

TEST(reader, finds_a_whole_track_that_an_over_long_chunk_swallowed) {
  // Track 0 declares its own bytes and all of track 1, which ends the file: nothing is left after
  // the chunk to search, so the track is found in the bytes after track 0's end of track.
  const bytes second = cat({{'M', 'T', 'r', 'k', 0, 0, 0, 12}, middle_c, end_of_track});
  const auto file = read_smf(smf()
                                 .header(1, 2, 96)
                                 .track(cat({middle_c, end_of_track}), static_cast<std::uint32_t>(12 + second.size()))
                                 .raw(second));
  ASSERT_EQ(file.tracks.size(), 2U);
  EXPECT_EQ(file.track_events(1).size(), 3U);
  expect_only(file.diagnostics, diagnostic_id::data_after_end_of_track, 22 + 12, 0);
}

TEST(reader, reads_a_header_longer_than_the_file_as_six_bytes) {
  const auto file = read_smf(
      smf().raw({'M', 'T', 'h', 'd'}).be(0xFFFFFFFF, 4).be(0, 2).be(1, 2).be(96, 2).track(end_of_track));
  expect_only(file.diagnostics, diagnostic_id::chunk_truncated, 4, -1);
  EXPECT_EQ(file.tracks.size(), 1U);
}

TEST(reader, calls_any_run_of_trailing_padding_trailing_bytes) {
  const bytes track = cat({middle_c, end_of_track});
  for (const std::size_t padding : {3U, 86U}) {
    const auto file = read_smf(smf().header(0, 1, 96).track(track).raw(bytes(padding, 0)));
    expect_only(file.diagnostics, diagnostic_id::trailing_bytes, 14 + 8 + track.size(), -1);
  }
}

TEST(reader, reads_extra_tracks_with_a_diagnostic) {
  const auto track = cat({middle_c, end_of_track});
  const auto file = read_smf(smf().header(1, 1, 96).track(track).track(track));
  expect_only(file.diagnostics, diagnostic_id::extra_tracks, 14 + 8 + track.size(), 1);
  EXPECT_EQ(file.tracks.size(), 2U);
}

TEST(reader, reads_format_0_with_two_tracks_with_a_diagnostic) {
  const auto track = cat({middle_c, end_of_track});
  const auto file = read_smf(smf().header(0, 2, 96).track(track).track(track));
  expect_only(file.diagnostics, diagnostic_id::format0_track_count, 10, -1);
}

TEST(reader, reads_an_unknown_format_as_format_1) {
  const auto file = read_smf(smf().header(7, 1, 96).track(cat({middle_c, end_of_track})));
  expect_only(file.diagnostics, diagnostic_id::unknown_format, 8, -1);
  EXPECT_EQ(file.format, 1);
}

TEST(reader, reads_smpte_divisions) {
  for (const std::uint8_t fps : std::initializer_list<std::uint8_t>{24, 25, 29, 30}) {
    const auto file = read_smf(smf().header(0, 1, continuo::midi::division::smpte(fps, 40).raw).track(end_of_track),
                               strict());
    EXPECT_EQ(file.status, read_status::ok);
    EXPECT_TRUE(file.division.is_smpte());
    EXPECT_EQ(file.division.smpte_fps(), fps);
    EXPECT_EQ(file.division.ticks_per_frame(), 40);
  }
  const auto bad = read_smf(smf().header(0, 1, continuo::midi::division::smpte(23, 40).raw).track(end_of_track));
  expect_only(bad.diagnostics, diagnostic_id::smpte_frames_invalid, 12, -1);
}

TEST(reader, drops_a_channel_message_with_a_data_byte_over_0x7f) {
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 0x90, 60, 0xC0}, middle_c, end_of_track})));
  expect_only(file.diagnostics, diagnostic_id::data_byte_invalid, first_event + 3, 0);
  EXPECT_EQ(file.track_events(0).size(), 3U);
}

TEST(reader, skips_system_real_time_and_common_bytes) {
  const auto file = read_smf(
      smf().header(0, 1, 96).track(cat({{0x00, 0xF8}, {0x00, 0xF2, 0x01, 0x02}, middle_c, end_of_track})));
  ASSERT_EQ(file.diagnostics.size(), 2U);
  EXPECT_EQ(file.diagnostics[0].id, diagnostic_id::status_byte_invalid);
  EXPECT_EQ(file.diagnostics[0].offset, first_event + 1);
  EXPECT_EQ(file.diagnostics[1].offset, first_event + 3);
  EXPECT_EQ(file.track_events(0).size(), 3U);
}

TEST(reader, ignores_meta_events_of_the_wrong_length_or_value) {
  const auto tempo = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1}, end_of_track})));
  expect_only(tempo.diagnostics, diagnostic_id::meta_length_invalid, first_event + 1, 0);
  const auto key = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 0xFF, 0x59, 0x02, 9, 0}, end_of_track})));
  expect_only(key.diagnostics, diagnostic_id::meta_value_invalid, first_event + 1, 0);
  const auto mode = read_smf(smf().header(0, 1, 96).track(cat({{0x00, 0xFF, 0x59, 0x02, 0xFD, 2}, end_of_track})));
  expect_only(mode.diagnostics, diagnostic_id::meta_value_invalid, first_event + 1, 0);
  const auto smpte = read_smf(
      smf().header(0, 1, 96).track(cat({{0x00, 0xFF, 0x54, 0x05, 0x20 | 30, 0, 0, 0, 0}, end_of_track})));
  expect_only(smpte.diagnostics, diagnostic_id::meta_value_invalid, first_event + 1, 0);
  EXPECT_EQ(key.track_events(0).size(), 1U);  // only the end of track remains
}

TEST(reader, cuts_a_track_at_max_tick) {
  continuo::midi::read_options options;
  options.limits.max_tick = 1000;
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, {0x8F, 0x00, 0x90, 60, 100}, end_of_track})),
                             options);
  expect_only(file.diagnostics, diagnostic_id::tick_limit, first_event + middle_c.size(), 0);
  EXPECT_EQ(file.track_events(0).size(), 2U);
}

TEST(reader, stops_at_max_events) {
  continuo::midi::read_options options;
  options.limits.max_events = 1;
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({middle_c, end_of_track})), options);
  expect_only(file.diagnostics, diagnostic_id::event_limit, first_event + 4, 0);
  EXPECT_EQ(file.events.size(), 1U);
}

TEST(reader, stops_listing_diagnostics_at_max_diagnostics) {
  continuo::midi::read_options options;
  options.limits.max_diagnostics = 3;
  bytes body;
  for (int i = 0; i < 10; ++i) body.insert(body.end(), {0x00, 0xF8});
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({body, end_of_track})), options);
  ASSERT_EQ(file.diagnostics.size(), 4U);
  EXPECT_EQ(file.diagnostics.back().id, diagnostic_id::diagnostic_limit);
  EXPECT_EQ(file.diagnostics.back().message, "more than 3 diagnostics; 7 more not listed");  // counted
}

TEST(reader, strict_mode_stops_at_the_first_violation) {
  bytes body;
  for (int i = 0; i < 10; ++i) body.insert(body.end(), {0x00, 0xF8});
  const auto file = read_smf(smf().header(0, 1, 96).track(cat({body, end_of_track})), strict());
  EXPECT_EQ(file.status, read_status::invalid);
  EXPECT_EQ(file.diagnostics.size(), 1U);
}

TEST(reader, keeps_meta_and_sysex_payloads) {
  const auto file = read_smf(smf().header(0, 1, 96).track(
      cat({{0x00, 0xFF, 0x03, 0x02, 'h', 'i'}, {0x00, 0xF0, 0x02, 0x7E, 0xF7}, end_of_track})));
  const auto events = file.track_events(0);
  const auto name = file.payload(events[0]);
  EXPECT_EQ(std::string(name.begin(), name.end()), "hi");
  EXPECT_EQ(file.payload(events[1]).size(), 2U);
  EXPECT_TRUE(file.payload(file.events[2]).empty());
}

TEST(reader, grades_every_truncation_of_a_valid_file) {
  const bytes whole = smf()
                          .header(1, 2, 96)
                          .track(cat({{0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20}, end_of_track}))
                          .track(cat({middle_c, {0x00, 0xB0, 64, 127, 0x10, 64, 0}, end_of_track}));
  EXPECT_EQ(read_smf(whole, strict()).status, read_status::ok);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const auto part = std::span<const std::uint8_t>(whole).first(n);
    const auto file = read_smf(part);
    SCOPED_TRACE(n);
    EXPECT_NE(file.status, read_status::ok);
    EXPECT_FALSE(file.diagnostics.empty());
    const auto perf = continuo::read_performance(part);
    EXPECT_EQ(perf.status, file.status);
  }
}

}  // namespace

// The performance model: pairing policies, pedals, sustain, order, seconds. Files are built in
// code at 96 PPQ and 120 bpm, so 96 ticks are 0.5 s.

#include <continuo/midi/reader.hpp>
#include <continuo/midi/writer.hpp>
#include <continuo/performance.hpp>

#include "support/test_support.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using continuo::diagnostic_id;
using continuo::pairing_policy;
using continuo::performance;
using continuo::read_status;
using continuo::test::bytes;
using continuo::test::cat;
using continuo::test::end_of_track;
using continuo::test::smf;

/// Reads a one-track format-0 file made of `body` (end of track appended).
performance read_body(const bytes& body, continuo::performance_options options = {}) {
  return continuo::read_performance(smf().header(0, 1, 96).track(cat({body, end_of_track})), options);
}

using note = std::tuple<continuo::tick_t, continuo::tick_t, int, int>;  // onset, offset, pitch, velocity

std::vector<note> notes_of(const performance& p) {
  std::vector<note> out;
  for (std::size_t i = 0; i < p.notes.size(); ++i) {
    out.emplace_back(p.notes.onset_tick[i], p.notes.offset_tick[i], p.notes.pitch[i], p.notes.velocity[i]);
  }
  return out;
}

// Two strikes of one key before any release: on@0 (v10), on@10 (v20), off@20, off@30.
const bytes overlapping{0x00, 0x90, 60, 10, 0x0A, 0x90, 60, 20, 0x0A, 0x80, 60, 0, 0x0A, 0x80, 60, 0};

TEST(performance, pairs_overlapping_notes_first_in_first_out_by_default) {
  EXPECT_EQ(notes_of(read_body(overlapping)), (std::vector<note>{{0, 20, 60, 10}, {10, 30, 60, 20}}));
}

TEST(performance, pairs_overlapping_notes_last_in_first_out) {
  EXPECT_EQ(notes_of(read_body(overlapping, {.pairing = pairing_policy::lifo})),
            (std::vector<note>{{0, 30, 60, 10}, {10, 20, 60, 20}}));
}

TEST(performance, closes_every_open_note_with_close_all) {
  const auto p = read_body(overlapping, {.pairing = pairing_policy::close_all});
  EXPECT_EQ(notes_of(p), (std::vector<note>{{0, 20, 60, 10}, {10, 20, 60, 20}}));
  EXPECT_EQ(p.status, read_status::ok);  // the second note-off finds nothing open: harmless
}

TEST(performance, close_all_keeps_notes_struck_on_the_note_off_tick_open) {
  // on@0, on@10, off@10 closes only the first; off@20 closes the second.
  const bytes body{0x00, 0x90, 60, 10, 0x0A, 0x90, 60, 20, 0x00, 0x80, 60, 0, 0x0A, 0x80, 60, 0};
  EXPECT_EQ(notes_of(read_body(body, {.pairing = pairing_policy::close_all})),
            (std::vector<note>{{0, 10, 60, 10}, {10, 20, 60, 20}}));
}

TEST(performance, close_all_ends_notes_struck_on_the_note_off_tick_when_nothing_else_sounds) {
  // on@10, off@10 with nothing earlier open: a zero-length note (pretty_midi would drop it).
  const bytes body{0x0A, 0x90, 60, 10, 0x00, 0x80, 60, 0, 0x0A, 0x90, 60, 20, 0x0A, 0x80, 60, 0};
  EXPECT_EQ(notes_of(read_body(body, {.pairing = pairing_policy::close_all})),
            (std::vector<note>{{10, 10, 60, 10}, {20, 30, 60, 20}}));
}

TEST(performance, treats_a_note_on_of_velocity_zero_as_a_note_off_of_velocity_64) {
  const auto p = read_body({0x00, 0x90, 60, 100, 0x60, 0x90, 60, 0, 0x00, 0x90, 62, 90, 0x10, 0x80, 62, 33});
  ASSERT_EQ(p.notes.size(), 2U);
  EXPECT_EQ(p.notes.release_velocity[0], 64);
  EXPECT_EQ(p.notes.release_velocity[1], 33);
}

TEST(performance, closes_notes_left_open_at_the_end_of_the_track_with_a_diagnostic) {
  const bytes body{0x00, 0x90, 60, 100, 0x60, 0x90, 64, 100, 0x60, 0xFF, 0x01, 0x00};
  const auto p = read_body(body);
  EXPECT_EQ(notes_of(p), (std::vector<note>{{0, 192, 60, 100}, {96, 192, 64, 100}}));
  EXPECT_EQ(p.status, read_status::repaired);
  ASSERT_EQ(p.diagnostics.size(), 1U);
  EXPECT_EQ(p.diagnostics[0].id, diagnostic_id::notes_not_closed);
  EXPECT_EQ(p.diagnostics[0].track, 0);
  EXPECT_EQ(p.diagnostics[0].offset, 22U + body.size() + end_of_track.size());
}

TEST(performance, closes_a_key_struck_again_after_its_release_at_the_end_of_each_track) {
  // The builder lists a key once per track when it first sounds; a second strike after the release
  // must still be closed at the end of the track, and the next track starts with a clean list.
  // On at 0, off at 96, on again at 96, a text event at 192 (the track ends there).
  const bytes reused{0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0x90, 60, 90, 0x60, 0xFF, 0x01, 0x00};
  const auto p = continuo::read_performance(
      smf().header(1, 2, 96).track(cat({reused, end_of_track})).track(cat({reused, end_of_track})));
  EXPECT_EQ(notes_of(p), (std::vector<note>{{0, 96, 60, 100}, {0, 96, 60, 100}, {96, 192, 60, 90}, {96, 192, 60, 90}}));
  EXPECT_EQ(p.notes.track, (std::vector<std::uint16_t>{0, 1, 0, 1}));
  ASSERT_EQ(p.diagnostics.size(), 2U);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(p.diagnostics[k].id, diagnostic_id::notes_not_closed);
    EXPECT_EQ(p.diagnostics[k].track, static_cast<std::int32_t>(k));
  }
}

TEST(performance, ignores_a_note_off_with_no_sounding_note) {
  const auto p = read_body({0x00, 0x80, 60, 0, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0});
  EXPECT_EQ(notes_of(p), (std::vector<note>{{0, 96, 60, 100}}));
  EXPECT_EQ(p.status, read_status::ok);
}

TEST(performance, sorts_notes_by_onset_then_pitch_across_tracks) {
  const bytes track1{0x00, 0x90, 67, 90, 0x00, 0x90, 60, 90, 0x60, 0x80, 67, 0, 0x00, 0x80, 60, 0};
  const bytes track2{0x00, 0x91, 64, 80, 0x30, 0x91, 50, 80, 0x30, 0x81, 64, 0, 0x00, 0x81, 50, 0};
  const auto p = continuo::read_performance(
      smf().header(1, 2, 96).track(cat({track1, end_of_track})).track(cat({track2, end_of_track})));
  ASSERT_EQ(p.notes.size(), 4U);
  EXPECT_EQ(p.notes.pitch, (std::vector<std::uint8_t>{60, 64, 67, 50}));
  EXPECT_EQ(p.notes.track, (std::vector<std::uint16_t>{0, 1, 0, 1}));
  EXPECT_EQ(p.notes.channel, (std::vector<std::uint8_t>{0, 1, 0, 1}));
}

TEST(performance, sorts_each_chord_whatever_order_its_notes_were_struck_in) {
  // The builder notes which rows may sort before the row struck just before them, and only their
  // chords get sorted: every order of three keys, each a chord 8 ticks after the last, must come
  // out low to high, whichever pair of the chord is out of order.
  std::array<std::uint8_t, 3> order{60, 62, 64};
  bytes body;
  int chords = 0;
  do {
    for (std::size_t k = 0; k < order.size(); ++k)
      body = cat({body, {static_cast<std::uint8_t>(k == 0 ? 8 : 0), 0x90, order[k], 90}});
    for (std::size_t k = 0; k < order.size(); ++k)
      body = cat({body, {static_cast<std::uint8_t>(k == 0 ? 4 : 0), 0x80, order[k], 0}});
    ++chords;
  } while (std::next_permutation(order.begin(), order.end()));
  const auto p = read_body(body);
  ASSERT_EQ(p.notes.size(), 18U);
  for (int c = 0; c < chords; ++c) {
    EXPECT_EQ(p.notes.onset_tick[3 * c], 8 + 12 * c);
    EXPECT_EQ(std::vector<std::uint8_t>(p.notes.pitch.begin() + 3 * c, p.notes.pitch.begin() + 3 * c + 3),
              (std::vector<std::uint8_t>{60, 62, 64}))
        << "chord " << c;
  }

  // One key struck twice on one tick: only the offsets order them, and lifo closes the later
  // row first, so the rows are out of order on their offsets alone.
  const bytes twice{0x00, 0x90, 60, 50, 0x00, 0x90, 60, 70, 0x05, 0x80, 60, 0, 0x05, 0x80, 60, 0};
  EXPECT_EQ(notes_of(read_body(twice, {.pairing = pairing_policy::lifo})),
            (std::vector<note>{{0, 5, 60, 70}, {0, 10, 60, 50}}));

  // A track whose first note is struck with the last note of the track before, lower: the two
  // runs are merged, not sorted as one chord.
  const bytes high{0x00, 0x90, 72, 90, 0x00, 0x90, 67, 90, 0x10, 0x80, 72, 0, 0x00, 0x80, 67, 0};
  const bytes low{0x00, 0x90, 48, 90, 0x00, 0x90, 70, 90, 0x10, 0x80, 48, 0, 0x00, 0x80, 70, 0};
  const auto both = continuo::read_performance(
      smf().header(1, 2, 96).track(cat({high, end_of_track})).track(cat({low, end_of_track})));
  EXPECT_EQ(both.notes.pitch, (std::vector<std::uint8_t>{48, 67, 70, 72}));
  EXPECT_EQ(both.notes.track, (std::vector<std::uint16_t>{1, 0, 1, 0}));
}

/// A format-1 file of `tracks` tracks of random chords on one channel each, interleaved in time;
/// `padding` bytes of text in the first track make the reader reserve more room than it needs.
/// With `uneven`, track t holds 2^(t % 4) times as many chords, so that the merge tree is lopsided.
/// With `one_after_another`, each track starts after the one before has ended.
bytes interleaved_tracks(int tracks, int chords_per_track, std::size_t padding, std::uint32_t seed, bool uneven = false,
                         bool one_after_another = false) {
  std::uint32_t state = seed;
  const auto next = [&state](std::uint32_t n) {
    state = state * 1664525U + 1013904223U;
    return (state >> 8U) % n;
  };
  smf file;
  file.header(1, static_cast<std::uint16_t>(tracks), 96);
  for (int t = 0; t < tracks; ++t) {
    bytes body;
    if (t == 0 && padding > 0) {
      body = cat({{0x00, 0xFF, 0x01}, continuo::test::vlq(static_cast<std::uint32_t>(padding)), bytes(padding, 'x')});
    }
    const auto channel = static_cast<std::uint8_t>(t % 16);
    std::uint32_t wait = next(7) + (one_after_another ? 20'000U * static_cast<std::uint32_t>(t) : 0U);
    const int chords = uneven ? chords_per_track << (t % 4) : chords_per_track;
    for (int c = 0; c < chords; ++c) {
      const std::uint32_t keys = 1 + next(4);
      std::vector<std::uint8_t> pitches;
      for (std::uint32_t k = 0; k < keys; ++k) pitches.push_back(static_cast<std::uint8_t>(30 + next(60)));
      std::sort(pitches.begin(), pitches.end());
      pitches.erase(std::unique(pitches.begin(), pitches.end()), pitches.end());
      for (std::size_t k = 0; k < pitches.size(); ++k) {  // struck high to low: the chord needs sorting
        const std::uint8_t pitch = pitches[pitches.size() - 1 - k];
        body = cat({body,
                    continuo::test::vlq(k == 0 ? wait : 0),
                    {static_cast<std::uint8_t>(0x90U | channel), pitch, static_cast<std::uint8_t>(1 + next(126))}});
      }
      for (std::size_t k = 0; k < pitches.size(); ++k) {
        body = cat({body,
                    continuo::test::vlq(k == 0 ? 1 + next(5) : 0),
                    {static_cast<std::uint8_t>(0x80U | channel), pitches[k], 0}});
      }
      wait = next(7);
    }
    file.track(cat({body, end_of_track}));
  }
  return file;
}

TEST(performance, merges_many_tracks_into_the_total_order_of_notes) {
  // The notes are merged packed into their own columns, with a buffer beside them. Tracks of equal
  // and of unequal length shape the merge tree differently: every way a merge finds its children
  // (in the columns, in the buffer, or in neither), and every way the last merge finds its halves
  // (the left or the right one in the buffer, or a copy of the smaller there), is taken. Tracks
  // one after another need no merge, only their chords sorted. Sparse and dense files (the
  // columns with room to spare or not), with and without the sustain pass, a fresh read and a
  // reused reader: the notes in their total order every time.
  for (const int tracks : {2, 3, 4, 5, 7, 33}) {
    for (const std::size_t padding : {std::size_t{0}, std::size_t{60'000}}) {
      for (const bool sustain : {false, true}) {
        for (const int shape : {0, 1, 2}) {
          const bool uneven = shape == 1;
          const bool one_after_another = shape == 2;
          const bytes file = interleaved_tracks(tracks, 60, padding, static_cast<std::uint32_t>(tracks * 7 + padding),
                                                uneven, one_after_another);
          SCOPED_TRACE(std::to_string(tracks) + " tracks, padding " + std::to_string(padding) +
                       (sustain ? ", sustain" : "") + (uneven ? ", uneven" : "") +
                       (one_after_another ? ", one after another" : ""));
          const auto p = continuo::read_performance(file, {.sustain = sustain});
          continuo::performance reused;
          continuo::performance_reader reader({.sustain = sustain});
          reader.read(interleaved_tracks(5, 200, 0, 99), reused);  // a larger file first
          reader.read(file, reused);
          EXPECT_EQ(reused.notes, p.notes);
          using full_note = std::tuple<continuo::tick_t, int, int, int, continuo::tick_t, int, int>;
          std::vector<full_note> read;
          for (std::size_t i = 0; i < p.notes.size(); ++i) {
            read.emplace_back(p.notes.onset_tick[i], p.notes.pitch[i], p.notes.channel[i], p.notes.track[i],
                              p.notes.offset_tick[i], p.notes.velocity[i], p.notes.release_velocity[i]);
          }
          auto sorted = read;
          std::sort(sorted.begin(), sorted.end());
          EXPECT_EQ(read, sorted);
          // Every note once: a merge that lost one row and doubled another would still be sorted.
          // (No two notes of these files are equal: a chord's pitches are distinct.)
          EXPECT_EQ(std::adjacent_find(read.begin(), read.end()), read.end());
          const auto events = continuo::midi::read_smf(file).events;
          EXPECT_EQ(read.size(),
                    static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [](const auto& e) {
                      return (e.status() & 0xF0U) == 0x90 && e.data2() > 0;
                    })));
          EXPECT_EQ(std::set<int>(p.notes.track.begin(), p.notes.track.end()).size(), static_cast<std::size_t>(tracks));
          EXPECT_GE(p.notes.size(), static_cast<std::size_t>(tracks * 60));
          EXPECT_EQ(p.status, read_status::ok);
        }
      }
    }
  }
}

TEST(performance, converts_ticks_to_seconds_with_tempo_from_any_track) {
  const bytes conductor{0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40};  // 1 s per quarter from tick 0
  const bytes notes{0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0};
  const auto p = continuo::read_performance(
      smf().header(1, 2, 96).track(cat({notes, end_of_track})).track(cat({conductor, end_of_track})));
  ASSERT_EQ(p.notes.size(), 1U);
  EXPECT_DOUBLE_EQ(p.notes.offset_s[0], 1.0);
  EXPECT_DOUBLE_EQ(p.duration_s, 1.0);
}

TEST(performance, turns_pedal_controllers_into_spans_at_the_threshold) {
  // CC64: 20, 70 (down @10), 100, 63 (up @40); CC67 down @0, never released: it lasts to the end
  // of the performance (tick 96).
  const bytes body{0x00, 0xB0, 64,   20,   0x00, 0xB0, 67,   127,  0x0A, 0xB0, 64,   70,   0x0A, 0xB0,
                   64,   100,  0x14, 0xB0, 64,   63,   0x38, 0x90, 60,   1,    0x00, 0x80, 60,   0};
  const auto p = read_body(body);
  ASSERT_EQ(p.pedals.size(), 2U);
  EXPECT_EQ(p.pedals[0].kind, continuo::pedal_kind::soft);
  EXPECT_EQ(p.pedals[0].onset_tick, 0);
  EXPECT_EQ(p.pedals[0].offset_tick, 96);
  EXPECT_EQ(p.pedals[1].kind, continuo::pedal_kind::sustain);
  EXPECT_EQ(p.pedals[1].onset_tick, 10);
  EXPECT_EQ(p.pedals[1].offset_tick, 40);
  EXPECT_DOUBLE_EQ(p.pedals[1].offset_s, 40.0 / 192);
  EXPECT_EQ(p.controls.size(), 5U);

  const auto high = read_body(body, {.pedal_threshold = 90});
  ASSERT_EQ(high.pedals.size(), 2U);
  EXPECT_EQ(high.pedals[1].onset_tick, 20);
  EXPECT_TRUE(read_body(body, {.keep_controls = false}).controls.empty());
}

TEST(performance, orders_pedal_spans_by_onset_kind_channel_and_track) {
  // Spans are added as pedals go down; those that go down on one tick, or in another track, are
  // put in order at the end. Track 0, tick 0: soft on channel 0, sustain on 1, sustain on 0; up at
  // 30, 20, 10. Track 1: sustain on channel 0 from 5 to 15, and again from 40 to the end.
  const bytes first{0x00, 0xB0, 67, 127, 0x00, 0xB1, 64, 127, 0x00, 0xB0, 64, 127, 0x0A, 0xB0, 64, 0,
                    0x0A, 0xB1, 64, 0,   0x0A, 0xB0, 67, 0,   0x00, 0x90, 60, 1,   0x30, 0x80, 60, 0};
  const bytes second{0x05, 0xB0, 64, 127, 0x0A, 0xB0, 64, 0, 0x19, 0xB0, 64, 127};
  const auto p = continuo::read_performance(
      smf().header(1, 2, 96).track(cat({first, end_of_track})).track(cat({second, end_of_track})));
  using pedal = std::tuple<continuo::tick_t, continuo::tick_t, continuo::pedal_kind, int, int>;
  std::vector<pedal> spans;
  for (const auto& s : p.pedals) spans.emplace_back(s.onset_tick, s.offset_tick, s.kind, s.channel, s.track);
  using enum continuo::pedal_kind;
  EXPECT_EQ(spans, (std::vector<pedal>{{0, 10, sustain, 0, 0},
                                       {0, 20, sustain, 1, 0},
                                       {0, 30, soft, 0, 0},
                                       {5, 15, sustain, 0, 1},
                                       {40, 78, sustain, 0, 1}}));
  EXPECT_EQ(p.duration_tick, 78);
  EXPECT_DOUBLE_EQ(p.pedals[4].offset_s, 78.0 / 192);
}

TEST(performance, extends_notes_while_the_sustain_pedal_is_down) {
  // Pedal down 0-100. Note A 0-20 sounds to 100; B 30-40 is struck again at 60, so it ends there;
  // the second B 60-70 sounds to 100; C 110-120 is after the pedal and stays.
  const bytes body{0x00, 0xB0, 64, 127, 0x00, 0x90, 60, 90,  // 0: pedal down, A on
                   0x14, 0x80, 60, 0,                        // 20: A off
                   0x0A, 0x90, 62, 90,  0x0A, 0x80, 62, 0,   // 30-40: B
                   0x14, 0x90, 62, 91,  0x0A, 0x80, 62, 0,   // 60-70: B again
                   0x1E, 0xB0, 64, 0,                        // 100: pedal up
                   0x0A, 0x90, 64, 90,  0x0A, 0x80, 64, 0};  // 110-120: C
  const auto p = read_body(body, {.sustain = true});
  EXPECT_EQ(notes_of(p),
            (std::vector<note>{{0, 100, 60, 90}, {30, 60, 62, 90}, {60, 100, 62, 91}, {110, 120, 64, 90}}));
  EXPECT_DOUBLE_EQ(p.notes.offset_s[0], 100.0 / 192);

  auto again = p;
  continuo::extend_by_sustain(again);
  EXPECT_EQ(again, p);  // idempotent
}

TEST(performance, extend_by_sustain_refuses_notes_no_file_could_hold) {
  // Notes edited by hand: a negative tick, a tick past midi::event::max_tick, a pitch, a velocity
  // or a channel out of MIDI's range. Each is named, with what the ranges are, and nothing changes.
  const bytes body{0x00, 0xB0, 64, 127, 0x00, 0x90, 60, 90, 0x14, 0x80, 60, 0, 0x1E, 0xB0, 64, 0};
  const auto p = read_body(body);
  const std::vector<std::pair<std::string, std::function<void(continuo::note_columns&)>>> edits{
      {"onset tick -1", [](auto& n) { n.onset_tick[0] = -1; }},
      {"offset tick 1099511627776", [](auto& n) { n.offset_tick[0] = continuo::midi::event::max_tick + 1; }},
      {"pitch 128", [](auto& n) { n.pitch[0] = 128; }},
      {"release velocity 200", [](auto& n) { n.release_velocity[0] = 200; }},
      {"channel 16", [](auto& n) { n.channel[0] = 16; }},
  };
  for (const auto& [what, edit] : edits) {
    SCOPED_TRACE(what);
    auto edited = p;
    edit(edited.notes);
    const auto before = edited;
    try {
      continuo::extend_by_sustain(edited);
      ADD_FAILURE() << "no error";
    } catch (const continuo::error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("[performance.note_out_of_range] extend_by_sustain: note 0 (", 0), 0U) << message;
      EXPECT_NE(message.find(what), std::string::npos) << message;
    }
    EXPECT_EQ(edited, before);
  }
  auto largest = p;  // the edges of the ranges are fine
  largest.notes.offset_tick[0] = continuo::midi::event::max_tick;
  largest.notes.pitch[0] = 127;
  largest.notes.channel[0] = 15;
  EXPECT_NO_THROW(continuo::extend_by_sustain(largest));
}

TEST(performance, reads_in_ticks_only_and_adds_the_notes_seconds_later) {
  // Two tracks, a tempo change at tick 96 (1 s per quarter after it), a pedal and a signature.
  const bytes conductor{0x00, 0xFF, 0x58, 0x04, 3, 2, 24, 8, 0x60, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40};
  // Pedal down and note 60 at 0, released at 96; note 64 at 96, the pedal up at 192, note 64 released at 240.
  const bytes body{0x00, 0xB0, 64, 127, 0x00, 0x90, 60, 90, 0x60, 0x80, 60, 0,
                   0x00, 0x90, 64, 80,  0x60, 0xB0, 64, 0,  0x30, 0x80, 64, 0};
  const auto file = smf().header(1, 2, 96).track(cat({conductor, end_of_track})).track(cat({body, end_of_track}));
  for (const bool sustain : {false, true}) {
    SCOPED_TRACE(sustain ? "sustain" : "no sustain");
    const auto full = continuo::read_performance(file, {.sustain = sustain});
    auto ticks = continuo::read_performance(file, {.sustain = sustain, .note_seconds = false});
    EXPECT_TRUE(ticks.notes.onset_s.empty());
    EXPECT_TRUE(ticks.notes.offset_s.empty());
    EXPECT_FALSE(ticks.notes.has_seconds());
    EXPECT_EQ(notes_of(ticks), notes_of(full));
    // Everything but the notes keeps its seconds.
    EXPECT_EQ(ticks.pedals, full.pedals);
    EXPECT_EQ(ticks.time_signatures, full.time_signatures);
    EXPECT_DOUBLE_EQ(ticks.duration_s, 2.0);  // 0.5 s to the tempo change, then 144 ticks of 1/96 s
    // extend_by_sustain works in ticks and leaves the seconds out.
    auto extended = ticks;
    continuo::extend_by_sustain(extended);
    EXPECT_TRUE(extended.notes.onset_s.empty());
    EXPECT_EQ(notes_of(extended), notes_of(continuo::read_performance(file, {.sustain = true})));

    continuo::add_note_seconds(ticks);
    EXPECT_TRUE(ticks.notes.has_seconds());
    EXPECT_EQ(ticks, full);
    EXPECT_DOUBLE_EQ(ticks.notes.offset_s[0], sustain ? 1.5 : 0.5);  // held by the pedal to tick 192
    EXPECT_DOUBLE_EQ(ticks.notes.offset_s[1], 2.0);
    continuo::add_note_seconds(ticks);
    EXPECT_EQ(ticks, full);  // idempotent
  }
}

TEST(performance, reads_program_changes_and_pitch_bends) {
  const auto p = read_body({0x00, 0xC3, 5, 0x00, 0xE3, 0x00, 0x40, 0x00, 0xE3, 0x7F, 0x7F, 0x00, 0xE3, 0x00, 0x00});
  ASSERT_EQ(p.programs.size(), 1U);
  EXPECT_EQ(p.programs[0].channel, 3);
  EXPECT_EQ(p.programs[0].program, 5);
  ASSERT_EQ(p.pitch_bends.size(), 3U);
  EXPECT_EQ(p.pitch_bends[0].value, 0);
  EXPECT_EQ(p.pitch_bends[1].value, 8191);
  EXPECT_EQ(p.pitch_bends[2].value, -8192);
}

TEST(performance, reads_time_and_key_signatures) {
  const auto p = read_body({0x00, 0xFF, 0x58, 0x04, 6, 3, 24, 8, 0x60, 0xFF, 0x59, 0x02, 0xFD, 1});
  ASSERT_EQ(p.time_signatures.size(), 1U);
  EXPECT_EQ(p.time_signatures[0].numerator, 6);
  EXPECT_EQ(p.time_signatures[0].denominator, 8);
  ASSERT_EQ(p.key_signatures.size(), 1U);
  EXPECT_EQ(p.key_signatures[0].sharps, -3);
  EXPECT_TRUE(p.key_signatures[0].minor);
  EXPECT_DOUBLE_EQ(p.key_signatures[0].time_s, 0.5);
}

TEST(performance, sorts_a_chord_of_100k_notes_on_one_tick) {
  // Hostile input for sorting: every note on one tick, pitches in falling order.
  bytes body;
  for (int i = 0; i < 100'000; ++i) body.insert(body.end(), {0x00, 0x90, static_cast<std::uint8_t>(127 - i % 128), 1});
  const auto p = read_body(body);
  ASSERT_EQ(p.notes.size(), 100'000U);
  EXPECT_TRUE(std::is_sorted(p.notes.pitch.begin(), p.notes.pitch.end()));
}

TEST(performance_reader, reads_each_file_as_read_performance_does_whatever_came_before) {
  // A long multi-track file, a short one, a damaged one, one with nothing usable, each read strict and
  // lenient, with sustain, through one reader into one performance: every result equals a fresh read.
  bytes long_body;
  for (int i = 0; i < 3000; ++i) {
    const auto pitch = static_cast<std::uint8_t>(40 + i % 50);
    const bytes event{0x05, 0x90, pitch, 70, 0x00, 0xB0, 64, static_cast<std::uint8_t>(i % 2 == 0 ? 100 : 0),
                      0x30, 0x80, pitch, 0};
    long_body.insert(long_body.end(), event.begin(), event.end());
  }
  const std::vector<bytes> files{
      smf().header(1, 2, 96).track(cat({long_body, end_of_track})).track(cat({overlapping, end_of_track})),
      smf().header(0, 1, 96).track(cat({overlapping, end_of_track})),
      smf().header(0, 1, 96).track(cat({overlapping, {0x00, 0x90, 61}})),  // cut off: repaired
      bytes{'M', 'T', 'h', 'd'},                                           // invalid, nothing read
      smf().header(1, 2, 96).track(cat({long_body, end_of_track})).track(cat({overlapping, end_of_track})),
  };
  // One performance for every reader, so that a read in ticks only follows reads with seconds.
  performance perf;
  for (const bool note_seconds : {true, false}) {
    for (const bool strict : {false, true}) {
      const continuo::performance_options options{.read = {.strict = strict},
                                                  .sustain = true,
                                                  .note_seconds = note_seconds};
      continuo::performance_reader reader(options);
      for (std::size_t k = 0; k < files.size(); ++k) {
        SCOPED_TRACE("file " + std::to_string(k) + (strict ? ", strict" : ", lenient") +
                     (note_seconds ? "" : ", ticks only"));
        reader.read(files[k], perf);
        EXPECT_EQ(perf, continuo::read_performance(files[k], options));
      }
    }
  }
}

TEST(performance_reader, reuses_the_memory_of_an_earlier_read) {
  bytes body;
  for (int i = 0; i < 2000; ++i) {
    const bytes event{0x05, 0x90, 60, 70, 0x00, 0xB0, 64, 100, 0x30, 0x80, 60, 0, 0x00, 0xB0, 64, 0};
    body.insert(body.end(), event.begin(), event.end());
  }
  const auto file = smf().header(0, 1, 96).track(cat({body, end_of_track}));
  continuo::performance_reader reader;
  performance perf;
  reader.read(file, perf);
  const auto* onsets = perf.notes.onset_s.data();
  const auto* controls = perf.controls.data();
  ASSERT_EQ(perf.notes.size(), 2000U);
  reader.read(smf().header(0, 1, 96).track(cat({overlapping, end_of_track})), perf);  // smaller
  EXPECT_EQ(perf.notes.size(), 2U);
  reader.read(file, perf);
  EXPECT_EQ(perf.notes.onset_s.data(), onsets);  // the same memory, not a new allocation
  EXPECT_EQ(perf.controls.data(), controls);
  EXPECT_EQ(perf, continuo::read_performance(file));
}

TEST(performance, keeps_every_control_change_wherever_they_lie_in_the_file) {
  // The control changes' vector grows by an estimate from the share of the file read so far: it
  // must hold them all whether they come first, last or spread out, and never reserve more than the
  // file's bytes could hold (3 bytes a control change).
  constexpr int control_count = 5000;
  bytes controls;
  bytes notes;
  bytes mixed;
  for (int i = 0; i < control_count; ++i) {
    const bytes control{0x01, 0xB0, static_cast<std::uint8_t>(i % 128), static_cast<std::uint8_t>(i % 100)};
    const bytes two_notes{0x01, 0x90, 60, 70, 0x01, 0x80, 60, 0, 0x01, 0x90, 62, 70, 0x01, 0x80, 62, 0};
    controls.insert(controls.end(), control.begin(), control.end());
    notes.insert(notes.end(), two_notes.begin(), two_notes.end());
    mixed.insert(mixed.end(), control.begin(), control.end());
    mixed.insert(mixed.end(), two_notes.begin(), two_notes.end());
  }
  const auto track = [](const bytes& body) { return cat({body, end_of_track}); };
  const std::vector<std::pair<std::string, bytes>> files{
      {"first", smf().header(1, 2, 96).track(track(controls)).track(track(notes))},
      {"last", smf().header(1, 2, 96).track(track(notes)).track(track(controls))},
      {"spread", smf().header(0, 1, 96).track(track(mixed))},
      {"alone", smf().header(0, 1, 96).track(track(controls))},
  };
  for (const auto& [where, file] : files) {
    SCOPED_TRACE("control changes " + where);
    const auto p = continuo::read_performance(file);
    ASSERT_EQ(p.controls.size(), std::size_t{control_count});
    for (int i = 0; i < control_count; i += 997) {
      EXPECT_EQ(p.controls[i].number, i % 128);
      EXPECT_EQ(p.controls[i].value, i % 100);
    }
    EXPECT_LE(p.controls.capacity(), file.size() / 3);
  }
}

TEST(performance, keeps_every_note_wherever_they_lie_in_the_file) {
  // Notes go straight into the columns, whose room grows by an estimate from the share of the file
  // read so far: every note must be kept, in order, whether the notes come first, last, spread out
  // or as bare note-ons (3 bytes each, closed at the end), in one track or several; and a one-shot
  // read's columns hold at most half again as many notes as they keep, within the file's bound.
  constexpr int note_count = 4000;
  bytes controls;
  bytes notes;
  bytes mixed;
  bytes note_ons;
  for (int i = 0; i < note_count; ++i) {
    const auto pitch = static_cast<std::uint8_t>(20 + i % 80);
    const bytes control{0x01, 0xB0, 1, static_cast<std::uint8_t>(i % 100), 0x01, 0xB0, 2, 0};
    const bytes struck{0x01, 0x90, pitch, 70, 0x01, 0x80, pitch, 0};
    controls.insert(controls.end(), control.begin(), control.end());
    notes.insert(notes.end(), struck.begin(), struck.end());
    mixed.insert(mixed.end(), control.begin(), control.end());
    mixed.insert(mixed.end(), struck.begin(), struck.end());
    note_ons.insert(note_ons.end(), {0x00, 0x90, pitch, 70});
  }
  const auto track = [](const bytes& body) { return cat({body, end_of_track}); };
  const bytes few_notes(notes.begin(), notes.begin() + 8 * note_count / 20);
  struct file_of_notes {
    std::string where;
    bytes file;
    std::size_t notes;
  };
  const std::vector<file_of_notes> files{
      {"first", smf().header(0, 1, 96).track(track(cat({notes, controls}))), note_count},
      {"last", smf().header(0, 1, 96).track(track(cat({controls, notes}))), note_count},
      {"spread", smf().header(0, 1, 96).track(track(mixed)), note_count},
      {"as note-ons alone", smf().header(0, 1, 96).track(track(note_ons)), note_count},
      {"few, after the control changes", smf().header(0, 1, 96).track(track(cat({controls, few_notes}))),
       note_count / 20},
      {"in two tracks", smf().header(1, 3, 96).track(track(notes)).track(track(controls)).track(track(mixed)),
       2 * note_count},
  };
  for (const auto& [where, file, note_total] : files) {
    SCOPED_TRACE("notes " + where);
    const auto p = continuo::read_performance(file);
    ASSERT_EQ(p.notes.size(), note_total);
    for (std::size_t i = 0; i < p.notes.size(); i += 499) {
      const auto struck = std::make_tuple(p.notes.onset_tick[i], p.notes.pitch[i], p.notes.track[i]);
      EXPECT_LE(p.notes.offset_tick[i] - p.notes.onset_tick[i], where == "as note-ons alone" ? 0 : 1);
      if (i > 0) {
        EXPECT_LE(std::make_tuple(p.notes.onset_tick[i - 1], p.notes.pitch[i - 1], p.notes.track[i - 1]), struck);
      }
    }
    for (const std::size_t capacity : {p.notes.onset_tick.capacity(), p.notes.pitch.capacity(),
                                       p.notes.track.capacity(), p.notes.offset_tick.capacity()}) {
      EXPECT_LE(capacity, p.notes.size() + p.notes.size() / 2);
      EXPECT_LE(capacity, file.size() / 3);
    }
  }
}

TEST(performance, reads_a_24_hour_take_at_960_ppq) {
  // A note every 10 s for 24 h at 960 PPQ and 120 bpm: ticks run to 1.66e8.
  continuo::test::smf file;
  bytes body;
  const auto gap = continuo::test::vlq(19'200);  // 10 s
  for (int i = 0; i < 24 * 360; ++i) {
    const auto event = cat({gap, {0x90, 60, 80}, {0x60, 0x80, 60, 0}});
    body.insert(body.end(), event.begin(), event.end());
  }
  const auto p = continuo::read_performance(file.header(0, 1, 960).track(cat({body, end_of_track})),
                                            {.read = {.strict = true}});
  EXPECT_EQ(p.status, read_status::ok);
  ASSERT_EQ(p.notes.size(), 24U * 360);
  EXPECT_NEAR(p.notes.onset_s.back(), (8639 * 19'296 + 19'200) / 1920.0, 1e-6);  // gap + note, 1920 ticks/s
  EXPECT_GT(p.duration_s, 24 * 3600.0);
}

}  // namespace

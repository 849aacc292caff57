// Differential tests: continuo's notes against those of libsmf (Debian's libsmf-dev), an independent C
// reader, on every MIDI file of the shared corpus's symusic/ and asap/ folders, under each pairing policy.
//
// libsmf only hands out events (raw bytes and absolute ticks per track); the pairing of note-ons with
// note-offs below is a reference written from the definitions in continuo/performance.hpp, kept
// deliberately simple (a deque per track, channel and pitch) so that it shares no code or structure with
// src/performance.cpp.

#include "support/test_support.hpp"

// smf.h includes glib.h inside its extern "C" block, which glib's C++ templates refuse: include glib
// first so that its include guard makes the second inclusion empty.
#include <glib.h>
#include <smf.h>

#include <continuo/file.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

// libsmf leaks the smf_t of every file it refuses (smf_load_from_memory returns NULL without freeing
// what smf_new allocated); LeakSanitizer, in the sanitizer build, is told that this leak is not ours.
extern "C" const char* __lsan_default_suppressions() { return "leak:smf_new\n"; }  // NOLINT

namespace continuo {
namespace {

namespace fs = std::filesystem;

/// One note as both readers are compared on.
struct plain_note {
  tick_t onset_tick = 0;
  tick_t offset_tick = 0;
  int pitch = 0;
  int velocity = 0;
  int channel = 0;
  int track = 0;

  [[nodiscard]] auto key() const { return std::tie(onset_tick, offset_tick, pitch, velocity, channel, track); }
  friend bool operator==(const plain_note&, const plain_note&) = default;
  friend bool operator<(const plain_note& a, const plain_note& b) { return a.key() < b.key(); }
};

std::string to_string(const plain_note& n) {
  std::ostringstream out;
  out << "{track " << n.track << ", channel " << n.channel << ", pitch " << n.pitch << ", velocity " << n.velocity
      << ", ticks " << n.onset_tick << ".." << n.offset_tick << "}";
  return out.str();
}

/// Pairs note-ons and note-offs of one track, given in file order, as `policy` says:
/// fifo closes the oldest open note of the key, lifo the newest, close_all every open note that began
/// before the note-off's tick (notes struck on that very tick stay open, unless they are all there is:
/// then they end there, with length 0). A note-off with nothing open is dropped; notes still open at
/// the end of the track end at `end_tick`.
class reference_pairing {
 public:
  reference_pairing(pairing_policy policy, int track) : policy_(policy), track_(track) {}

  void note_on(tick_t tick, int channel, int pitch, int velocity) {
    open_[{channel, pitch}].push_back({tick, velocity});
  }

  void note_off(tick_t tick, int channel, int pitch, std::vector<plain_note>& out) {
    auto& sounding = open_[{channel, pitch}];
    if (sounding.empty()) return;
    switch (policy_) {
      case pairing_policy::fifo:
        emit(sounding.front(), tick, channel, pitch, out);
        sounding.pop_front();
        break;
      case pairing_policy::lifo:
        emit(sounding.back(), tick, channel, pitch, out);
        sounding.pop_back();
        break;
      case pairing_policy::close_all: {
        // Notes struck on this very tick stay sounding, unless no earlier note is sounding: then they
        // end here, as notes of length 0.
        const bool earlier = std::any_of(sounding.begin(), sounding.end(),
                                         [&](const open_note& n) { return n.onset < tick; });
        std::deque<open_note> struck_now;
        for (const auto& n : sounding) {
          if (n.onset < tick || !earlier) {
            emit(n, tick, channel, pitch, out);
          } else {
            struck_now.push_back(n);
          }
        }
        sounding.swap(struck_now);
        break;
      }
    }
  }

  void end(tick_t end_tick, std::vector<plain_note>& out) {
    for (auto& [key, sounding] : open_) {
      for (const auto& n : sounding) emit(n, end_tick, key.first, key.second, out);
      sounding.clear();
    }
  }

 private:
  struct open_note {
    tick_t onset;
    int velocity;
  };

  void emit(const open_note& n, tick_t offset, int channel, int pitch, std::vector<plain_note>& out) const {
    out.push_back({n.onset, offset, pitch, n.velocity, channel, track_});
  }

  pairing_policy policy_;
  int track_;
  std::map<std::pair<int, int>, std::deque<open_note>> open_;
};

/// Sends what libsmf logs through glib to a string instead of stderr, for as long as it lives: libsmf
/// logs while loading and again while freeing (it rebuilds its tempo map as events are removed).
class libsmf_log {
 public:
  libsmf_log()
      : handler_(g_log_set_handler("libsmf", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL),
                                   &libsmf_log::collect, this)) {}
  ~libsmf_log() { g_log_remove_handler("libsmf", handler_); }
  libsmf_log(const libsmf_log&) = delete;
  libsmf_log& operator=(const libsmf_log&) = delete;
  libsmf_log(libsmf_log&&) = delete;
  libsmf_log& operator=(libsmf_log&&) = delete;

  /// Returns what was logged since the last call, and forgets it.
  std::string take() { return std::exchange(text_, {}); }

 private:
  static void collect(const gchar* /*domain*/, GLogLevelFlags /*level*/, const gchar* message, gpointer self) {
    auto& text = static_cast<libsmf_log*>(self)->text_;
    if (!text.empty()) text += "; ";
    text += message;
  }

  std::string text_;  // declared first: the handler may write to it as soon as it is installed
  guint handler_;
};

struct smf_deleter {
  void operator()(smf_t* smf) const noexcept { smf_delete(smf); }
};
using smf_ptr = std::unique_ptr<smf_t, smf_deleter>;

/// Returns why libsmf's reading of a file it accepted cannot be trusted, or an empty string.
///
/// libsmf takes the length of a meta event from the one byte after its type (expected_message_length in
/// smf_load.c) instead of reading a variable-length quantity, so a meta event of 128 bytes or more
/// swallows the wrong number of bytes and every later tick of the track is wrong.
std::string libsmf_misread(smf_t& smf) {
  for (int t = 1; t <= smf.number_of_tracks; ++t) {
    smf_track_t* track = smf_get_track_by_number(&smf, t);
    for (int e = 1; e <= track->number_of_events; ++e) {
      const smf_event_t* event = smf_track_get_event_by_number(track, e);
      const unsigned char* b = event->midi_buffer;
      if (event->midi_buffer_length >= 3 && b[0] == 0xFF && (b[2] & 0x80U) != 0) {
        return "libsmf reads the 2-byte length of a meta event of type " + std::to_string(b[1]) + " in track " +
               std::to_string(t - 1) + " as one byte, and loses step from there";
      }
    }
  }
  return {};
}

/// Returns libsmf's notes under `policy`.
std::vector<plain_note> libsmf_notes(smf_t& smf, pairing_policy policy) {
  std::vector<plain_note> out;
  for (int t = 1; t <= smf.number_of_tracks; ++t) {
    smf_track_t* track = smf_get_track_by_number(&smf, t);
    reference_pairing pairing(policy, t - 1);
    tick_t last_tick = 0;
    for (int e = 1; e <= track->number_of_events; ++e) {
      const smf_event_t* event = smf_track_get_event_by_number(track, e);
      last_tick = event->time_pulses;
      if (event->midi_buffer_length < 3) continue;
      const int status = event->midi_buffer[0];
      const int kind = status & 0xF0;
      const int channel = status & 0x0F;
      const int pitch = event->midi_buffer[1];
      const int velocity = event->midi_buffer[2];
      if (kind == 0x90 && velocity > 0) {
        pairing.note_on(event->time_pulses, channel, pitch, velocity);
      } else if (kind == 0x80 || kind == 0x90) {
        pairing.note_off(event->time_pulses, channel, pitch, out);
      }
    }
    pairing.end(last_tick, out);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Returns the notes of `perf`, sorted like libsmf_notes.
std::vector<plain_note> continuo_notes(const performance& perf) {
  std::vector<plain_note> out;
  const auto& n = perf.notes;
  out.reserve(n.size());
  for (std::size_t i = 0; i < n.size(); ++i) {
    out.push_back({n.onset_tick[i], n.offset_tick[i], n.pitch[i], n.velocity[i], n.channel[i], n.track[i]});
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Describes how two sorted note lists differ: sizes and the first few notes only one of them has.
std::string describe_difference(const std::vector<plain_note>& ours, const std::vector<plain_note>& theirs) {
  std::vector<plain_note> only_ours;
  std::vector<plain_note> only_theirs;
  std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(), std::back_inserter(only_ours));
  std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(), std::back_inserter(only_theirs));
  std::ostringstream out;
  out << "continuo has " << ours.size() << " notes, libsmf " << theirs.size() << "; " << only_ours.size()
      << " only in continuo, " << only_theirs.size() << " only in libsmf";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, only_ours.size()); ++i) {
    out << "\n  only continuo: " << to_string(only_ours[i]);
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(3, only_theirs.size()); ++i) {
    out << "\n  only libsmf:   " << to_string(only_theirs[i]);
  }
  return out.str();
}

bool is_midi_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".mid" || ext == ".midi";
}

/// Returns every MIDI file under `folders` of the corpus, sorted.
std::vector<fs::path> midi_files(const fs::path& corpus, std::initializer_list<const char*> folders) {
  std::vector<fs::path> files;
  for (const char* folder : folders) {
    for (const auto& entry : fs::recursive_directory_iterator(corpus / folder)) {
      if (entry.is_regular_file() && is_midi_file(entry.path())) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// Returns true when continuo found nothing wrong at the SMF level (model diagnostics aside).
bool read_cleanly(const performance& perf) {
  return std::all_of(perf.diagnostics.begin(), perf.diagnostics.end(),
                     [](const diagnostic& d) { return d.id == diagnostic_id::notes_not_closed; });
}

constexpr pairing_policy policies[] = {pairing_policy::fifo, pairing_policy::lifo, pairing_policy::close_all};

// One test for the three policies: libsmf is slow (about a minute for these files), so each file is
// loaded once and compared under every policy. Files that libsmf refuses or misreads, and files that
// continuo had to repair (the two readers recover from damage differently, by design: see
// docs/differences.md), are skipped with their reason.
TEST(libsmf_diff, notes_equal_libsmf_notes_under_every_pairing_policy) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = midi_files(corpus, {"symusic", "asap"});
  ASSERT_GT(files.size(), 1000U) << "the corpus's symusic/ and asap/ folders look incomplete";

  libsmf_log log;
  std::vector<std::string> skipped;
  std::size_t compared = 0;
  std::size_t notes = 0;
  std::size_t policies_disagree = 0;  // files where the policy matters, so that the comparison means something
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const auto bytes = load_file(file);
    smf_ptr smf(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
    if (!smf) {
      skipped.push_back(file.string() + ": libsmf refuses it (" + log.take() + ")");
      continue;
    }
    if (auto why = libsmf_misread(*smf); !why.empty()) {
      skipped.push_back(file.string() + ": " + why);
      continue;
    }
    if (const auto probe = read_performance(bytes); !read_cleanly(probe)) {
      skipped.push_back(file.string() + ": continuo repaired it (" + to_string(probe.diagnostics.front()) + ")");
      continue;
    }
    std::vector<std::vector<plain_note>> by_policy;
    for (const auto policy : policies) {
      SCOPED_TRACE(name(policy));
      auto ours = continuo_notes(read_performance(bytes, {.pairing = policy}));
      const auto theirs = libsmf_notes(*smf, policy);
      EXPECT_TRUE(ours == theirs) << "pairing " << name(policy) << ": " << describe_difference(ours, theirs);
      by_policy.push_back(std::move(ours));
    }
    notes += by_policy[0].size();
    if (by_policy[0] != by_policy[1] || by_policy[0] != by_policy[2]) ++policies_disagree;
    ++compared;
    smf.reset();
    log.take();
  }
  for (const auto& s : skipped) std::cout << "[ skipped  ] " << s << '\n';
  std::cout << "[ compared ] " << compared << " of " << files.size() << " files, " << notes << " notes; the policies "
            << "disagree on " << policies_disagree << " of them\n";
  // The three corrupted files of symusic/MIDIs_corrupted, and the few files libsmf misreads.
  EXPECT_LE(skipped.size(), 5U);
  EXPECT_GE(compared * 100, files.size() * 99) << "the comparison ran on too few files";
  EXPECT_GT(policies_disagree, 0U) << "no file tells the policies apart";
}

TEST(libsmf_diff, notes_equal_libsmf_notes_on_drywetmidi_valid_files_with_orphan_and_open_notes) {
  // The spec-coverage files have what the recordings lack: note-offs with nothing sounding
  // (SingleTrack/Middle/yeu_em_ha_noi.mid has 72) and notes still sounding at the end of a track
  // (SingleTrack/Middle/arkanoid.mid). libsmf refuses the 18 format 2 files.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = midi_files(corpus, {"drywetmidi/Valid"});
  ASSERT_EQ(files.size(), 63U);
  libsmf_log log;
  std::size_t compared = 0;
  std::size_t refused = 0;
  std::size_t misread = 0;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const auto bytes = load_file(file);
    smf_ptr smf(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
    const auto probe = read_performance(bytes);
    if (!smf) {
      // Format 2, or no track at all (MultiTrack/Small/xavier_rudd-no_woman_no_cry.mid): libsmf says no.
      EXPECT_TRUE(probe.format == 2 || probe.track_count == 0) << "libsmf refuses a valid file: " << log.take();
      ++refused;
      continue;
    }
    if (!libsmf_misread(*smf).empty()) {
      ++misread;
      continue;
    }
    for (const auto policy : policies) {
      const auto ours = continuo_notes(read_performance(bytes, {.pairing = policy}));
      const auto theirs = libsmf_notes(*smf, policy);
      EXPECT_TRUE(ours == theirs) << "pairing " << name(policy) << ": " << describe_difference(ours, theirs);
    }
    ++compared;
    smf.reset();
    log.take();
  }
  std::cout << "[ compared ] " << compared << " of " << files.size() << " files; libsmf refuses " << refused
            << " and misreads " << misread << '\n';
  EXPECT_GE(compared, 40U);
}

/// Returns a file of one track per body, format 1 (format 2 when asked), 96 ticks per quarter.
test::bytes file_of(const std::vector<test::bytes>& tracks, std::uint16_t format = 1) {
  test::smf file;
  file.header(format, static_cast<std::uint16_t>(tracks.size()), 96);
  for (const auto& t : tracks) file.track(t);
  return file;
}

/// Compares continuo with libsmf on `bytes` under every policy.
void expect_same_notes_as_libsmf(const test::bytes& bytes) {
  smf_ptr smf(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
  ASSERT_NE(smf, nullptr) << "libsmf refuses a file built to be valid";
  for (const auto policy : policies) {
    const auto ours = continuo_notes(read_performance(bytes, {.pairing = policy}));
    const auto theirs = libsmf_notes(*smf, policy);
    EXPECT_TRUE(ours == theirs) << "pairing " << name(policy) << ": " << describe_difference(ours, theirs);
  }
}

// The corners where the policies part ways, each in a file built byte by byte (delta, status, data).
TEST(libsmf_diff, notes_equal_libsmf_notes_when_one_key_is_struck_again_before_release) {
  // C4 at 0 and again at 10, released at 20 and 30: fifo pairs 0-20 and 10-30, lifo 10-20 and 0-30,
  // close_all closes both at 20 and drops the second note-off.
  expect_same_notes_as_libsmf(file_of(
      {test::cat({{0, 0x90, 60, 100, 10, 0x90, 60, 90, 10, 0x80, 60, 0, 10, 0x80, 60, 0}, test::end_of_track})}));
}

TEST(libsmf_diff, notes_equal_libsmf_notes_when_a_note_off_falls_on_the_onset_of_a_restruck_key) {
  // C4 at 0, again at 10 with a note-off at 10 too: close_all ends the first note and keeps the one
  // struck at 10 open (it ends at the end of the track), fifo closes the first, lifo makes the second
  // zero-length.
  expect_same_notes_as_libsmf(
      file_of({test::cat({{0, 0x90, 60, 100, 10, 0x90, 60, 90, 0, 0x80, 60, 0, 20, 0xFF, 0x2F, 0}})}));
}

TEST(libsmf_diff, notes_equal_libsmf_notes_for_orphan_note_offs_and_notes_left_open) {
  // A note-off with nothing sounding, a zero-length note (a length of 0 under every policy: nothing
  // earlier sounds), a velocity-0 note-on as note-off, and a note still sounding when the track ends 20
  // ticks later.
  expect_same_notes_as_libsmf(file_of(
      {test::cat({{0, 0x80, 61, 64, 0, 0x90, 62, 50, 0, 0x80, 62, 0, 5, 0x90, 63, 70, 5, 0x90, 63, 0, 0, 0x90, 64, 1},
                  {20, 0xFF, 0x2F, 0}})}));
}

TEST(libsmf_diff, notes_equal_libsmf_notes_when_keys_repeat_on_other_channels_and_tracks) {
  // The same pitch on two channels of one track and in a second track: notes pair within
  // (track, channel, pitch) only. Running status carries the second note-on.
  const test::bytes first = test::cat(
      {{0, 0x90, 60, 100, 0, 60, 101, 0, 0x91, 60, 102, 10, 0x81, 60, 0, 5, 0x80, 60, 0}, test::end_of_track});
  const test::bytes second = test::cat({{3, 0x90, 60, 103, 4, 0x80, 60, 0}, test::end_of_track});
  expect_same_notes_as_libsmf(file_of({first, second}));
}

TEST(libsmf_diff, format_2_files_that_libsmf_refuses_read_ok_in_continuo) {
  // libsmf 1.3 refuses format 2 ("no support for that yet"); continuo reads each track as its own
  // sequence from tick 0, so there is nothing to compare against: check what continuo makes of it.
  const test::bytes a = test::cat({{0, 0x90, 60, 100, 96, 0x80, 60, 0}, test::end_of_track});
  const test::bytes b = test::cat({{0, 0x90, 60, 90, 48, 0x80, 60, 0}, test::end_of_track});
  const auto bytes = file_of({a, b}, 2);
  {
    const libsmf_log quiet;
    EXPECT_EQ(smf_ptr(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size()))), nullptr);
  }
  const auto perf = read_performance(bytes, {.read = {.strict = true}});
  EXPECT_EQ(perf.status, read_status::ok);
  EXPECT_EQ(perf.format, 2);
  const std::vector<plain_note> expected{{0, 48, 60, 90, 0, 1}, {0, 96, 60, 100, 0, 0}};
  EXPECT_EQ(continuo_notes(perf), expected);
}

TEST(libsmf_diff, notes_equal_libsmf_notes_on_random_tracks_that_restrike_keys) {
  // Seeded random tracks over four pitches and two channels, so that keys are struck again while they
  // sound, note-offs fall on onsets, and some notes are never released.
  std::mt19937 random(20240501);
  std::uniform_int_distribution<int> delta(0, 3);
  std::uniform_int_distribution<int> kind(0, 2);
  std::uniform_int_distribution<int> pitch(60, 63);
  std::uniform_int_distribution<int> channel(0, 1);
  std::uniform_int_distribution<int> velocity(1, 127);
  int all_three_differ = 0;
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<test::bytes> tracks(2);
    for (auto& body : tracks) {
      for (int e = 0; e < 60; ++e) {
        const auto status = static_cast<std::uint8_t>((kind(random) == 0 ? 0x80 : 0x90) | channel(random));
        const auto v = kind(random) == 0 ? 0 : velocity(random);  // some note-ons of velocity 0: note-offs
        body.insert(body.end(), {static_cast<std::uint8_t>(delta(random)), status,
                                 static_cast<std::uint8_t>(pitch(random)), static_cast<std::uint8_t>(v)});
      }
      body.insert(body.end(), test::end_of_track.begin(), test::end_of_track.end());
    }
    const auto bytes = file_of(tracks);
    expect_same_notes_as_libsmf(bytes);
    const auto fifo = continuo_notes(read_performance(bytes, {.pairing = pairing_policy::fifo}));
    const auto lifo = continuo_notes(read_performance(bytes, {.pairing = pairing_policy::lifo}));
    const auto close_all = continuo_notes(read_performance(bytes, {.pairing = pairing_policy::close_all}));
    if (fifo != lifo && fifo != close_all && lifo != close_all) ++all_three_differ;
  }
  EXPECT_GT(all_three_differ, 100) << "the random tracks should tell the three policies apart";
}

}  // namespace
}  // namespace continuo

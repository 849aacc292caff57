#pragma once
/// \file What was played: notes, pedals, controls and the time model of a MIDI file.

#include <continuo/diagnostic.hpp>
#include <continuo/midi/reader.hpp>
#include <continuo/midi/smf.hpp>
#include <continuo/signature.hpp>
#include <continuo/tempo_map.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace continuo {

/// Which open note a note-off closes when several notes of one pitch are sounding on one
/// channel of one track. docs/model.md discusses the choice.
enum class pairing_policy : std::uint8_t {
  fifo,       ///< The earliest still-open note (default; symusic's behaviour).
  lifo,       ///< The latest still-open note.
  close_all,  ///< Every open note that began before this tick (pretty_midi's behaviour).
};

/// Returns "fifo", "lifo" or "close_all".
[[nodiscard]] std::string_view name(pairing_policy policy) noexcept;

/// How to turn a file's events into a performance.
struct performance_options {
  midi::read_options read{};
  pairing_policy pairing = pairing_policy::fifo;
  /// Extend each note until its key is released and the sustain pedal (CC64) is up, or until
  /// the same key is struck again, whichever comes first.
  bool sustain = false;
  /// A pedal controller value at or above this is "down" (for CC64, CC66 and CC67).
  std::uint8_t pedal_threshold = 64;
  /// Keep every control change in performance::controls (pedal controllers included).
  bool keep_controls = true;
  /// Give the notes their times in seconds (note_columns::onset_s and offset_s). Off, those two
  /// columns stay empty, for work in ticks only (tokenising a corpus, say): the read saves 16 bytes
  /// a note and their conversion (a tenth of its time, bench/README.md). Pedals, signatures and the
  /// duration keep their seconds either way. Functions that need the notes' seconds throw
  /// continuo::error on such notes; add_note_seconds() gives them their seconds later.
  bool note_seconds = true;
};

/// Notes as columns (struct of arrays), sorted by onset, then pitch, channel, track, offset,
/// velocity and release velocity. All columns have size() elements, except onset_s and offset_s,
/// which are empty when the notes were read without their seconds (performance_options::note_seconds).
struct note_columns {
  std::vector<tick_t> onset_tick;
  std::vector<tick_t> offset_tick;
  std::vector<seconds_t> onset_s;
  std::vector<seconds_t> offset_s;
  std::vector<std::uint8_t> pitch;             ///< MIDI key number, 0-127 (60 is middle C).
  std::vector<std::uint8_t> velocity;          ///< Note-on velocity, 1-127.
  std::vector<std::uint8_t> release_velocity;  ///< Note-off velocity (64 for a note-on of velocity 0).
  std::vector<std::uint8_t> channel;           ///< 0-15.
  std::vector<std::uint16_t> track;            ///< Index of the track chunk.

  [[nodiscard]] std::size_t size() const noexcept { return pitch.size(); }
  [[nodiscard]] bool empty() const noexcept { return pitch.empty(); }
  /// Whether onset_s and offset_s hold every note's time (false after a read in ticks only).
  [[nodiscard]] bool has_seconds() const noexcept { return onset_s.size() == size() && offset_s.size() == size(); }
  friend bool operator==(const note_columns&, const note_columns&) = default;
};

/// The pedals turned into spans.
enum class pedal_kind : std::uint8_t {
  sustain = 64,    ///< Damper, CC64.
  sostenuto = 66,  ///< CC66.
  soft = 67,       ///< Una corda, CC67.
};

/// A pedal held down from onset to offset on one channel of one track. A pedal never released is
/// held to the end of the performance (performance::duration_tick).
struct pedal_span {
  tick_t onset_tick = 0;
  tick_t offset_tick = 0;
  seconds_t onset_s = 0;
  seconds_t offset_s = 0;
  pedal_kind kind = pedal_kind::sustain;
  std::uint8_t channel = 0;
  std::uint16_t track = 0;
  friend constexpr bool operator==(const pedal_span&, const pedal_span&) = default;
};

/// One control change (CC) message. Its time in seconds is tempo.to_seconds(tick).
struct control_change {
  tick_t tick = 0;
  std::uint8_t channel = 0;
  std::uint8_t number = 0;  ///< Controller number 0-127.
  std::uint8_t value = 0;
  std::uint16_t track = 0;
  friend constexpr bool operator==(const control_change&, const control_change&) = default;
};

/// One program change.
struct program_change {
  tick_t tick = 0;
  std::uint8_t channel = 0;
  std::uint8_t program = 0;
  std::uint16_t track = 0;
  friend constexpr bool operator==(const program_change&, const program_change&) = default;
};

/// One pitch bend, centred on 0 (-8192 to 8191).
struct pitch_bend {
  tick_t tick = 0;
  std::int16_t value = 0;
  std::uint8_t channel = 0;
  std::uint16_t track = 0;
  friend constexpr bool operator==(const pitch_bend&, const pitch_bend&) = default;
};

/// Everything that was played in a MIDI file, in ticks and in seconds. A plain value.
struct performance {
  std::uint16_t format = 1;
  std::uint16_t track_count = 0;  ///< Track chunks read.
  /// Events read over all tracks, end-of-track included: as many as midi::read_smf keeps (events
  /// dropped as damaged are not counted).
  std::uint64_t event_count = 0;
  continuo::tempo_map tempo;
  std::vector<time_signature> time_signatures;
  std::vector<key_signature> key_signatures;
  note_columns notes;
  std::vector<pedal_span> pedals;        ///< Sorted by onset, then kind, channel and track.
  std::vector<control_change> controls;  ///< In file order, track after track.
  std::vector<program_change> programs;  ///< In file order, track after track.
  std::vector<pitch_bend> pitch_bends;   ///< In file order, track after track.
  tick_t duration_tick = 0;              ///< The latest event of any track (end-of-track included).
  seconds_t duration_s = 0;
  read_status status = read_status::ok;
  std::vector<diagnostic> diagnostics;

  friend bool operator==(const performance&, const performance&) = default;
};

/// Reads a Standard MIDI File straight into a performance, without an intermediate event list.
/// Never throws on bad input; see performance::status and performance::diagnostics.
///
///     auto perf = continuo::read_performance(bytes, {.pairing = continuo::pairing_policy::lifo});
///     for (std::size_t i = 0; i < perf.notes.size(); ++i) use(perf.notes.onset_s[i]);
[[nodiscard]] performance read_performance(std::span<const std::uint8_t> bytes,
                                           const performance_options& options = {});

/// Reads one file after another into the same memory: for batch jobs over many files or long takes.
/// Where read_performance allocates its result and staging afresh for every file, a reader keeps its
/// staging and reuses the memory of the performance it reads into, so that once they have grown to
/// the largest file a read allocates nothing and touches no fresh pages (a 24-hour take read in
/// seconds: about 1.5 times as fast as one-shot reads with glibc's default heap, bench/README.md).
///
///     continuo::performance_reader reader({.keep_controls = false});
///     continuo::performance perf;
///     for (const auto& path : paths) {
///       reader.read(continuo::load_file(path), perf);  // perf as read_performance would return it
///       use(perf);
///     }
class performance_reader {
 public:
  explicit performance_reader(performance_options options = {});
  ~performance_reader();
  performance_reader(performance_reader&&) noexcept;
  performance_reader& operator=(performance_reader&&) noexcept;
  performance_reader(const performance_reader&) = delete;
  performance_reader& operator=(const performance_reader&) = delete;

  /// Reads `bytes` into `out`, which ends up equal to read_performance(bytes, options()), whatever
  /// it held before. Never throws on bad input.
  void read(std::span<const std::uint8_t> bytes, performance& out);
  [[nodiscard]] const performance_options& options() const noexcept { return options_; }

 private:
  struct staging;
  performance_options options_;
  std::unique_ptr<staging> staging_;
};

/// Extends note offsets while the sustain pedal of their channel is down (see
/// performance_options::sustain), then updates the seconds (if the notes have them). Idempotent.
/// Throws continuo::error ([performance.note_out_of_range]), changing nothing, on a note that no
/// file could hold: a tick outside 0 to midi::event::max_tick, a pitch or velocity over 127, a
/// channel over 15 (notes edited by hand).
void extend_by_sustain(performance& perf);

/// Gives the notes of a performance read in ticks only (performance_options::note_seconds = false)
/// their times in seconds, from their ticks and perf.tempo: afterwards perf equals what the read
/// with note_seconds = true would have given. Idempotent.
void add_note_seconds(performance& perf);

namespace detail {
/// Throws continuo::error, naming `function` and what to do, unless the notes have their onsets in
/// seconds, and their offsets too if `offsets` (notes.has_seconds()).
void require_note_seconds(const note_columns& notes, std::string_view function, bool offsets = true);
}  // namespace detail

}  // namespace continuo

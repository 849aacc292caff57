#pragma once
/// \file Splitting playing into attempts and practice sessions, live or afterwards.
///
/// An *attempt* is a stretch of continuous playing: it ends once no key is down, the sustain pedal
/// is up and nothing has sounded for `attempt_gap_s`, or, sooner, when the pianist breaks off and
/// starts again from a little earlier (a *restart*: sessionizer_options::restart_gap_s). A *session*
/// is a run of attempts separated by less than `session_gap_s`. One state machine serves both uses:
/// the live `sessionizer` takes events
/// one at a time with a monotonic timestamp in nanoseconds and holds only the open attempt, and
/// `split_practice` feeds a whole performance through it, so re-splitting a stored take with other
/// thresholds gives exactly what a live run with those thresholds would have given.

#include <continuo/diagnostic.hpp>
#include <continuo/performance.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace continuo {

/// Thresholds of the sessionizer. docs/sessions.md explains the defaults. Every time is in seconds,
/// finite and at most max_gap_s; all but restart_gap_s (which may be 0) over 0.
struct sessionizer_options {
  /// The longest threshold, about 31 years: with event times up to sessionizer::max_time_ns, time plus
  /// threshold stays inside the 64-bit clock.
  static constexpr double max_gap_s = 1e9;

  double attempt_gap_s = 3.0;  ///< Silence (no key, no sustain) that ends an attempt.
  /// A shorter silence, of at least this long, ends an attempt when it is a restart: the playing broke
  /// off (the time from the last onset to the next is at least twice the longest interval between the
  /// attempt's last 64 onset events) and the 8 events after the silence go back to music just played
  /// (6 of their 8 top notes match 8 consecutive events of those 64). Such an attempt is reported once
  /// those 8 events have been played. 0 (or anything >= attempt_gap_s) turns restarts off.
  /// docs/sessions.md gives the reasons and the figures.
  double restart_gap_s = 1.0;
  double session_gap_s = 600.0;  ///< Time between attempts that ends a session.
  /// A key or sustain pedal held this long is taken as stuck and released then, with a diagnostic,
  /// so a broken key cannot hold an attempt open forever.
  double stuck_s = 120.0;
  /// A forward step of the clock longer than this is reported (it still ends the attempt and session).
  double clock_jump_s = 86'400.0;
  std::uint32_t max_diagnostics = 1000;  ///< Diagnostics kept before the rest are only counted.
};

/// A stretch of continuous playing.
struct attempt_span {
  std::int64_t start_ns = 0;     ///< The first note-on, on the source clock.
  std::int64_t end_ns = 0;       ///< When the last key (or the pedal) was released.
  std::uint64_t first_note = 0;  ///< Index of its first note-on since the stream began (= note index offline).
  std::uint64_t note_count = 0;  ///< Note-ons in the attempt: notes [first_note, first_note + note_count).
  std::uint32_t session = 0;     ///< Index of the session it belongs to.

  [[nodiscard]] double start_s() const noexcept { return static_cast<double>(start_ns) / 1e9; }
  [[nodiscard]] double end_s() const noexcept { return static_cast<double>(end_ns) / 1e9; }
  [[nodiscard]] double duration_s() const noexcept { return static_cast<double>(end_ns - start_ns) / 1e9; }
  friend bool operator==(const attempt_span&, const attempt_span&) = default;
};

/// A practice session: attempts close enough together.
struct session_span {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::uint32_t first_attempt = 0;  ///< Index of its first attempt since the stream began.
  std::uint32_t attempt_count = 0;
  std::uint64_t note_count = 0;
  std::int64_t playing_ns = 0;  ///< Sum of its attempts' durations: time actually spent playing.

  [[nodiscard]] double start_s() const noexcept { return static_cast<double>(start_ns) / 1e9; }
  [[nodiscard]] double end_s() const noexcept { return static_cast<double>(end_ns) / 1e9; }
  [[nodiscard]] double playing_s() const noexcept { return static_cast<double>(playing_ns) / 1e9; }
  friend bool operator==(const session_span&, const session_span&) = default;
};

/// Something odd in the event stream, and when.
struct session_diagnostic {
  diagnostic_id id{};
  std::int64_t time_ns = 0;
  std::string message;
  friend bool operator==(const session_diagnostic&, const session_diagnostic&) = default;
};

/// The live sessionizer. Feed it events in time order; finished attempts and sessions collect until
/// taken, so memory stays bounded however long the stream runs if the caller takes them.
///
/// Times are nanoseconds of a monotonic clock, from 0 to max_time_ns; channels 0-15, pitches 0-127.
/// An event outside these, and options outside theirs, throw std::invalid_argument: they are the
/// caller's mistake, not the stream's (an event out of order is the stream's: a diagnostic).
///
///     continuo::sessionizer s({.attempt_gap_s = 4});
///     s.note_on(t_ns, channel, pitch);   ...   s.advance(now_ns);
///     for (const auto& a : s.take_attempts()) store(a);
class sessionizer {
 public:
  /// The latest time an event may carry, 2^62 ns (about 146 years of a clock that starts at 0).
  static constexpr std::int64_t max_time_ns = std::int64_t{1} << 62U;

  explicit sessionizer(const sessionizer_options& options = {});

  /// A key struck. A key struck again before release stays down until every strike is released.
  void note_on(std::int64_t time_ns, std::uint8_t channel, std::uint8_t pitch);
  /// A key released (a note-on of velocity 0 is one too).
  void note_off(std::int64_t time_ns, std::uint8_t channel, std::uint8_t pitch);
  /// The sustain pedal's state; repeated "down" values are one press.
  void sustain(std::int64_t time_ns, std::uint8_t channel, bool down);
  /// Lets time pass with no event, closing an attempt or session whose gap has run out.
  void advance(std::int64_t time_ns);
  /// Ends the stream: the open attempt and session are closed.
  void finish();

  /// Returns the attempts finished since the last call, and forgets them.
  [[nodiscard]] std::vector<attempt_span> take_attempts();
  /// Returns the sessions finished since the last call, and forgets them.
  [[nodiscard]] std::vector<session_span> take_sessions();
  /// Returns the diagnostics since the last call, and forgets them.
  [[nodiscard]] std::vector<session_diagnostic> take_diagnostics();

  [[nodiscard]] bool in_attempt() const noexcept { return attempt_open_; }
  [[nodiscard]] bool in_session() const noexcept { return session_open_; }
  /// Keys held down now, stuck ones released.
  [[nodiscard]] std::uint32_t keys_down() const noexcept { return keys_down_; }

 private:
  void step_clock(std::int64_t& time_ns);
  void release_stuck(std::int64_t time_ns);
  void close_expired(std::int64_t time_ns);
  void close_attempt(std::int64_t end_ns);
  void track_onset(std::int64_t time_ns, std::uint8_t pitch);
  [[nodiscard]] bool broke_off(std::int64_t time_ns) const noexcept;
  [[nodiscard]] bool goes_back() const noexcept;
  void resolve_restart(bool restart);
  void close_session();
  void report(diagnostic_id id, std::int64_t time_ns, std::string message);
  void hold_sound(std::size_t channel);
  void lift_pedal(std::size_t channel);
  /// No key down and no sustain pedal down: the attempt may end (attempt_gap_s).
  [[nodiscard]] bool silent() const noexcept { return keys_down_ == 0 && pedals_down_ == 0; }
  /// No key down and no pedal holding a note: a restart may follow (restart_gap_s).
  [[nodiscard]] bool nothing_sounds() const noexcept { return keys_down_ == 0 && pedals_holding_ == 0; }

  std::int64_t attempt_gap_ns_;
  std::int64_t restart_gap_ns_;
  std::int64_t session_gap_ns_;
  std::int64_t stuck_ns_;
  std::int64_t clock_jump_ns_;
  std::uint32_t max_diagnostics_;

  static constexpr std::int64_t up = -1;
  static constexpr std::size_t key_count = std::size_t{16} * 128;  // (channel, pitch) pairs
  std::array<std::int64_t, key_count> key_down_since_{};           // last press of each held key, or `up`
  std::array<std::uint32_t, key_count> key_strikes_{};             // strikes not yet released (re-strikes overlap)
  std::array<std::int64_t, 16> pedal_down_since_{};
  std::array<bool, 16> pedal_holds_sound_{};  // down, and a note sounded while it was (it sustains something)
  std::vector<std::uint16_t> held_;           // keys that may be down: scanned for stuck ones
  std::uint32_t keys_down_ = 0;
  std::uint32_t pedals_down_ = 0;
  std::uint32_t pedals_holding_ = 0;  // pedals down that hold sound
  std::int64_t clock_ns_ = 0;
  bool started_ = false;
  std::int64_t quiet_since_ns_ = 0;    // when the last key or pedal came up
  std::int64_t sound_stopped_ns_ = 0;  // when the last key came up with no pedal holding it, or such a pedal

  bool attempt_open_ = false;
  attempt_span attempt_{};
  bool session_open_ = false;
  session_span session_{};
  std::uint64_t notes_seen_ = 0;
  std::uint32_t attempts_seen_ = 0;
  std::uint32_t sessions_seen_ = 0;
  std::uint64_t diagnostics_seen_ = 0;

  // Restart detection: the open attempt's last onset events (merged chords, by their top note) in a
  // ring, and the events after a silence that may end it, until there are enough to decide.
  struct onset_event {
    std::int64_t time_ns = 0;  // the event's first onset
    std::uint8_t top_pitch = 0;
  };
  static constexpr std::size_t history_events = 64;
  static constexpr std::size_t probe_events = 8;
  std::array<onset_event, history_events> history_{};
  std::size_t history_count_ = 0;  // events pushed since the attempt began; the ring keeps the last 64
  std::array<onset_event, probe_events> probe_{};
  std::size_t probe_count_ = 0;
  bool restart_pending_ = false;
  std::int64_t restart_end_ns_ = 0;       // where the attempt ends if the silence was a restart
  std::uint64_t restart_first_note_ = 0;  // and the note that starts the next one (probe_[0] its time)

  std::vector<attempt_span> attempts_;
  std::vector<session_span> sessions_;
  std::vector<session_diagnostic> diagnostics_;
};

/// Attempts and sessions of a whole performance, on its own clock (seconds from the start of the
/// file, as nanoseconds). Attempt note ranges index performance::notes.
struct practice_split {
  std::vector<session_span> sessions;
  std::vector<attempt_span> attempts;
  std::vector<session_diagnostic> diagnostics;
  friend bool operator==(const practice_split&, const practice_split&) = default;
};

/// Splits a performance into attempts and sessions by feeding its notes and sustain pedal through a
/// sessionizer. O(n log n) in notes. A performance longer than the clock (sessionizer::max_time_ns,
/// which only a file of extreme tempo and tick values reaches) is split up to there: the notes that
/// start later are left out, with a `stream.clock_limit` diagnostic. Throws std::invalid_argument for
/// options out of range.
[[nodiscard]] practice_split split_practice(const performance& perf, const sessionizer_options& options = {});

}  // namespace continuo

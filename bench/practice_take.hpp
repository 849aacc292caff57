#pragma once
/// \file Synthetic long practice takes: what a digital piano's recorder writes when it is left on
/// for hours. No public corpus has such files, and they are the case the 24-hour goals are about.

#include <cstdint>
#include <vector>

namespace continuo_bench {

/// What to generate. The same spec always gives the same bytes (the random source is splitmix64,
/// not a std:: distribution, whose output differs between standard libraries).
struct take_spec {
  double hours = 2;
  std::uint16_t ticks_per_quarter = 480;
  std::uint64_t seed = 1;
  /// Release keys with 0x80 note-offs carrying a release velocity (as some Disklavier files do)
  /// instead of note-ons of velocity 0 (which keep running status across a whole passage).
  bool note_off_messages = false;
};

/// What a take holds, to check the reader against.
struct take_stats {
  std::uint64_t notes = 0;
  std::uint64_t sustain_messages = 0;  ///< CC64.
  std::uint64_t soft_messages = 0;     ///< CC67.
  std::uint64_t passages = 0;
  double playing_s = 0;  ///< Time spent in passages, gaps excluded.
  double duration_s = 0;
};

/// A generated Standard MIDI File and what is in it.
struct practice_take {
  std::vector<std::uint8_t> bytes;
  take_stats stats;
};

/// Generates a format 1 file at 120 bpm: a conductor track, then one piano track of passages
/// (20 s to 15 min of notes with velocities, chords, a continuous sustain-pedal stream with
/// Disklavier-like ramps and jitter while held, CC67 in some passages) separated by silent gaps of
/// 5 to 900 s, both log-uniform.
[[nodiscard]] practice_take make_practice_take(const take_spec& spec);

}  // namespace continuo_bench

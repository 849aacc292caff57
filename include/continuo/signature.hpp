#pragma once
/// \file Time and key signatures, as written in the file.

#include <continuo/time.hpp>

#include <cstdint>

namespace continuo {

/// A time signature in force from `tick` on, e.g. 6/8 is numerator 6, denominator 8.
struct time_signature {
  tick_t tick = 0;
  seconds_t time_s = 0;
  std::uint8_t numerator = 4;
  std::uint8_t denominator = 4;        ///< A power of two: 1, 2, 4, 8 ...
  std::uint8_t clocks_per_click = 24;  ///< MIDI clocks per metronome click.
  std::uint8_t thirty_seconds_per_quarter = 8;
  friend constexpr bool operator==(const time_signature&, const time_signature&) = default;
};

/// A key signature in force from `tick` on: -7 (7 flats) to +7 (7 sharps), major or minor.
struct key_signature {
  tick_t tick = 0;
  seconds_t time_s = 0;
  std::int8_t sharps = 0;  ///< Negative for flats.
  bool minor = false;
  friend constexpr bool operator==(const key_signature&, const key_signature&) = default;
};

}  // namespace continuo

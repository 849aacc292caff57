#pragma once
/// \file Units of time. Every timestamp in continuo names its unit in its type or in its name:
/// `*_tick` fields are absolute MIDI ticks (pulses) from the start of the file, `*_s` fields are
/// seconds on the file's own clock (start of file = 0 s), `*_ns` fields are nanoseconds.

#include <cstdint>

namespace continuo {

/// Absolute time in MIDI ticks from the start of the file. 64-bit: a day at 960 PPQ is ~1.7e8.
using tick_t = std::int64_t;

/// Time in seconds from the start of the file, on the file's own clock.
using seconds_t = double;

}  // namespace continuo

#pragma once
/// \file Writing Standard MIDI Files.

#include <continuo/midi/smf.hpp>
#include <continuo/performance.hpp>

#include <cstdint>
#include <vector>

namespace continuo::midi {

/// How to write.
struct write_options {
  std::uint16_t format = 1;  ///< 0 (one track) or 1 (a conductor track, then one per source track).
  /// Ticks per quarter note of the output; 0 keeps the performance's own division (SMPTE included).
  /// Other values rescale every tick, rounding to the nearest.
  std::uint16_t ticks_per_quarter = 0;
  bool running_status = true;  ///< Omit repeated status bytes (never across meta or sysex events).
  /// The pairing the output will be read with: decides the order of simultaneous note events of one
  /// pitch so that read_performance(write(perf)) == perf under that policy.
  pairing_policy pairing = pairing_policy::fifo;
};

/// Encodes an event-level file. The bytes depend only on the events: writing twice gives the same.
/// A gap of 2^28 ticks or more between two events of a track, which no delta time can hold, is
/// bridged by empty text events (FF 01 00) every 2^28 - 1 ticks. Throws continuo::error for a track
/// whose events are out of tick order.
[[nodiscard]] std::vector<std::uint8_t> write_smf(const smf_file& file, bool running_status = true);

/// Turns a performance back into events (notes, pedals not covered by controls, controls,
/// programs, pitch bends, tempo, time and key signatures).
[[nodiscard]] smf_file to_smf(const performance& perf, const write_options& options = {});

/// Returns write_smf(to_smf(perf, options), options.running_status).
[[nodiscard]] std::vector<std::uint8_t> write_performance(const performance& perf, const write_options& options = {});

}  // namespace continuo::midi

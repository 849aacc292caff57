#pragma once
/// \file Reading Standard MIDI Files from bytes: strict or lenient, always graded, never unbounded.

#include <continuo/midi/smf.hpp>
#include <continuo/time.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace continuo::midi {

/// Hard limits that no input can break. The defaults never refuse a real recording: a 24-hour
/// take at 960 PPQ and 240 bpm is ~3.3e8 ticks and a few ten million events.
struct read_limits {
  std::uint64_t max_events = std::uint64_t{1} << 30;  ///< Events over all tracks.
  tick_t max_tick = event::max_tick;     ///< Absolute tick of any event; capped to event::max_tick (2^40 - 1).
  std::uint32_t max_tracks = 65535;      ///< Track chunks read.
  std::uint32_t max_diagnostics = 1000;  ///< Diagnostics kept; then one diagnostic_limit.
};

/// How to read.
struct read_options {
  /// Strict: stop at the first violation of the SMF specification, status invalid.
  /// Lenient (default): salvage everything up to the damage, record every repair.
  bool strict = false;
  read_limits limits{};
};

/// Reads every event of a Standard MIDI File. Never throws on bad input (only std::bad_alloc):
/// problems are graded in smf_file::status and listed in smf_file::diagnostics.
///
///     auto file = continuo::midi::read_smf(bytes);
///     if (file.status == continuo::read_status::invalid) { ... file.diagnostics[0] ... }
[[nodiscard]] smf_file read_smf(std::span<const std::uint8_t> bytes, const read_options& options = {});

}  // namespace continuo::midi

#pragma once
/// \file The raw content of a Standard MIDI File: header fields and every event of every track,
/// with absolute ticks. This is the "events" level; continuo/performance.hpp is the musical level.

#include <continuo/diagnostic.hpp>
#include <continuo/time.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace continuo::midi {

/// The header's time division: ticks per quarter note (metrical) or SMPTE frames and ticks per frame.
struct division {
  /// Returns a metrical division of `ticks_per_quarter` ticks per quarter note.
  static constexpr division metrical(std::uint16_t ticks_per_quarter) noexcept { return division{ticks_per_quarter}; }
  /// Returns an SMPTE division; `frames_per_second` is 24, 25, 29 (29.97 drop-frame) or 30.
  static constexpr division smpte(std::uint8_t frames_per_second, std::uint8_t ticks_per_frame) noexcept {
    return division{static_cast<std::uint16_t>(((256U - frames_per_second) << 8U) | ticks_per_frame)};
  }

  /// The 16-bit field as stored in the file.
  std::uint16_t raw = 480;

  [[nodiscard]] constexpr bool is_smpte() const noexcept { return (raw & 0x8000U) != 0; }
  /// Ticks per quarter note; meaningful only when !is_smpte().
  [[nodiscard]] constexpr std::uint16_t ticks_per_quarter() const noexcept { return raw & 0x7FFFU; }
  /// Frames per second as stored (24, 25, 29 or 30); meaningful only when is_smpte().
  [[nodiscard]] constexpr std::uint8_t smpte_fps() const noexcept {
    return static_cast<std::uint8_t>(256U - (raw >> 8U));
  }
  /// Ticks per SMPTE frame; meaningful only when is_smpte().
  [[nodiscard]] constexpr std::uint8_t ticks_per_frame() const noexcept {
    return static_cast<std::uint8_t>(raw & 0xFFU);
  }
  friend constexpr bool operator==(division, division) = default;
};

/// Meta event types that continuo interprets (others are kept as raw events).
namespace meta {
inline constexpr std::uint8_t sequence_number = 0x00;
inline constexpr std::uint8_t text = 0x01;
inline constexpr std::uint8_t copyright = 0x02;
inline constexpr std::uint8_t track_name = 0x03;
inline constexpr std::uint8_t instrument_name = 0x04;
inline constexpr std::uint8_t lyric = 0x05;
inline constexpr std::uint8_t marker = 0x06;
inline constexpr std::uint8_t cue_point = 0x07;
inline constexpr std::uint8_t channel_prefix = 0x20;
inline constexpr std::uint8_t port = 0x21;
inline constexpr std::uint8_t end_of_track = 0x2F;
inline constexpr std::uint8_t tempo = 0x51;
inline constexpr std::uint8_t smpte_offset = 0x54;
inline constexpr std::uint8_t time_signature = 0x58;
inline constexpr std::uint8_t key_signature = 0x59;
inline constexpr std::uint8_t sequencer_specific = 0x7F;
}  // namespace meta

namespace detail {
[[noreturn]] void throw_tick_out_of_range(tick_t tick);
}  // namespace detail

/// One event of a track, in 8 bytes: its absolute tick (40 bits), status byte and two data bytes.
///
/// `status()` tells the kind: 0x80-0xEF a channel message (`data1()`, `data2()` are its data bytes;
/// `data2()` is 0 for the one-byte messages C0-DF); 0xFF a meta event (`data1()` is its type);
/// 0xF0 or 0xF7 a sysex or escape packet. Meta and sysex bytes are in smf_file::payload.
///
/// Why 8 bytes: a typical event takes 3 bytes of a file, so the event list is most of what reading
/// costs in memory; at 8 bytes an event it stays under 3 times the file. 40 bits of ticks are 18
/// years at 960 PPQ and 120 bpm, and arithmetic on ticks stays 64-bit (tick_t).
class event {
 public:
  /// The largest tick an event can hold, 2^40 - 1 (read_limits::max_tick is capped to it).
  static constexpr tick_t max_tick = (tick_t{1} << 40U) - 1;

  constexpr event() noexcept = default;
  /// Throws std::out_of_range when `tick` is negative or over max_tick.
  constexpr event(tick_t tick, std::uint8_t status, std::uint8_t data1 = 0, std::uint8_t data2 = 0)
      : bits_(pack(checked(tick), status, data1, data2)) {}

  [[nodiscard]] constexpr tick_t tick() const noexcept { return static_cast<tick_t>(bits_ >> 24U); }
  [[nodiscard]] constexpr std::uint8_t status() const noexcept { return byte(16); }
  [[nodiscard]] constexpr std::uint8_t data1() const noexcept { return byte(8); }
  [[nodiscard]] constexpr std::uint8_t data2() const noexcept { return byte(0); }
  /// Returns the same event at another tick (same checks as the constructor).
  [[nodiscard]] constexpr event at(tick_t tick) const { return {tick, status(), data1(), data2()}; }

  [[nodiscard]] constexpr bool is_channel() const noexcept { return status() >= 0x80 && status() < 0xF0; }
  [[nodiscard]] constexpr bool is_meta() const noexcept { return status() == 0xFF; }
  [[nodiscard]] constexpr bool is_sysex() const noexcept { return status() == 0xF0 || status() == 0xF7; }
  /// Returns the channel (0-15) of a channel message.
  [[nodiscard]] constexpr std::uint8_t channel() const noexcept { return status() & 0x0FU; }
  friend constexpr bool operator==(event, event) noexcept = default;

 private:
  static constexpr tick_t checked(tick_t tick) {
    // One unsigned comparison (a negative tick wraps past max_tick), out of the way of the reader's
    // loop, which builds every event through here: two signed ones cost the events level 5-10 %.
    if (static_cast<std::uint64_t>(tick) > max_tick) [[unlikely]]
      detail::throw_tick_out_of_range(tick);
    return tick;
  }
  static constexpr std::uint64_t pack(tick_t tick, std::uint8_t status, std::uint8_t data1,
                                      std::uint8_t data2) noexcept {
    return (static_cast<std::uint64_t>(tick) << 24U) | (std::uint64_t{status} << 16U) | (std::uint64_t{data1} << 8U) |
           data2;
  }
  [[nodiscard]] constexpr std::uint8_t byte(unsigned shift) const noexcept {
    return static_cast<std::uint8_t>(bits_ >> shift);
  }

  std::uint64_t bits_ = 0;
};

/// The data bytes of one meta or sysex event: where they sit in smf_file::payload_bytes.
struct payload_span {
  std::uint64_t event = 0;   ///< Index of the event in smf_file::events.
  std::uint64_t offset = 0;  ///< First byte in smf_file::payload_bytes.
  std::uint64_t size = 0;
  friend constexpr bool operator==(const payload_span&, const payload_span&) = default;
};

/// The events of one track chunk: a range of smf_file::events.
struct track_range {
  std::uint64_t first = 0;  ///< Index of the track's first event in smf_file::events.
  std::uint64_t count = 0;  ///< Number of events, the end-of-track event included.
  friend constexpr bool operator==(const track_range&, const track_range&) = default;
};

/// A whole Standard MIDI File at the event level. A plain value: copy, compare, move.
struct smf_file {
  std::uint16_t format = 1;
  midi::division division{};
  std::vector<event> events;                ///< All tracks' events, track after track.
  std::vector<track_range> tracks;          ///< One range of `events` per track chunk read.
  std::vector<std::uint8_t> payload_bytes;  ///< Meta and sysex data, back to back.
  std::vector<payload_span> payload_spans;  ///< One per meta and sysex event, in event order.
  read_status status = read_status::ok;
  std::vector<diagnostic> diagnostics;

  /// Returns the events of track `index`.
  [[nodiscard]] std::span<const event> track_events(std::size_t index) const {
    const auto& t = tracks.at(index);
    return std::span<const event>(events).subspan(t.first, t.count);
  }
  /// Returns the data bytes of event `index` of `events` (empty for channel messages), in O(log m)
  /// for m meta and sysex events. Throws std::out_of_range for an index past `events`.
  [[nodiscard]] std::span<const std::uint8_t> payload(std::size_t index) const;
  /// The same for an event given by reference, which must be an element of `events` (as those of
  /// track_events are); throws std::invalid_argument otherwise.
  [[nodiscard]] std::span<const std::uint8_t> payload(const event& e) const;
  /// Appends an event to the last track, storing `data` for meta and sysex events.
  void append(event e, std::span<const std::uint8_t> data = {});
  /// Starts a new, empty track.
  void begin_track() { tracks.push_back({events.size(), 0}); }

  friend bool operator==(const smf_file&, const smf_file&) = default;
};

}  // namespace continuo::midi

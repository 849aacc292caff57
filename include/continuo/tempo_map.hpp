#pragma once
/// \file Conversion between ticks and seconds.

#include <continuo/midi/smf.hpp>
#include <continuo/time.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace continuo {

/// A tempo in force from `tick` on.
struct tempo_change {
  tick_t tick = 0;
  std::uint32_t us_per_quarter = 500'000;  ///< Microseconds per quarter note (500000 = 120 bpm).

  [[nodiscard]] constexpr double bpm() const noexcept { return 60e6 / us_per_quarter; }
  friend constexpr bool operator==(const tempo_change&, const tempo_change&) = default;
};

/// Maps ticks to seconds and back, for a metrical (PPQ) or an SMPTE division.
///
/// seconds = start of segment + Δtick × tempo / (PPQ × 10⁶), with Δtick × tempo exact and one
/// division: correctly rounded in the first tempo segment (288 ticks at 96 PPQ and 120 bpm are
/// exactly 1.5 s), within an ulp or two after it. Segment starts are summed in 128-bit integers and
/// rounded once, so errors do not accumulate over thousands of tempo changes. O(log n) per lookup in the number
/// of tempo changes; tempo_map::cursor is O(1) amortised for non-decreasing input.
class tempo_map {
 public:
  /// 480 PPQ at 120 bpm.
  tempo_map() : tempo_map(midi::division{}, {}) {}
  /// Builds the map of `division` with `changes` sorted by tick (at one tick, the last wins).
  /// Tempo changes are ignored for SMPTE divisions, whose ticks are fixed fractions of a second.
  tempo_map(midi::division division, std::span<const tempo_change> changes);

  /// Returns the time in seconds of absolute tick `tick` (negative ticks extrapolate).
  [[nodiscard]] seconds_t to_seconds(tick_t tick) const noexcept;
  /// Converts every tick of `ticks` to seconds into `seconds` (as long as `ticks`), each value bit
  /// for bit as to_seconds(tick) gives it; fastest for ticks that seldom go back across a tempo
  /// change, as onsets and offsets sorted by onset, where whole blocks convert in one vector loop.
  void to_seconds(std::span<const tick_t> ticks, std::span<seconds_t> seconds) const noexcept;
  /// Returns the (fractional) tick at time `seconds`; the inverse of to_seconds.
  [[nodiscard]] double to_ticks(seconds_t seconds) const noexcept;

  /// The tempo changes in force, starting with the one at tick 0 (120 bpm unless the file says).
  [[nodiscard]] std::span<const tempo_change> changes() const noexcept { return changes_; }
  [[nodiscard]] midi::division division() const noexcept { return division_; }

  /// Converts non-decreasing ticks to seconds in O(1) amortised time.
  class cursor {
   public:
    explicit cursor(const tempo_map& map) noexcept : map_(&map) { enter(0); }
    /// Returns map.to_seconds(tick); fastest when ticks do not decrease between calls.
    [[nodiscard]] seconds_t to_seconds(tick_t tick) noexcept {
      if (tick < begin_tick_ || tick >= end_tick_) move_to(tick);  // inline: the common case is one segment
      return origin_s_ +
             static_cast<double>(tick - origin_tick_) * rate_ / map_->divisor_;  // = seconds_in, bit for bit
    }

   private:
    friend class tempo_map;
    void move_to(tick_t tick) noexcept;
    void enter(std::size_t segment) noexcept;

    const tempo_map* map_;
    std::size_t segment_ = 0;
    tick_t begin_tick_ = 0;  // the current segment covers [begin_tick_, end_tick_)
    tick_t end_tick_ = 0;
    tick_t origin_tick_ = 0;  // its tempo change, where origin_s_ is
    seconds_t origin_s_ = 0;
    double rate_ = 0;  // tempo_map::rate_ of the segment
  };

  friend bool operator==(const tempo_map& a, const tempo_map& b) {
    return a.division_ == b.division_ && a.changes_ == b.changes_;
  }

 private:
  [[nodiscard]] std::size_t segment_of(tick_t tick) const noexcept;
  [[nodiscard]] seconds_t seconds_in(std::size_t segment, tick_t tick) const noexcept;

  midi::division division_;
  std::vector<tempo_change> changes_;
  std::vector<seconds_t> start_s_;  ///< Time at which each change takes effect.
  std::vector<double> rate_;        ///< Of each segment: seconds = Δtick × rate / divisor_.
  double divisor_ = 1;              ///< PPQ × 10⁶ (metrical), or ticks per second × (1001 for 29.97 fps).
};

}  // namespace continuo

#include <continuo/tempo_map.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace continuo {
namespace {
__extension__ using int128 = __int128;  // exact sums of dtick * tempo: up to 2^40 * 2^24 each
}  // namespace

tempo_map::tempo_map(midi::division division, std::span<const tempo_change> changes) : division_(division) {
  changes_.push_back({0, 500'000});
  if (division.is_smpte()) {
    // Ticks are fixed fractions of a second; 29 is NTSC drop-frame, 30000/1001 frames per second.
    const double ticks_per_frame = std::max<int>(division.ticks_per_frame(), 1);
    const bool ntsc = division.smpte_fps() == 29;
    divisor_ = (ntsc ? 30000.0 : division.smpte_fps()) * ticks_per_frame;
    rate_.push_back(ntsc ? 1001.0 : 1.0);
    start_s_.push_back(0);
    return;
  }
  divisor_ = static_cast<double>(std::max<int>(division.ticks_per_quarter(), 1)) * 1e6;
  changes_.reserve(changes.size() + 1);
  for (const auto& c : changes) {
    if (c.us_per_quarter == 0) continue;  // the readers report tempo 0 and never pass it on
    if (c.tick <= changes_.back().tick) {
      changes_.back().us_per_quarter = c.us_per_quarter;  // same tick (or tick 0): the later one wins
      // ... and a change back to the tempo already in force is no change at all.
      if (changes_.size() > 1 && changes_[changes_.size() - 2].us_per_quarter == c.us_per_quarter) changes_.pop_back();
    } else if (c.us_per_quarter != changes_.back().us_per_quarter) {
      changes_.push_back({std::max<tick_t>(c.tick, 0), c.us_per_quarter});
    }
  }
  rate_.reserve(changes_.size());
  start_s_.reserve(changes_.size());
  int128 sum = 0;  // Σ Δtick × tempo, exact
  for (std::size_t i = 0; i < changes_.size(); ++i) {
    if (i > 0) sum += static_cast<int128>(changes_[i].tick - changes_[i - 1].tick) * changes_[i - 1].us_per_quarter;
    start_s_.push_back(static_cast<double>(sum) / divisor_);
    rate_.push_back(changes_[i].us_per_quarter);
  }
}

std::size_t tempo_map::segment_of(tick_t tick) const noexcept {
  const auto it = std::upper_bound(changes_.begin(), changes_.end(), tick,
                                   [](tick_t t, const tempo_change& c) { return t < c.tick; });
  return it == changes_.begin() ? 0 : static_cast<std::size_t>(it - changes_.begin() - 1);
}

seconds_t tempo_map::seconds_in(std::size_t segment, tick_t tick) const noexcept {
  // Δtick × rate is exact below 2^53 (a day at 960 PPQ and 60 bpm is 8e13), so one division rounds.
  return start_s_[segment] + static_cast<double>(tick - changes_[segment].tick) * rate_[segment] / divisor_;
}

seconds_t tempo_map::to_seconds(tick_t tick) const noexcept { return seconds_in(segment_of(tick), tick); }

void tempo_map::to_seconds(std::span<const tick_t> ticks, std::span<seconds_t> seconds) const noexcept {
  // Blocks whose ticks all lie in the cursor's segment, at or after its tempo change, convert in
  // a loop without a branch, which the compiler vectorises; any other block, one value at a time.
  constexpr std::size_t block = 32;
  constexpr auto exact_below = tick_t{1} << 52U;  // 0 <= Δtick < 2^52 converts to double by bits
  const std::size_t n = std::min(ticks.size(), seconds.size());
  cursor at(*this);
  std::size_t i = 0;
  for (; i + block <= n; i += block) {
    const tick_t* const t = ticks.data() + i;
    seconds_t* const s = seconds.data() + i;
    tick_t low = t[0];
    tick_t high = t[0];
    for (std::size_t j = 1; j < block; ++j) {
      low = std::min(low, t[j]);
      high = std::max(high, t[j]);
    }
    if (high >= at.end_tick_ || low < at.begin_tick_) at.move_to(low);
    if (low >= at.origin_tick_ && high < at.end_tick_ && high - at.origin_tick_ < exact_below) {
      const tick_t origin_tick = at.origin_tick_;
      const double origin_s = at.origin_s_;
      const double rate = at.rate_;
      const double divisor = divisor_;
      for (std::size_t j = 0; j < block; ++j) {
        // static_cast<double>(Δtick) for 0 <= Δtick < 2^52, in a way SSE2 vectorises: Δtick in
        // the mantissa of 2^52, minus 2^52. Exact, so the result is to_seconds's, bit for bit.
        const auto bits = static_cast<std::uint64_t>(t[j] - origin_tick) | std::bit_cast<std::uint64_t>(0x1p52);
        const double delta = std::bit_cast<double>(bits) - 0x1p52;
        s[j] = origin_s + delta * rate / divisor;
      }
    } else {
      for (std::size_t j = 0; j < block; ++j) s[j] = at.to_seconds(t[j]);
    }
  }
  for (; i < n; ++i) seconds[i] = at.to_seconds(ticks[i]);
}

double tempo_map::to_ticks(seconds_t seconds) const noexcept {
  // The last segment whose start is at or before `seconds`.
  const auto it = std::upper_bound(start_s_.begin(), start_s_.end(), seconds);
  const std::size_t segment = it == start_s_.begin() ? 0 : static_cast<std::size_t>(it - start_s_.begin() - 1);
  return static_cast<double>(changes_[segment].tick) + (seconds - start_s_[segment]) * divisor_ / rate_[segment];
}

void tempo_map::cursor::enter(std::size_t segment) noexcept {
  const auto& changes = map_->changes_;
  segment_ = segment;
  begin_tick_ = segment == 0 ? std::numeric_limits<tick_t>::min() : changes[segment].tick;
  end_tick_ = segment + 1 < changes.size() ? changes[segment + 1].tick : std::numeric_limits<tick_t>::max();
  origin_tick_ = changes[segment].tick;
  origin_s_ = map_->start_s_[segment];
  rate_ = map_->rate_[segment];
}

void tempo_map::cursor::move_to(tick_t tick) noexcept {
  std::size_t segment = segment_;
  const auto& changes = map_->changes_;
  if (tick < begin_tick_) {
    segment = map_->segment_of(tick);
  } else {
    while (segment + 1 < changes.size() && changes[segment + 1].tick <= tick) ++segment;
  }
  enter(segment);
}

}  // namespace continuo

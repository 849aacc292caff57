#include "practice_take.hpp"

#include <continuo/midi/smf.hpp>
#include <continuo/midi/writer.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>

namespace continuo_bench {
namespace {

/// splitmix64: tiny, fast and specified bit for bit, so takes are the same everywhere.
class random_source {
 public:
  explicit random_source(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  /// Returns a double in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Returns a value whose logarithm is uniform: as many short gaps as long ones per octave.
  double log_uniform(double lo, double hi) { return lo * std::exp(uniform() * std::log(hi / lo)); }
  /// Returns an integer in [lo, hi].
  int integer(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
  bool chance(double p) { return uniform() < p; }
  /// Returns a standard normal value (Box-Muller).
  double normal() {
    const double u = 1.0 - uniform();  // in (0, 1]: log(u) is finite
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * uniform());
  }

 private:
  std::uint64_t state_;
};

struct played_note {
  double on_s;
  double off_s;
  std::uint8_t pitch;
  std::uint8_t velocity;
  std::uint8_t release;
};

struct control_message {
  double t_s;
  std::uint8_t number;
  std::uint8_t value;
};

std::uint8_t clamp_7bit(double v, int lo = 0) {
  return static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::lround(v)), lo, 127));
}

/// The notes of one passage: chords of 1-4 keys around a drifting register, at a passage-wide
/// pace and dynamic. A key is released before it is struck again, as on a real keyboard.
void play_notes(double start, double end, random_source& rng, std::array<std::int64_t, 128>& last_of_pitch,
                std::vector<played_note>& notes) {
  const double onsets_per_s = rng.uniform(2.5, 8.0);
  const double level = rng.uniform(35, 95);
  double centre = rng.uniform(48, 76);
  double t = start;
  while (true) {
    t += std::max(0.03, -std::log(1.0 - rng.uniform()) / onsets_per_s);
    if (t >= end - 0.2) break;
    centre = std::clamp(centre + rng.normal() * 2.0, 36.0, 84.0);
    const double u = rng.uniform();
    const int keys = u < 0.55 ? 1 : u < 0.78 ? 2 : u < 0.92 ? 3 : 4;
    for (int k = 0; k < keys; ++k) {
      const auto pitch = static_cast<std::uint8_t>(
          std::clamp(static_cast<int>(std::lround(centre)) + (k == 0 ? 0 : rng.integer(-14, 14)), 21, 108));
      const double on = t + rng.uniform(0, 0.02);
      const double off = std::min(on + rng.log_uniform(0.06, 1.6), end);
      auto& last = last_of_pitch[pitch];
      if (last >= 0 && notes[static_cast<std::size_t>(last)].off_s > on - 0.005) {
        auto& previous = notes[static_cast<std::size_t>(last)];
        if (on - 0.005 <= previous.on_s + 0.01) continue;  // the key cannot be struck again so soon
        previous.off_s = on - 0.005;
      }
      if (off <= on + 0.01) continue;
      last = static_cast<std::int64_t>(notes.size());
      notes.push_back(
          {on, off, pitch, clamp_7bit(level + rng.normal() * 10, 1), static_cast<std::uint8_t>(rng.integer(30, 80))});
    }
  }
}

/// Moves a continuous pedal from `from` to `to` in `steps` messages a few milliseconds apart,
/// along a curve as a Disklavier's pedal sensor reports it. Returns the time after the ramp.
double ramp(double t, int from, int to, int steps, std::uint8_t number, random_source& rng,
            std::vector<control_message>& out) {
  const double gamma = rng.uniform(0.6, 1.6);
  for (int i = 1; i <= steps; ++i) {
    t += rng.uniform(0.006, 0.016);
    const double x = std::pow(static_cast<double>(i) / steps, gamma);
    out.push_back({t, number, clamp_7bit(from + (to - from) * x)});
  }
  return t;
}

/// The dense sustain-pedal stream of one passage: press ramps, a value that wanders while the
/// pedal is held (the sensor is continuous), release ramps, sometimes only to half pedal.
void play_sustain(double start, double end, random_source& rng, std::vector<control_message>& out) {
  double t = start + rng.uniform(0, 1);
  int value = 0;
  while (t < end) {
    t = ramp(t, value, 127, rng.integer(6, 14), 64, rng, out);
    value = 127;
    const double hold_until = t + rng.log_uniform(0.3, 4.0);
    while (true) {
      t += rng.uniform(0.03, 0.12);
      if (t >= hold_until) break;
      const int moved = std::clamp(value + rng.integer(-4, 4), 90, 127);
      if (moved != value) out.push_back({t, 64, static_cast<std::uint8_t>(moved)});
      value = moved;
    }
    const int to = rng.chance(0.2) ? rng.integer(20, 50) : 0;
    t = ramp(t, value, to, rng.integer(5, 12), 64, rng, out);
    value = to;
    t += rng.log_uniform(0.05, 1.0);
  }
  if (value != 0) out.push_back({t, 64, 0});
}

/// The soft pedal (CC67), in some passages only: a few long presses with short ramps.
void play_soft(double start, double end, random_source& rng, std::vector<control_message>& out) {
  double t = start + rng.uniform(0, 10);
  const int presses = rng.integer(1, 4);
  for (int i = 0; i < presses && t < end; ++i) {
    t = ramp(t, 0, 127, rng.integer(4, 8), 67, rng, out);
    t += rng.uniform(2, 20);
    t = ramp(t, 127, 0, rng.integer(4, 8), 67, rng, out);
    t += rng.uniform(1, 30);
  }
}

struct timed_message {
  continuo::tick_t tick;
  std::uint8_t status;
  std::uint8_t data1;
  std::uint8_t data2;
};

void append_meta(continuo::midi::smf_file& file, continuo::tick_t tick, std::uint8_t type,
                 std::vector<std::uint8_t> data) {
  file.append({tick, 0xFF, type, 0}, data);
}

}  // namespace

practice_take make_practice_take(const take_spec& spec) {
  random_source rng(spec.seed);
  const double total_s = spec.hours * 3600.0;
  std::vector<played_note> notes;
  std::vector<control_message> controls;
  std::array<std::int64_t, 128> last_of_pitch{};
  last_of_pitch.fill(-1);
  take_stats stats;

  double t = rng.uniform(1, 5);
  while (t < total_s - 5) {
    const double end = std::min(t + rng.log_uniform(20, 900), total_s - 1);
    play_notes(t, end, rng, last_of_pitch, notes);
    play_sustain(t, end, rng, controls);
    if (rng.chance(0.3)) play_soft(t, end, rng, controls);
    ++stats.passages;
    stats.playing_s += end - t;
    t = end + rng.log_uniform(5, 900);
  }

  // 120 bpm: a quarter note is half a second.
  const double ticks_per_s = 2.0 * spec.ticks_per_quarter;
  const auto to_tick = [&](double s) { return static_cast<continuo::tick_t>(std::llround(s * ticks_per_s)); };
  std::vector<timed_message> messages;
  messages.reserve(notes.size() * 2 + controls.size());
  for (const auto& n : notes) {
    messages.push_back({to_tick(n.on_s), 0x90, n.pitch, n.velocity});
    if (spec.note_off_messages) {
      messages.push_back({to_tick(n.off_s), 0x80, n.pitch, n.release});
    } else {
      messages.push_back({to_tick(n.off_s), 0x90, n.pitch, 0});
    }
  }
  for (const auto& c : controls) {
    messages.push_back({to_tick(c.t_s), 0xB0, c.number, c.value});
    ++(c.number == 64 ? stats.sustain_messages : stats.soft_messages);
  }
  // Stable: at one tick, a key's release (pushed right after its strike) stays after the strike,
  // and a re-strike is at least 5 ms after the release that precedes it.
  std::stable_sort(messages.begin(), messages.end(),
                   [](const timed_message& a, const timed_message& b) { return a.tick < b.tick; });
  stats.notes = notes.size();

  continuo::midi::smf_file file;
  file.format = 1;
  file.division = continuo::midi::division::metrical(spec.ticks_per_quarter);
  file.begin_track();
  append_meta(file, 0, continuo::midi::meta::time_signature, {4, 2, 24, 8});
  append_meta(file, 0, continuo::midi::meta::tempo, {0x07, 0xA1, 0x20});  // 500000 us per quarter
  append_meta(file, 0, continuo::midi::meta::end_of_track, {});
  file.begin_track();
  const std::string name = "Piano";
  append_meta(file, 0, continuo::midi::meta::track_name, {name.begin(), name.end()});
  file.append({0, 0xC0, 0, 0});
  for (const auto& m : messages) file.append({m.tick, m.status, m.data1, m.data2});
  const continuo::tick_t last = messages.empty() ? 0 : messages.back().tick;
  append_meta(file, last + static_cast<continuo::tick_t>(ticks_per_s), continuo::midi::meta::end_of_track, {});
  stats.duration_s = static_cast<double>(last) / ticks_per_s + 1.0;
  return {continuo::midi::write_smf(file), stats};
}

}  // namespace continuo_bench

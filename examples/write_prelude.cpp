// Writes the first eight bars of J. S. Bach's Prelude in C major (BWV 846, public domain) as a
// Standard MIDI File, played as a pianist would: a broken chord per half bar, the two lowest notes
// held, the sustain pedal caught on every bar, velocities shaped a little. Used by `make demo`.
//   write_prelude OUT.mid

#include <continuo/continuo.hpp>

#include <algorithm>
#include <array>
#include <cstdio>

namespace {

using continuo::midi::event;

constexpr std::uint16_t ppq = 480;
constexpr continuo::tick_t sixteenth_tick = ppq / 4;
constexpr continuo::tick_t bar_tick = 16 * sixteenth_tick;

// The five notes of each bar's chord, lowest first.
constexpr std::array<std::array<std::uint8_t, 5>, 8> chords{{
    {60, 64, 67, 72, 76},  // C
    {60, 62, 69, 74, 77},  // Dm7/C
    {59, 62, 67, 74, 77},  // G7/B
    {60, 64, 67, 72, 76},  // C
    {60, 64, 69, 76, 81},  // Am/C
    {60, 62, 66, 69, 74},  // D7/C
    {59, 62, 67, 74, 79},  // G/B
    {59, 60, 64, 67, 72},  // Cmaj7/B
}};

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_prelude OUT.mid\n");
    return 1;
  }
  continuo::midi::smf_file file;
  file.format = 1;
  file.division = continuo::midi::division::metrical(ppq);

  file.begin_track();                               // the conductor track: 66 bpm, 4/4, C major
  const std::uint8_t tempo[] = {0x0D, 0xDE, 0x6A};  // 909,090 microseconds per quarter
  const std::uint8_t meter[] = {4, 2, 24, 8};
  const std::uint8_t key[] = {0, 0};
  file.append({0, 0xFF, continuo::midi::meta::tempo, 0}, tempo);
  file.append({0, 0xFF, continuo::midi::meta::time_signature, 0}, meter);
  file.append({0, 0xFF, continuo::midi::meta::key_signature, 0}, key);
  file.append({8 * bar_tick, 0xFF, continuo::midi::meta::end_of_track, 0});

  // The piano: events are collected per tick and appended in tick order.
  std::vector<event> piano;
  for (std::size_t bar = 0; bar < chords.size(); ++bar) {
    const auto& c = chords[bar];
    const continuo::tick_t start = static_cast<continuo::tick_t>(bar) * bar_tick;
    piano.push_back({start + 10, 0xB0, 64, 100});  // pedal caught just after the downbeat
    piano.push_back({start + bar_tick - 20, 0xB0, 64, 0});
    for (int half = 0; half < 2; ++half) {
      const continuo::tick_t at = start + half * 8 * sixteenth_tick;
      constexpr std::array<int, 8> pattern{0, 1, 2, 3, 4, 2, 3, 4};
      for (int step = 0; step < 8; ++step) {
        const int voice = pattern[static_cast<std::size_t>(step)];
        const continuo::tick_t on = at + step * sixteenth_tick;
        // The two lowest notes are held through the half bar; the others last a sixteenth.
        const continuo::tick_t off = voice < 2 ? at + 8 * sixteenth_tick - 10 : on + sixteenth_tick - 10;
        const auto velocity = static_cast<std::uint8_t>(52 + 6 * (step == 0) + 3 * (voice == 4) - half * 2);
        piano.push_back({on, 0x90, c[static_cast<std::size_t>(voice)], velocity});
        piano.push_back({off, 0x80, c[static_cast<std::size_t>(voice)], 40});
      }
    }
  }
  std::stable_sort(piano.begin(), piano.end(), [](const event& a, const event& b) { return a.tick() < b.tick(); });
  file.begin_track();
  const std::uint8_t name[] = {'P', 'i', 'a', 'n', 'o'};
  file.append({0, 0xFF, continuo::midi::meta::track_name, 0}, name);
  for (const auto& e : piano) file.append(e);
  file.append({8 * bar_tick, 0xFF, continuo::midi::meta::end_of_track, 0});

  continuo::save_file(argv[1], continuo::midi::write_smf(file));
  std::printf("wrote %zu events to %s\n", file.events.size(), argv[1]);
  return 0;
} catch (const continuo::error& e) {
  std::fprintf(stderr, "write_prelude: %s\n", e.what());
  return 1;
}

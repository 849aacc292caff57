// A downstream program: builds a small Standard MIDI File in code, reads it with continuo, writes
// it back and checks what it finds. Exits 0 when everything is as expected.

#include <continuo/continuo.hpp>

#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  // Format 0, one track, 96 ticks per quarter note: a tempo of 500000 us per quarter (120 bpm),
  // middle C for one quarter note, end of track.
  // clang-format off
  const std::vector<std::uint8_t> bytes{
      'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0, 96,  // header
      'M', 'T', 'r', 'k', 0, 0, 0, 19,                    // track of 19 bytes
      0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,           // tempo
      0x00, 0x90, 60, 100,                                // note on
      0x60, 0x80, 60, 64,                                 // note off, 96 ticks later
      0x00, 0xFF, 0x2F, 0x00,                             // end of track
  };
  // clang-format on

  const auto file = continuo::midi::read_smf(bytes);
  expect(file.status == continuo::read_status::ok, "read_smf reads the file without diagnostics");
  expect(file.format == 0 && file.tracks.size() == 1, "format 0 with one track");
  expect(!file.division.is_smpte() && file.division.ticks_per_quarter() == 96, "96 ticks per quarter note");
  expect(file.events.size() == 4, "four events");

  continuo::performance_options options;
  options.read.strict = true;
  const auto perf = continuo::read_performance(bytes, options);
  expect(perf.status == continuo::read_status::ok, "read_performance reads the file strictly");
  const auto& notes = perf.notes;
  expect(notes.size() == 1, "one note");
  if (notes.size() == 1) {
    expect(notes.pitch[0] == 60 && notes.velocity[0] == 100 && notes.channel[0] == 0, "middle C, velocity 100");
    expect(notes.onset_tick[0] == 0 && notes.offset_tick[0] == 96, "from tick 0 to tick 96");
    expect(notes.onset_s[0] == 0.0 && notes.offset_s[0] == 0.5, "from 0 s to 0.5 s at 120 bpm");
  }

  const auto written = continuo::midi::write_performance(perf);
  const auto again = continuo::read_performance(written, options);
  expect(again.status == continuo::read_status::ok && again.notes == perf.notes, "the notes survive a write");

  expect(std::string_view(continuo::version()) == CONSUMER_EXPECTED_VERSION,
         "continuo::version() is the package's version");

  if (failures != 0) return 1;
  std::printf("consumer: continuo %s works\n", continuo::version());
  return 0;
}

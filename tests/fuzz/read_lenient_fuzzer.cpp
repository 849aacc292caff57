// Lenient reading: read_smf, and read_performance with every pairing policy, with and without
// sustain.
//
// Checks, besides ASan and UBSan: the invariants of fuzz_support.hpp for every read; that every
// pairing policy finds the same number of notes; that extend_by_sustain is idempotent and keeps
// the notes; and that the events survive write_smf: re-reading the written bytes gives the same
// events, with an end-of-track added to any track that lacked one.

#include "fuzz_support.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

using namespace continuo;

/// Checks that read_smf(write_smf(file)) holds the events of `file`, track by track.
void check_event_round_trip(const midi::smf_file& file) {
  const auto written = midi::write_smf(file);
  const auto again = midi::read_smf(written);  // default limits: the output may hold a few more events
  fuzz::check(again.status != read_status::invalid, "write_smf's output is readable", again.diagnostics);
  fuzz::check(again.tracks.size() == file.tracks.size(), "write_smf keeps the tracks", again.diagnostics);
  for (std::size_t t = 0; t < file.tracks.size(); ++t) {
    const auto before = file.track_events(t);
    const auto after = again.track_events(t);
    const bool ended = !before.empty() && before.back().is_meta() && before.back().data1() == midi::meta::end_of_track;
    fuzz::check(after.size() == before.size() + (ended ? 0 : 1), "write_smf ends every track once");
    for (std::size_t i = 0; i < before.size(); ++i) {
      const auto& a = before[i];
      const auto& b = after[i];
      fuzz::check(a == b, "write_smf keeps every event");
      const auto pa = file.payload(file.tracks[t].first + i);
      const auto pb = again.payload(again.tracks[t].first + i);
      fuzz::check(std::equal(pa.begin(), pa.end(), pb.begin(), pb.end()), "write_smf keeps every payload");
    }
    if (!ended) {
      const auto& eot = after.back();
      fuzz::check(eot.is_meta() && eot.data1() == midi::meta::end_of_track &&
                      eot.tick() == (before.empty() ? 0 : before.back().tick()),
                  "write_smf ends an unended track at its last event");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto lenient = fuzz::read_options(false);
  const auto file = midi::read_smf(bytes, lenient);
  fuzz::check_file(file, lenient, size);
  if (file.status != read_status::invalid) check_event_round_trip(file);

  std::size_t notes = 0;
  bool first = true;
  for (const auto pairing : fuzz::all_pairings) {
    performance_options options;
    options.read = lenient;
    options.pairing = pairing;
    const auto perf = read_performance(bytes, options);
    fuzz::check_performance(perf, options, file, size);
    if (first) notes = perf.notes.size();
    first = false;
    fuzz::check(perf.notes.size() == notes, "every pairing policy finds the same notes");

    options.note_seconds = false;
    auto ticks_only = read_performance(bytes, options);
    fuzz::check(ticks_only.notes.onset_s.empty() && ticks_only.notes.offset_s.empty(),
                "a read in ticks only leaves the notes' seconds empty");
    add_note_seconds(ticks_only);
    fuzz::check(ticks_only == perf, "a read in ticks only, given its seconds, equals the full read");
    options.note_seconds = true;

    options.sustain = true;
    const auto sustained = read_performance(bytes, options);
    fuzz::check_performance(sustained, options, file, size);
    fuzz::check(sustained.pedals == perf.pedals && sustained.controls == perf.controls,
                "sustain changes only the notes");
    auto twice = sustained;
    extend_by_sustain(twice);
    fuzz::check(twice == sustained, "extend_by_sustain is idempotent");
  }
  return 0;
}

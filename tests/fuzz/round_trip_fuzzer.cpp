// The read -> write -> read round trip, under every pairing policy.
//
// For each policy: a lenient read_performance; unless "invalid", write_performance with that
// pairing, read the bytes back with the same options, and check that the notes, pedals, controls,
// programs and pitch bends are those of the first read, and that writing the re-read performance
// gives the very same bytes.

#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

namespace {

using namespace continuo;

void print_note(const char* read, const note_columns& n, std::size_t i) {
  if (i >= n.size()) {
    std::fprintf(stderr, "  %s read: no note %zu (it has %zu)\n", read, i, n.size());
    return;
  }
  std::fprintf(
      stderr,
      "  %s read: note %zu: pitch %u, channel %u, track %u, ticks %lld-%lld (%.17g-%.17g s), velocity %u, release %u\n",
      read, i, n.pitch[i], n.channel[i], n.track[i], static_cast<long long>(n.onset_tick[i]),
      static_cast<long long>(n.offset_tick[i]), n.onset_s[i], n.offset_s[i], n.velocity[i], n.release_velocity[i]);
}

/// Prints the first note that differs between two reads, to start the search for the cause.
void explain_notes(const performance& first, const performance& second) {
  const auto& a = first.notes;
  const auto& b = second.notes;
  const auto same = [&](std::size_t i) {
    return a.onset_tick[i] == b.onset_tick[i] && a.offset_tick[i] == b.offset_tick[i] && a.onset_s[i] == b.onset_s[i] &&
           a.offset_s[i] == b.offset_s[i] && a.pitch[i] == b.pitch[i] && a.velocity[i] == b.velocity[i] &&
           a.release_velocity[i] == b.release_velocity[i] && a.channel[i] == b.channel[i] && a.track[i] == b.track[i];
  };
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && same(i)) ++i;
  print_note("first", a, i);
  print_note("second", b, i);
  if (first.tempo != second.tempo) {
    std::fprintf(stderr, "  the tempo maps differ too: %zu and %zu changes\n", first.tempo.changes().size(),
                 second.tempo.changes().size());
  }
}

/// Prints where two byte strings first differ.
void explain_bytes(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::fprintf(stderr, "  %zu and %zu bytes, first difference at byte %zu\n", a.size(), b.size(), i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  for (const auto pairing : fuzz::all_pairings) {
    performance_options options;
    options.read = fuzz::read_options(false);
    options.pairing = pairing;
    const auto first = read_performance(bytes, options);
    if (first.status == read_status::invalid) continue;

    midi::write_options write;
    write.pairing = pairing;
    std::vector<std::uint8_t> written;
    std::vector<std::uint8_t> rewritten;
    performance second;
    try {
      written = midi::write_performance(first, write);
      // The output may hold a few more events than the input (an end-of-track per track, the
      // tempo at tick 0), so it is read back without the small limits.
      auto reread = options;
      reread.read.limits = midi::read_limits{};
      second = read_performance(written, reread);
      rewritten = midi::write_performance(second, write);
    } catch (const error& e) {
      std::fprintf(stderr, "pairing %s: %s\n", name(pairing).data(), e.what());
      fuzz::fail("write_performance throws on a performance that was read", first.diagnostics);
    }
    const auto context = [&](const char* what) {
      std::fprintf(stderr, "pairing %s: %s differ after write and read\n", name(pairing).data(), what);
    };
    const auto broken = [&] { fuzz::fail("the round trip changes the performance", first.diagnostics); };
    if (second.status == read_status::invalid) {
      context("status");
      fuzz::fail("the written bytes read back as invalid", second.diagnostics);
    }
    if (second.notes != first.notes) {
      context("notes");
      explain_notes(first, second);
      broken();
    }
    if (second.pedals != first.pedals) context("pedals"), broken();
    if (second.controls != first.controls) context("controls"), broken();
    if (second.programs != first.programs) context("programs"), broken();
    if (second.pitch_bends != first.pitch_bends) context("pitch bends"), broken();
    if (rewritten != written) {
      context("the bytes written from the re-read performance");
      explain_bytes(written, rewritten);
      if (first.tempo != second.tempo) {
        std::fprintf(stderr, "  the tempo maps differ: %zu and %zu changes\n", first.tempo.changes().size(),
                     second.tempo.changes().size());
      }
      broken();
    }
  }
  return 0;
}

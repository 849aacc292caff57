#pragma once
// Helpers shared by the libFuzzer targets: small read limits, and checks of the invariants that
// every read must keep, whatever the input. A broken invariant prints what broke and aborts, so
// libFuzzer reports the input as a crash and saves it.

#include <continuo/continuo.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace continuo::fuzz {

/// Limits small enough that one input cannot take long, yet reachable by the fuzzer, so the
/// limit paths are fuzzed too. max_tick stays under 2^28, the largest delta the writer encodes.
inline midi::read_limits small_limits() {
  midi::read_limits limits;
  limits.max_events = std::uint64_t{1} << 14U;
  limits.max_tick = tick_t{1} << 24U;
  limits.max_tracks = 16;
  limits.max_diagnostics = 32;
  return limits;
}

inline midi::read_options read_options(bool strict) {
  midi::read_options options;
  options.strict = strict;
  options.limits = small_limits();
  return options;
}

inline constexpr pairing_policy all_pairings[] = {pairing_policy::fifo, pairing_policy::lifo,
                                                  pairing_policy::close_all};

/// Prints what broke, with the diagnostics of the read, and aborts.
[[noreturn]] inline void fail(std::string_view what, std::span<const diagnostic> diagnostics = {}) {
  std::fprintf(stderr, "continuo fuzz: invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  for (const auto& d : diagnostics) std::fprintf(stderr, "  %s\n", to_string(d).c_str());
  std::abort();
}

inline void check(bool ok, std::string_view what, std::span<const diagnostic> diagnostics = {}) {
  if (!ok) fail(what, diagnostics);
}

/// Checks the grading: "ok" exactly when there is no diagnostic, never more diagnostics than the
/// limit (plus the one that says so), offsets inside the input.
inline void check_grading(read_status status, std::span<const diagnostic> diagnostics,
                          const midi::read_options& options, std::size_t input_size) {
  check((status == read_status::ok) == diagnostics.empty(), "status is ok exactly when there is no diagnostic",
        diagnostics);
  check(diagnostics.size() <= std::size_t{options.limits.max_diagnostics} + 1, "diagnostics within max_diagnostics + 1",
        diagnostics);
  for (const auto& d : diagnostics) {
    check(d.offset <= input_size, "diagnostic offset inside the input", diagnostics);
    check(d.track >= -1, "diagnostic track is -1 or a track index", diagnostics);
    check(!name(d.id).empty() && !d.message.empty(), "diagnostic has a name and a message", diagnostics);
  }
}

/// Checks the structure of an event-level read: contiguous track ranges, ticks in order and within
/// the limit, valid channel messages, payloads inside payload_bytes.
inline void check_file(const midi::smf_file& file, const midi::read_options& options, std::size_t input_size) {
  const auto& diags = file.diagnostics;
  check_grading(file.status, diags, options, input_size);
  // read_performance may add model diagnostics (notes_not_closed) to a strict read, but the
  // decoder itself either stops at a violation or finds none.
  check(!options.strict || file.status != read_status::repaired, "strict reads are never 'repaired'", diags);
  check(file.format <= 2, "format is 0, 1 or 2", diags);
  check(file.tracks.size() <= options.limits.max_tracks, "tracks within max_tracks", diags);
  check(file.events.size() <= options.limits.max_events, "events within max_events", diags);
  std::uint64_t next = 0;
  for (std::size_t t = 0; t < file.tracks.size(); ++t) {
    check(file.tracks[t].first == next, "track ranges are contiguous", diags);
    next += file.tracks[t].count;
    check(next <= file.events.size(), "track ranges inside events", diags);
    const auto events = file.track_events(t);
    tick_t previous = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      check(e.tick() >= previous && e.tick() <= options.limits.max_tick, "ticks non-decreasing and within max_tick",
            diags);
      previous = e.tick();
      if (e.is_channel()) {
        check(e.data1() < 0x80 && e.data2() < 0x80, "channel data bytes under 0x80", diags);
        check((e.status() & 0xE0U) != 0xC0 || e.data2() == 0, "one-byte messages have data2 == 0", diags);
        continue;
      }
      check(e.is_meta() || e.is_sysex(), "only channel, meta and sysex events are stored", diags);
      if (e.is_meta() && e.data1() == midi::meta::end_of_track) {
        check(i + 1 == events.size(), "end-of-track is the last event of its track", diags);
      }
    }
  }
  // One payload span per meta and sysex event, in event order, each inside payload_bytes.
  std::size_t with_payload = 0;
  for (std::size_t i = 0; i < file.events.size(); ++i) {
    const auto& e = file.events[i];
    if (!e.is_meta() && !e.is_sysex()) continue;
    check(with_payload < file.payload_spans.size() && file.payload_spans[with_payload].event == i,
          "every meta and sysex event has its payload span, in order", diags);
    const auto& span = file.payload_spans[with_payload++];
    check(span.offset <= file.payload_bytes.size() && span.size <= file.payload_bytes.size() - span.offset,
          "payload span inside payload_bytes", diags);
  }
  check(with_payload == file.payload_spans.size(), "no payload span without its event", diags);
  check(next == file.events.size(), "track ranges cover every event", diags);
}

/// Counts the channel messages of `file` whose high nibble is `kind` (and, for note-ons, a
/// non-zero velocity).
inline std::size_t count_messages(const midi::smf_file& file, unsigned kind) {
  return static_cast<std::size_t>(std::count_if(file.events.begin(), file.events.end(), [kind](const midi::event& e) {
    return e.is_channel() && (e.status() >> 4U) == kind && (kind != 0x9 || e.data2() != 0);
  }));
}

/// Checks a performance against the event-level read of the same bytes with the same read options:
/// the same grading (the same decoder), the same events, and well-formed, sorted columns.
inline void check_performance(const performance& perf, const performance_options& options, const midi::smf_file& file,
                              std::size_t input_size) {
  const auto& diags = perf.diagnostics;
  check_grading(perf.status, diags, options.read, input_size);
  check(diags.size() >= file.diagnostics.size() &&
            std::equal(file.diagnostics.begin(), file.diagnostics.end(), diags.begin()),
        "read_performance reports read_smf's diagnostics first", diags);
  const bool file_invalid = file.status == read_status::invalid;
  check(file_invalid == (perf.status == read_status::invalid), "both readers agree on 'invalid'", diags);
  check(file.status != read_status::repaired || perf.status == read_status::repaired,
        "both readers agree on 'repaired'", diags);
  check(perf.track_count == file.tracks.size(), "track_count is the number of tracks read_smf read", diags);
  if (file_invalid && perf.track_count == 0) return;
  check(perf.event_count == file.events.size(), "event_count is the number of events read_smf read", diags);

  const auto& n = perf.notes;
  const std::size_t size = n.size();
  check(n.onset_tick.size() == size && n.offset_tick.size() == size && n.onset_s.size() == size &&
            n.offset_s.size() == size && n.velocity.size() == size && n.release_velocity.size() == size &&
            n.channel.size() == size && n.track.size() == size,
        "note columns have one size", diags);
  check(size == count_messages(file, 0x9), "one note per note-on", diags);
  for (std::size_t i = 0; i < size; ++i) {
    check(n.onset_tick[i] >= 0 && n.onset_tick[i] <= n.offset_tick[i], "0 <= onset <= offset", diags);
    check(n.offset_tick[i] <= perf.duration_tick, "notes end by duration_tick", diags);
    check(n.pitch[i] < 128 && n.velocity[i] >= 1 && n.velocity[i] < 128 && n.release_velocity[i] < 128 &&
              n.channel[i] < 16 && n.track[i] < perf.track_count,
          "note fields in range", diags);
    check(n.onset_s[i] == perf.tempo.to_seconds(n.onset_tick[i]) &&
              n.offset_s[i] == perf.tempo.to_seconds(n.offset_tick[i]),
          "note seconds are tempo.to_seconds(tick)", diags);
    if (i > 0) {
      const auto key = [&n](std::size_t j) {
        return std::tie(n.onset_tick[j], n.pitch[j], n.channel[j], n.track[j], n.offset_tick[j], n.velocity[j],
                        n.release_velocity[j]);
      };
      check(!(key(i) < key(i - 1)), "notes sorted by onset, pitch, channel, track, offset, velocities", diags);
    }
  }
  for (std::size_t i = 0; i < perf.pedals.size(); ++i) {
    const auto& p = perf.pedals[i];
    check(p.onset_tick <= p.offset_tick && p.offset_tick <= perf.duration_tick, "pedal spans in order", diags);
    check(p.kind == pedal_kind::sustain || p.kind == pedal_kind::sostenuto || p.kind == pedal_kind::soft,
          "pedal kind valid", diags);
    if (i > 0) {
      const auto& q = perf.pedals[i - 1];
      check(std::tie(q.onset_tick, q.kind, q.channel, q.track) <= std::tie(p.onset_tick, p.kind, p.channel, p.track),
            "pedals sorted by onset, kind, channel, track", diags);
    }
  }
  check(perf.controls.size() == (options.keep_controls ? count_messages(file, 0xB) : 0), "one control per CC", diags);
  check(perf.programs.size() == count_messages(file, 0xC), "one program per program change", diags);
  check(perf.pitch_bends.size() == count_messages(file, 0xE), "one pitch bend per bend message", diags);
  check(!perf.tempo.changes().empty() && perf.tempo.changes().front().tick == 0, "the tempo map starts at tick 0",
        diags);
  check(perf.duration_s == perf.tempo.to_seconds(perf.duration_tick), "duration_s is to_seconds(duration_tick)", diags);
}

}  // namespace continuo::fuzz

#include <continuo/diagnostic.hpp>
#include <continuo/midi/writer.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <span>
#include <string>
#include <tuple>

namespace continuo::midi {
namespace {

constexpr std::uint32_t max_vlq = 0x0FFF'FFFF;
__extension__ using int128 = __int128;  // tick * ppq products of 64-bit ticks

void put_vlq(std::vector<std::uint8_t>& out, std::uint32_t value) {
  std::uint8_t buffer[4];
  int n = 0;
  do {
    buffer[n++] = static_cast<std::uint8_t>(value & 0x7FU);
    value >>= 7U;
  } while (value != 0);
  while (n > 1) out.push_back(static_cast<std::uint8_t>(buffer[--n] | 0x80U));
  out.push_back(buffer[0]);
}

void put_tag(std::vector<std::uint8_t>& out, const char (&tag)[5]) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(tag[i]));
}

void put_be(std::vector<std::uint8_t>& out, std::uint32_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

/// One event on its way into a track. The events of all tracks are sorted together by `where`
/// (the output track, then the tick) and `order` (the class of event at one tick, then a rank
/// within the class; see to_smf). No two events share both keys, so a sort in place, which needs
/// no buffer, gives the one order there is. 24 bytes an event: with a vector of data beside each
/// and a stable sort's buffer, `continuo convert` held 36-45 times the size of a file of pedal or
/// program changes (22-24 now: bench/README.md, "Writing").
struct pending {
  std::uint64_t where;
  std::uint64_t order;
  event e;
  friend bool operator<(const pending& a, const pending& b) {
    return std::tie(a.where, a.order) < std::tie(b.where, b.order);
  }
};

constexpr unsigned track_shift = 40;  // where = track << 40 | tick: ticks take 40 bits
constexpr unsigned class_shift = 56;  // order = class << 56 | (rank + rank_bias)
constexpr std::int64_t rank_bias = std::int64_t{1} << 54U;

/// The data bytes a conductor event (tempo, time or key signature) of `type` holds.
constexpr std::size_t conductor_data_size(std::uint8_t type) {
  return type == meta::tempo ? 3 : type == meta::time_signature ? 4 : 2;
}

}  // namespace

std::vector<std::uint8_t> write_smf(const smf_file& file, bool running_status) {
  std::vector<std::uint8_t> out;
  out.reserve(14 + file.events.size() * 3 + file.payload_bytes.size() + file.tracks.size() * 12);
  put_tag(out, "MThd");
  put_be(out, 6, 4);
  put_be(out, file.format, 2);
  put_be(out, static_cast<std::uint32_t>(file.tracks.size()), 2);
  put_be(out, file.division.raw, 2);
  for (std::size_t t = 0; t < file.tracks.size(); ++t) {
    put_tag(out, "MTrk");
    put_be(out, 0, 4);  // the length, patched below
    const std::size_t start = out.size();
    tick_t previous = 0;
    std::uint8_t running = 0;
    const auto events = file.track_events(t);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const event& e = events[i];
      const bool end_of_track = e.is_meta() && e.data1() == meta::end_of_track;
      if (end_of_track && i + 1 != events.size()) continue;  // only the last one ends the track
      if (e.tick() < previous) {
        throw error("track " + std::to_string(t) + ", event " + std::to_string(i) + " at tick " +
                    std::to_string(e.tick()) + " comes before the event ahead of it, at tick " +
                    std::to_string(previous) + ": a track's events must be in tick order");
      }
      // A delta holds at most 2^28 - 1 ticks: a longer silence (39 hours at 960 PPQ and 120 bpm, 68
      // minutes at 32,767 PPQ) is bridged by empty text events, which every reader skips.
      for (; e.tick() - previous > max_vlq; previous += max_vlq) {
        put_vlq(out, max_vlq);
        put_be(out, 0xFF'01'00U, 3);  // text event, no text
        running = 0;
      }
      put_vlq(out, static_cast<std::uint32_t>(e.tick() - previous));
      previous = e.tick();
      if (e.is_channel()) {
        if (!running_status || e.status() != running) out.push_back(e.status());
        running = e.status();
        out.push_back(e.data1() & 0x7FU);
        if ((e.status() & 0xE0U) != 0xC0) out.push_back(e.data2() & 0x7FU);
        continue;
      }
      const auto data = file.payload(file.tracks[t].first + i);
      out.push_back(e.status());
      if (e.is_meta()) out.push_back(e.data1());
      put_vlq(out, static_cast<std::uint32_t>(std::min<std::size_t>(data.size(), max_vlq)));
      out.insert(out.end(), data.begin(),
                 data.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(data.size(), max_vlq)));
      running = 0;  // meta and sysex events cancel running status
    }
    if (events.empty() || !(events.back().is_meta() && events.back().data1() == meta::end_of_track)) {
      put_be(out, 0x00FF'2F00U, 4);  // delta 0, end of track
    }
    const auto length = static_cast<std::uint32_t>(out.size() - start);
    for (int i = 0; i < 4; ++i)
      out[start - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
  }
  return out;
}

smf_file to_smf(const performance& perf, const write_options& options) {
  if (options.format > 1) throw error("write_options::format must be 0 or 1, not " + std::to_string(options.format));
  const division source = perf.tempo.division();
  const division target = options.ticks_per_quarter == 0 ? source : division::metrical(options.ticks_per_quarter);
  const auto rescale = [&](tick_t tick) -> tick_t {
    if (target == source) return tick;
    if (source.is_smpte()) {  // to the default 120 bpm: two quarter notes per second
      return std::llround(perf.tempo.to_seconds(tick) * 2.0 * target.ticks_per_quarter());
    }
    const int128 num = static_cast<int128>(tick) * target.ticks_per_quarter() * 2 + source.ticks_per_quarter();
    return static_cast<tick_t>(num / (2 * static_cast<int128>(source.ticks_per_quarter())));
  };

  std::size_t track_count = std::max<std::size_t>(perf.track_count, 1);
  const auto& notes = perf.notes;
  for (const auto t : notes.track) track_count = std::max<std::size_t>(track_count, t + 1U);
  for (const auto& c : perf.controls) track_count = std::max<std::size_t>(track_count, c.track + 1U);
  for (const auto& p : perf.pedals) track_count = std::max<std::size_t>(track_count, p.track + 1U);
  for (const auto& p : perf.programs) track_count = std::max<std::size_t>(track_count, p.track + 1U);
  for (const auto& b : perf.pitch_bends) track_count = std::max<std::size_t>(track_count, b.track + 1U);
  if (options.format == 0) track_count = 1;
  const auto out_track = [&](std::uint16_t track) -> std::size_t { return options.format == 0 ? 0 : track; };

  // Classes of simultaneous events, in the order they are written at one tick. Note-offs of notes
  // that began earlier come before new notes, and zero-length notes are written on-then-off before
  // longer ones, so a reader with the same pairing policy pairs them as they were.
  enum : std::uint64_t {
    conductor,
    program,
    pedal_up,
    control,
    pedal_zero,
    pedal_down,
    bend,
    note_off,
    zero_length,
    note_on
  };
  std::vector<pending> events;
  events.reserve(perf.tempo.changes().size() + perf.time_signatures.size() + perf.key_signatures.size() +
                 perf.programs.size() + perf.controls.size() + 2 * perf.pedals.size() + perf.pitch_bends.size() +
                 2 * notes.size());
  const auto add = [&](std::size_t track, tick_t tick, std::uint64_t order, std::int64_t rank, event e) {
    const tick_t at = rescale(tick);
    if (at < 0 || at > event::max_tick) {
      throw error("tick " + std::to_string(tick) + " (" + std::to_string(at) +
                  " in the output's division) is outside 0 to 2^40 - 1, what an event holds");
    }
    events.push_back({(std::uint64_t{track} << track_shift) | static_cast<std::uint64_t>(at),
                      (order << class_shift) | static_cast<std::uint64_t>(rank + rank_bias), e.at(at)});
  };

  // The conductor's data, 4 bytes a slot; an event's rank is its slot, which also keeps the order
  // in which they are added: tempo changes, then time signatures, then key signatures.
  std::vector<std::uint8_t> conductor_data;
  const auto add_conductor = [&](tick_t tick, std::uint8_t type, std::array<std::uint8_t, 4> data) {
    const auto slot = static_cast<std::int64_t>(conductor_data.size() / data.size());
    add(0, tick, conductor, slot, {0, 0xFF, type, 0});
    conductor_data.insert(conductor_data.end(), data.begin(), data.end());
  };
  if (!target.is_smpte()) {
    for (const auto& c : perf.tempo.changes()) {
      const auto us = c.us_per_quarter;
      add_conductor(c.tick, meta::tempo,
                    {static_cast<std::uint8_t>(us >> 16U), static_cast<std::uint8_t>(us >> 8U),
                     static_cast<std::uint8_t>(us), 0});
    }
  }
  for (const auto& s : perf.time_signatures) {
    add_conductor(s.tick, meta::time_signature,
                  {s.numerator, static_cast<std::uint8_t>(std::countr_zero(static_cast<unsigned>(s.denominator))),
                   s.clocks_per_click, s.thirty_seconds_per_quarter});
  }
  for (const auto& k : perf.key_signatures) {
    add_conductor(k.tick, meta::key_signature,
                  {static_cast<std::uint8_t>(k.sharps), static_cast<std::uint8_t>(k.minor ? 1 : 0), 0, 0});
  }
  std::int64_t seq = 0;
  for (const auto& p : perf.programs) {
    add(out_track(p.track), p.tick, program, seq++, {0, static_cast<std::uint8_t>(0xC0U | p.channel), p.program, 0});
  }
  // Pedal spans are written as controller messages only where the controls do not already hold
  // that controller (a performance read with keep_controls = false).
  bool in_controls[16][128] = {};
  for (const auto& c : perf.controls) {
    in_controls[c.channel & 0xFU][c.number & 0x7FU] = true;
    add(out_track(c.track), c.tick, control, seq++,
        {0, static_cast<std::uint8_t>(0xB0U | c.channel), c.number, c.value});
  }
  for (const auto& p : perf.pedals) {
    const auto number = static_cast<std::uint8_t>(p.kind);
    if (in_controls[p.channel & 0xFU][number]) continue;
    const auto status = static_cast<std::uint8_t>(0xB0U | p.channel);
    const bool zero = rescale(p.onset_tick) == rescale(p.offset_tick);
    add(out_track(p.track), p.onset_tick, zero ? pedal_zero : pedal_down, seq++, {0, status, number, 127});
    add(out_track(p.track), p.offset_tick, zero ? pedal_zero : pedal_up, seq++, {0, status, number, 0});
  }
  for (const auto& b : perf.pitch_bends) {
    const auto v = static_cast<unsigned>(b.value + 8192);
    add(out_track(b.track), b.tick, bend, seq++,
        {0, static_cast<std::uint8_t>(0xE0U | b.channel), static_cast<std::uint8_t>(v & 0x7FU),
         static_cast<std::uint8_t>((v >> 7U) & 0x7FU)});
  }
  // The position at which each note is opened among notes of its key. fifo (and close_all) open
  // in note order and close in the same order. lifo opens each group of notes struck on one tick
  // in reverse (so the one sorted first, which ends first, is on top of the stack) and closes in
  // the reverse of the opening order.
  const bool lifo = options.pairing == pairing_policy::lifo;
  std::vector<std::int64_t> opened(notes.size());
  for (std::size_t first = 0; first < notes.size();) {
    std::size_t last = first;
    while (last < notes.size() && rescale(notes.onset_tick[last]) == rescale(notes.onset_tick[first])) ++last;
    for (std::size_t i = first; i < last; ++i) opened[i] = static_cast<std::int64_t>(lifo ? first + last - 1 - i : i);
    first = last;
  }
  for (std::size_t i = 0; i < notes.size(); ++i) {
    const auto track = out_track(notes.track[i]);
    const auto on = static_cast<std::uint8_t>(0x90U | notes.channel[i]);
    // A release velocity of 64 is what a note-on of velocity 0 means: write it so, for running status.
    const std::uint8_t release = notes.release_velocity[i];
    const event off = release == 64
                          ? event{0, on, notes.pitch[i], 0}
                          : event{0, static_cast<std::uint8_t>(0x80U | notes.channel[i]), notes.pitch[i], release};

    if (rescale(notes.onset_tick[i]) == rescale(notes.offset_tick[i])) {
      add(track, notes.onset_tick[i], zero_length, 2 * static_cast<std::int64_t>(i),
          {0, on, notes.pitch[i], notes.velocity[i]});
      add(track, notes.offset_tick[i], zero_length, 2 * static_cast<std::int64_t>(i) + 1, off);
      continue;
    }
    add(track, notes.onset_tick[i], note_on, opened[i], {0, on, notes.pitch[i], notes.velocity[i]});
    add(track, notes.offset_tick[i], note_off, lifo ? -opened[i] : opened[i], off);
  }
  std::vector<std::int64_t>().swap(opened);
  std::sort(events.begin(), events.end());

  smf_file file;
  file.format = options.format;
  file.division = target;
  file.events.reserve(events.size() + track_count);
  file.payload_bytes.reserve(conductor_data.size());
  const tick_t end = rescale(perf.duration_tick);
  auto next = events.cbegin();
  for (std::uint64_t track = 0; track < track_count; ++track) {
    file.begin_track();
    tick_t last = 0;
    for (; next != events.cend() && next->where >> track_shift == track; ++next) {
      const event& e = next->e;
      if (e.is_meta()) {
        const auto slot = static_cast<std::size_t>(
            static_cast<std::int64_t>(next->order & ((std::uint64_t{1} << class_shift) - 1)) - rank_bias);
        file.append(e, std::span(conductor_data).subspan(4 * slot, conductor_data_size(e.data1())));
      } else {
        file.append(e);
      }
      last = e.tick();
    }
    // Every track lasts to the end of the performance, so a pedal held at the end stays held there.
    file.append({std::max(end, last), 0xFF, meta::end_of_track});
  }
  return file;
}

std::vector<std::uint8_t> write_performance(const performance& perf, const write_options& options) {
  return write_smf(to_smf(perf, options), options.running_status);
}

}  // namespace continuo::midi

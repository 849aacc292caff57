#pragma once
// The one SMF decoder behind read_smf and read_performance. It walks the chunks of a file and the
// events of each track once, in a single forward pass, and hands every event to a handler whose
// calls are inlined (a template parameter, so the performance builder pays no virtual call per
// event). All validation and repair lives here, so both readers grade files identically.
//
// Budgets: the loop advances at least one byte per iteration, so work is linear in the input; the
// decoder allocates nothing itself, and handlers store at most a constant per event.

#include <continuo/diagnostic.hpp>
#include <continuo/midi/reader.hpp>
#include <continuo/midi/smf.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace continuo::midi::detail {

/// Collects diagnostics up to the limit and decides whether reading goes on.
class reporter {
 public:
  reporter(std::vector<diagnostic>& out, const read_options& options) noexcept
      : out_(&out), max_(options.limits.max_diagnostics), strict_(options.strict) {}

  /// Records a violation of the specification. Returns true when reading may go on (lenient).
  /// `message` says what was wrong, then, after its last "; ", the lenient repair; a strict read
  /// makes no repair, so there the message says that reading stopped instead.
  bool violation(diagnostic_id id, std::uint64_t offset, std::int32_t track, std::string&& message) {
    if (strict_) {
      const auto repair = message.rfind("; ");
      if (repair != std::string::npos) message.resize(repair);
      message += "; strict reading stops here";
      invalid_ = true;
    }
    add(id, offset, track, std::move(message));
    return !strict_;
  }
  /// Records a problem that leaves nothing usable: the status becomes invalid.
  void fatal(diagnostic_id id, std::uint64_t offset, std::int32_t track, std::string&& message) {
    add(id, offset, track, std::move(message));
    invalid_ = true;
  }
  /// Records a limit that was hit; reading stops but what was read stays usable.
  void limit(diagnostic_id id, std::uint64_t offset, std::int32_t track, std::string&& message) {
    violation(id, offset, track, std::move(message));
  }

  /// Ends the read: the limit diagnostic, if one was given, says how many more were found.
  [[nodiscard]] read_status finish() {
    if (dropped_ > 0) {
      out_->at(limit_at_).message = "more than " + std::to_string(max_) + " diagnostics; " + std::to_string(dropped_) +
                                    " more not listed";
    }
    if (invalid_) return read_status::invalid;
    return any_ ? read_status::repaired : read_status::ok;
  }
  [[nodiscard]] bool strict() const noexcept { return strict_; }

 private:
  void add(diagnostic_id id, std::uint64_t offset, std::int32_t track, std::string&& message) {
    any_ = true;
    if (out_->size() < max_) {
      out_->push_back({id, offset, track, std::move(message)});
    } else if (out_->size() == max_) {
      limit_at_ = out_->size();
      out_->push_back({diagnostic_id::diagnostic_limit, offset, track, {}});
      dropped_ = 1;
    } else {
      ++dropped_;
    }
  }

  std::vector<diagnostic>* out_;
  std::uint32_t max_;
  std::size_t limit_at_ = 0;   // where the limit diagnostic is in out_
  std::uint64_t dropped_ = 0;  // diagnostics found past the limit
  bool strict_;
  bool invalid_ = false;
  bool any_ = false;
};

/// The fields of the MThd chunk.
struct header {
  std::uint16_t format = 1;
  std::uint16_t declared_tracks = 0;
  division time_division{};
  std::size_t body_offset = 0;  ///< First byte after the MThd chunk.
  std::size_t end = 0;          ///< One past the last byte of the SMF (a RIFF data chunk may end early).
};

inline std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24U) | (std::uint32_t{p[1]} << 16U) | (std::uint32_t{p[2]} << 8U) | p[3];
}
inline std::uint16_t be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>((p[0] << 8U) | p[1]); }
inline std::string hex(unsigned value) {
  static constexpr char digits[] = "0123456789ABCDEF";
  return {'0', 'x', digits[(value >> 4U) & 0xFU], digits[value & 0xFU]};
}

/// Returns the offset of the first `tag` at or after `from`, or npos.
inline std::size_t find_tag(std::span<const std::uint8_t> in, std::size_t from, const char (&tag)[5]) {
  if (in.size() < 4 || from > in.size() - 4) return std::string::npos;
  const auto* begin = in.data() + from;
  const auto* end = in.data() + in.size();
  const auto* hit = std::search(begin, end, tag, tag + 4,
                                [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
  return hit == end ? std::string::npos : static_cast<std::size_t>(hit - in.data());
}

/// Finds and reads the MThd chunk; returns false when there is nothing usable.
bool read_header(std::span<const std::uint8_t> in, reporter& report, header& out);

/// The outcome of reading a variable-length quantity.
enum class vlq_result : std::uint8_t { ok, too_long, truncated };

/// Reads a VLQ of at most 4 bytes at `p`, advancing `p` past it.
inline vlq_result read_vlq(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t& value) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    if (p == end) return vlq_result::truncated;
    const std::uint8_t b = *p++;
    v = (v << 7U) | (b & 0x7FU);
    if ((b & 0x80U) == 0) {
      value = v;
      return vlq_result::ok;
    }
  }
  return vlq_result::too_long;
}

/// Checks a meta event's length and values; returns false (after reporting) when the event must be
/// dropped. `fps` is the frame rate of SMPTE offsets.
bool check_meta(std::uint8_t type, std::span<const std::uint8_t> data, std::uint64_t offset, std::int32_t track,
                reporter& report, bool& keep_going);

/// What the fast path of decode_track carries from one event to the next.
struct channel_run {
  const std::uint8_t* p;  ///< The next event's first byte.
  tick_t tick;            ///< The last event's tick.
  std::uint8_t running;   ///< The running status.
  std::uint64_t budget;   ///< How many more events the limits allow.
};

/// The fast path of decode_track. Most events are a delta of one or two bytes and a channel
/// message, with or without its status byte: this loop takes those, and leaves anything else
/// (longer deltas, meta and sysex events, damage, limits, the last 4 bytes of the track, from
/// `fast_stop` on) to the full decoder, which takes it one event at a time.
///
/// It is a function of its own, never inlined, so that its few values stay in registers. Inlined
/// into decode_track, beside the slow path's many values, GCC kept the tick, the running status,
/// the budget and the handler in memory and reloaded them at every event; out of line, every level
/// reads 6-9 % faster (bench/README.md).
///
/// The loop is bound by a chain of loads: where the next event starts depends on whether this one
/// has a status byte, which is known only once that byte is loaded. The code keeps that chain short
/// (one shift and two additions after the load, a data byte read even where a one-byte message
/// does not use it: `fast_stop` leaves room for it) and leaves the rest to predicted branches; a
/// branch on the status byte itself, or a delta's length computed without a branch, made it longer
/// or mispredicted (events level 12-33 % slower). So did the status bits taken from a mask of the
/// next 64 bytes' high bits (SSE2 movemask, a shift and a mask instead of the load): 20-22 % slower.
template <class Handler>
[[gnu::noinline]] void decode_channel_run(channel_run& run, const std::uint8_t* const fast_stop, const tick_t max_tick,
                                          Handler& handler) {
  const std::uint8_t* p = run.p;
  tick_t tick = run.tick;
  std::uint8_t running = run.running;
  std::uint64_t budget = run.budget;
  while (p < fast_stop && budget != 0) {
    std::uint32_t delta = p[0];
    const std::uint8_t* message = p + 1;
    if (delta >= 0x80) {
      if (p[1] >= 0x80) break;
      delta = ((delta & 0x7FU) << 7U) | p[1];
      ++message;
    }
    const std::uint32_t first = message[0];
    const std::uint32_t has_status = first >> 7U;
    const std::uint8_t status = has_status != 0 ? static_cast<std::uint8_t>(first) : running;
    if (status < 0x80 || status >= 0xF0) break;
    const std::uint8_t* const data = message + has_status;
    const std::uint8_t data1 = data[0];
    std::uint8_t data2 = data[1];  // within the track: the event starts before fast_stop
    const std::uint8_t* next = data + 2;
    if ((status & 0xE0U) == 0xC0) {  // C0-DF carry one data byte
      data2 = 0;
      --next;
    }
    if (((data1 | data2) & 0x80U) != 0 || tick + delta > max_tick) break;
    tick += delta;
    running = status;
    p = next;
    --budget;
    handler.channel(tick, status, data1, data2, next);
  }
  run = {p, tick, running, budget};
}

/// Walks one track chunk [begin, end) of `in`. Returns false when reading must stop altogether
/// (strict violation or a global limit).
template <class Handler>
bool decode_track(std::span<const std::uint8_t> in, std::size_t begin, std::size_t end, std::int32_t track,
                  const read_limits& limits, reporter& report, std::uint64_t& event_count, std::size_t& events_end,
                  Handler& handler) {
  const std::uint8_t* const base = in.data();
  const std::uint8_t* p = base + begin;
  const std::uint8_t* const stop = base + end;
  const auto at = [base](const std::uint8_t* q) { return static_cast<std::uint64_t>(q - base); };

  // Limits and the event count live in locals for the loop: through the references they would be
  // reloaded after every handler call (the handler's stores might alias them).
  const tick_t max_tick = std::min(limits.max_tick, event::max_tick);
  const std::uint64_t max_events = limits.max_events;
  struct write_back {  // NOLINT(cppcoreguidelines-special-member-functions): a local aggregate, never copied
    std::uint64_t& to;
    std::uint64_t value;
    ~write_back() { to = value; }
  } events{event_count, event_count};

  tick_t tick = 0;
  std::uint8_t running = 0;    // the status that running status would repeat
  std::uint8_t cancelled = 0;  // the status a meta/sysex event cancelled, for tolerant reading
  bool cancelled_reported = false;
  bool keep_going = true;
  std::uint64_t handed = 0;  // the handler's calls for events, which end_track is told
  handler.begin_track(track);

  // The loop's state (tick, p) goes to these two by value: lambdas holding references to it would
  // keep it in memory rather than in registers for the whole loop. `handed` changes once a run of
  // the fast path, not once an event, and goes by reference.
  // Ends the track early (lenient) or the whole read (strict); returns whether reading goes on.
  const auto damaged = [&report, &handler, &handed, at, track](diagnostic_id id, const std::uint8_t* where,
                                                               std::string&& message, tick_t last_tick,
                                                               const std::uint8_t* end_at) {
    const bool go_on = report.violation(id, at(where), track, std::move(message));
    handler.end_track(last_tick, at(end_at), handed);
    return go_on;
  };
  // Ends the track and the whole read after a strict violation.
  const auto abort_read = [&handler, &handed, at](tick_t last_tick, const std::uint8_t* end_at) {
    handler.end_track(last_tick, at(end_at), handed);
    return false;
  };

  const std::uint8_t* const fast_stop = stop - std::min<std::ptrdiff_t>(stop - p, 4);
  while (p < stop) {
    {
      channel_run run{p, tick, running, max_events - std::min(max_events, events.value)};
      const std::uint64_t budget_before = run.budget;
      decode_channel_run(run, fast_stop, max_tick, handler);
      p = run.p;
      tick = run.tick;
      running = run.running;
      events.value += budget_before - run.budget;
      handed += budget_before - run.budget;
      if (p >= stop) break;
    }
    const std::uint8_t* const event_start = p;
    std::uint32_t delta = *p;
    if (delta < 0x80) {
      ++p;
    } else {
      switch (read_vlq(p, stop, delta)) {
        case vlq_result::ok: break;
        case vlq_result::too_long:
          return damaged(diagnostic_id::vlq_too_long, event_start, "delta time longer than 4 bytes; track cut here",
                         tick, p);
        case vlq_result::truncated:
          return damaged(diagnostic_id::event_truncated, event_start,
                         "delta time cut off by the end of the track chunk", tick, p);
      }
    }
    tick += delta;  // cannot overflow: at most 2^28 per event and 2^40 - 1 (max_tick) before it
    if (tick > max_tick) {
      report.limit(diagnostic_id::tick_limit, at(event_start), track,
                   "tick " + std::to_string(tick) + " is past max_tick " + std::to_string(max_tick) +
                       "; track cut here");
      handler.end_track(tick - delta, at(event_start), handed);
      return !report.strict();
    }
    if (p == stop) {
      return damaged(diagnostic_id::event_truncated, event_start, "delta time with no event after it", tick, p);
    }
    if (++events.value > max_events) {
      report.limit(diagnostic_id::event_limit, at(event_start), track,
                   "more than " + std::to_string(max_events) + " events; reading stopped here");
      handler.end_track(tick, at(p), handed);
      return false;
    }

    std::uint8_t status = *p;
    if (status >= 0xF0) {
      const std::uint8_t* const status_at = p++;
      if (status == 0xFF || status == 0xF0 || status == 0xF7) {
        std::uint8_t type = 0;
        if (status == 0xFF) {
          if (p == stop) return damaged(diagnostic_id::event_truncated, status_at, "meta event with no type", tick, p);
          type = *p++;
        }
        std::uint32_t length = 0;
        const auto r = read_vlq(p, stop, length);
        if (r == vlq_result::too_long) {
          return damaged(diagnostic_id::vlq_too_long, status_at, "event length longer than 4 bytes; track cut here",
                         tick, p);
        }
        if (r == vlq_result::truncated) {
          return damaged(diagnostic_id::event_truncated, status_at, "event length cut off by the end of the track",
                         tick, p);
        }
        if (length > static_cast<std::uint64_t>(stop - p)) {
          return damaged(diagnostic_id::length_past_end, status_at,
                         std::string(status == 0xFF ? "meta" : "sysex") + " event of " + std::to_string(length) +
                             " bytes runs past the end of the track (" + std::to_string(stop - p) +
                             " bytes left); track cut here",
                         tick, p);
        }
        const std::span<const std::uint8_t> data(p, length);
        p += length;
        // Meta and sysex events cancel running status (SMF 1.0, "Running Status").
        if (running != 0) cancelled = running;
        running = 0;
        if (status != 0xFF) {
          ++handed;
          handler.sysex(tick, status, data);
          continue;
        }
        if (!check_meta(type, data, at(status_at), track, report, keep_going)) {
          if (!keep_going) return abort_read(tick, p);
          continue;
        }
        ++handed;
        handler.meta(tick, type, data);
        if (type == meta::end_of_track) {
          events_end = at(p);
          if (p != stop) {
            // A chunk length too long by a whole track swallows it: decode reads it from its tag.
            const std::size_t next = find_tag(in, events_end, "MTrk");
            keep_going = report.violation(diagnostic_id::data_after_end_of_track, at(p), track,
                                          std::to_string(stop - p) + " bytes after the end-of-track event " +
                                              (next < end ? "hold the track chunk at byte " + std::to_string(next) +
                                                                "; read from there"
                                                          : std::string("ignored")));
          }
          handler.end_track(tick, at(p), handed);
          return keep_going;
        }
        continue;
      }
      // F1-F6 and F8-FE are transmission-only messages that an SMF must not contain. Skip the
      // status and the data bytes its kind carries, which keeps us in step with the stream.
      if (!report.violation(diagnostic_id::status_byte_invalid, at(status_at), track,
                            "status byte " + hex(status) + " is not allowed in a MIDI file; skipped")) {
        return abort_read(tick, p);
      }
      const int data_bytes = status == 0xF2 ? 2 : (status == 0xF1 || status == 0xF3) ? 1 : 0;
      for (int i = 0; i < data_bytes && p < stop && *p < 0x80; ++i) ++p;
      if (status < 0xF8) running = 0;  // system common cancels running status, real-time does not
      continue;
    }

    if (status >= 0x80) {
      running = status;
      ++p;
    } else if (running == 0) [[unlikely]] {
      if (cancelled == 0) {
        return damaged(diagnostic_id::running_status_missing, p,
                       "data byte " + hex(status) +
                           " where a status byte is due, and no running status; track cut here",
                       tick, p);
      }
      if (!cancelled_reported) {
        keep_going = report.violation(diagnostic_id::running_status_cancelled, at(p), track,
                                      "running status " + hex(cancelled) +
                                          " reused after a meta or sysex event; later ones in this track not listed");
        if (!keep_going) return abort_read(tick, p);
        cancelled_reported = true;
      }
      running = cancelled;
    }
    status = running;

    const std::ptrdiff_t size = (status & 0xE0U) == 0xC0 ? 1 : 2;  // C0-DF carry one data byte
    if (stop - p < size) {
      return damaged(diagnostic_id::event_truncated, event_start, "channel message cut off by the end of the track",
                     tick, p);
    }
    const std::uint8_t data1 = p[0];
    const std::uint8_t data2 = size == 2 ? p[1] : 0;
    if (((data1 | data2) & 0x80U) != 0) {
      const auto* bad = (data1 & 0x80U) != 0 ? p : p + 1;
      if (!report.violation(diagnostic_id::data_byte_invalid, at(bad), track,
                            "data byte " + hex(*bad) + " of message " + hex(status) +
                                " is over 0x7F; message dropped")) {
        return abort_read(tick, p);
      }
      p += size;
      continue;
    }
    p += size;
    ++handed;
    handler.channel(tick, status, data1, data2, p);
  }
  keep_going = report.violation(diagnostic_id::missing_end_of_track, at(stop), track,
                                "track chunk ends without an end-of-track event");
  handler.end_track(tick, at(p), handed);
  return keep_going;
}

/// Walks a whole file: header, then every chunk. The handler sees
/// `header(const header&)`, then per track `begin_track`, `channel`/`meta`/`sysex` calls and
/// `end_track(tick_t last_tick, std::uint64_t byte_offset, std::uint64_t events)`, where `events`
/// counts the calls the track made (the events dropped as damaged are not among them).
/// `channel(tick, status, data1, data2, end)` also gets `end`, the byte after the message in
/// `in`, which tells how much of the file has been read (the performance builder reserves by it).
template <class Handler>
read_status decode(std::span<const std::uint8_t> in, const read_options& options, std::vector<diagnostic>& out,
                   Handler& handler) {
  reporter report(out, options);
  header h;
  if (!read_header(in, report, h)) return read_status::invalid;
  handler.header(h);

  in = in.first(h.end);
  std::size_t pos = h.body_offset;
  std::size_t events_end = pos;  // where the last track's events ended: a lost MTrk is searched from there
  std::uint32_t tracks = 0;
  std::uint64_t events = 0;
  bool keep_going = true;
  while (keep_going && pos < in.size()) {
    const std::size_t left = in.size() - pos;
    if (left < 8) {
      keep_going = report.violation(diagnostic_id::trailing_bytes, pos, -1,
                                    std::to_string(left) + " bytes after the last chunk; ignored");
      break;
    }
    const std::uint8_t* id = in.data() + pos;
    const std::uint64_t length = be32(id + 4);
    const std::size_t data = pos + 8;
    const std::size_t available = in.size() - data;
    if (std::memcmp(id, "MTrk", 4) == 0) {
      if (tracks >= options.limits.max_tracks) {
        report.limit(diagnostic_id::track_limit, pos, static_cast<std::int32_t>(tracks),
                     "more than " + std::to_string(options.limits.max_tracks) + " tracks; the rest skipped");
        keep_going = false;  // the skipped tracks are neither missing nor extra
        break;
      }
      if (tracks == h.declared_tracks) {
        keep_going = report.violation(diagnostic_id::extra_tracks, pos, static_cast<std::int32_t>(tracks),
                                      "the header declares " + std::to_string(h.declared_tracks) +
                                          " tracks, but more follow; they are read too");
        if (!keep_going) break;
      }
      std::size_t size = static_cast<std::size_t>(length);
      if (length > available) {
        keep_going = report.violation(diagnostic_id::chunk_truncated, pos + 4, static_cast<std::int32_t>(tracks),
                                      "track chunk declares " + std::to_string(length) + " bytes but only " +
                                          std::to_string(available) + " remain; read up to the end of the file");
        if (!keep_going) break;
        size = available;
      }
      events_end = data + size;
      keep_going = decode_track(in, data, data + size, static_cast<std::int32_t>(tracks), options.limits, report,
                                events, events_end, handler);
      ++tracks;
      pos = data + size;
      if (events_end < pos) pos = std::min(pos, find_tag(in, events_end, "MTrk"));  // a swallowed track
      continue;
    }
    const bool printable = std::all_of(id, id + 4, [](std::uint8_t c) { return c >= 0x20 && c < 0x7F; });
    if (printable && length <= available) {  // an unknown chunk: skipped, as the specification asks
      pos = data + static_cast<std::size_t>(length);
      continue;
    }
    if (printable) {
      // A length past the end of the file: the chunk is damaged, and any track after it is found by
      // its tag, as after a chunk id that is no id.
      const std::size_t next = find_tag(in, data, "MTrk");
      keep_going = report.violation(diagnostic_id::chunk_truncated, pos + 4, -1,
                                    "chunk '" + std::string(id, id + 4) + "' declares " + std::to_string(length) +
                                        " bytes but only " + std::to_string(available) + " remain; " +
                                        (next == std::string::npos
                                             ? std::string("skipped")
                                             : "resumed at the next MTrk, byte " + std::to_string(next)));
      if (next == std::string::npos) break;
      pos = next;
      continue;
    }
    // A track chunk that declared too many bytes may have swallowed the next MTrk tag: search from
    // the end of its events. With no MTrk ahead, what is left is trailing bytes (padding, junk).
    const std::size_t next = find_tag(in, std::min(pos + 1, std::max(events_end, h.body_offset)), "MTrk");
    if (next == std::string::npos) {
      keep_going = report.violation(diagnostic_id::trailing_bytes, pos, -1,
                                    std::to_string(left) + " bytes after the last chunk; ignored");
      break;
    }
    keep_going = report.violation(diagnostic_id::chunk_id_invalid, pos, -1,
                                  "bytes " + hex(id[0]) + " " + hex(id[1]) + " " + hex(id[2]) + " " + hex(id[3]) +
                                      " are not a chunk id; resumed at the next MTrk, byte " + std::to_string(next));
    pos = next;
  }
  if (keep_going && tracks < h.declared_tracks) {
    keep_going = report.violation(diagnostic_id::missing_tracks, in.size(), -1,
                                  "the header declares " + std::to_string(h.declared_tracks) + " tracks but " +
                                      std::to_string(tracks) + " were found");
  }
  if (keep_going && h.format == 0 && tracks > 1) {
    report.violation(diagnostic_id::format0_track_count, 10, -1,
                     "format 0 holds one track, this file has " + std::to_string(tracks) + "; all are read");
  }
  return report.finish();
}

}  // namespace continuo::midi::detail

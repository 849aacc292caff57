#include "midi/decoder.hpp"

#include <continuo/midi/reader.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

namespace continuo::midi {
namespace detail {

namespace {

std::uint32_t le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8U) | (std::uint32_t{p[2]} << 16U) |
         (std::uint32_t{p[3]} << 24U);
}

/// Returns the bytes of the "data" chunk of a RIFF RMID file (the SMF), or nothing.
std::span<const std::uint8_t> rmid_data(std::span<const std::uint8_t> in) {
  if (in.size() < 12 || std::memcmp(in.data(), "RIFF", 4) != 0 || std::memcmp(in.data() + 8, "RMID", 4) != 0) {
    return {};
  }
  for (std::size_t pos = 12; pos + 8 <= in.size();) {
    const std::size_t size = le32(in.data() + pos + 4);
    const std::size_t left = in.size() - pos - 8;
    if (std::memcmp(in.data() + pos, "data", 4) == 0) return in.subspan(pos + 8, std::min(size, left));
    if (size > left) break;
    pos += 8 + size + (size & 1U);  // RIFF chunks are padded to even sizes
  }
  return {};
}

}  // namespace

bool read_header(std::span<const std::uint8_t> in, reporter& report, header& out) {
  // A RIFF RMID wrapper is legitimate: the SMF is its "data" chunk, and the chunks after it
  // (DISP, LIST ...) are not MIDI chunks.
  const auto rmid = rmid_data(in);
  out.end = rmid.empty() ? in.size() : static_cast<std::size_t>(rmid.data() + rmid.size() - in.data());
  std::size_t at = find_tag(in.first(out.end), 0, "MThd");
  if (at == std::string::npos) {
    report.fatal(diagnostic_id::header_not_found, 0, -1,
                 in.empty() ? "the file is empty" : "no MThd header chunk: this is not a Standard MIDI File");
    return false;
  }
  const bool wrapped = !rmid.empty() && at == static_cast<std::size_t>(rmid.data() - in.data());
  if (at != 0 && !wrapped &&
      !report.violation(diagnostic_id::leading_garbage, 0, -1,
                        std::to_string(at) + " bytes before the MThd header; skipped")) {
    return false;
  }
  const std::size_t left = out.end - at;
  if (left < 14) {
    report.fatal(diagnostic_id::header_truncated, at, -1,
                 "the MThd chunk needs 14 bytes, the file has " + std::to_string(left) + " from there");
    return false;
  }
  const std::uint8_t* h = in.data() + at;
  const std::uint32_t length = be32(h + 4);
  if (length < 6) {
    report.fatal(diagnostic_id::header_truncated, at + 4, -1,
                 "the MThd chunk declares " + std::to_string(length) + " bytes, it needs 6");
    return false;
  }
  out.format = be16(h + 8);
  out.declared_tracks = be16(h + 10);
  out.time_division.raw = be16(h + 12);
  // A longer header is allowed by the specification: its extra bytes are skipped. One that runs
  // past the end of the file is damaged: read as the 6 bytes it must have.
  std::size_t header_length = length;
  if (length > left - 8) {
    if (!report.violation(diagnostic_id::chunk_truncated, at + 4, -1,
                          "the MThd chunk declares " + std::to_string(length) + " bytes but only " +
                              std::to_string(left - 8) + " remain; read as 6")) {
      return false;
    }
    header_length = 6;
  }
  out.body_offset = at + 8 + header_length;

  if (out.format > 2) {
    if (!report.violation(diagnostic_id::unknown_format, at + 8, -1,
                          "format " + std::to_string(out.format) + " is not 0, 1 or 2; read as format 1")) {
      return false;
    }
    out.format = 1;
  }
  if (out.time_division.is_smpte()) {
    const auto fps = out.time_division.smpte_fps();
    if (fps != 24 && fps != 25 && fps != 29 && fps != 30) {
      if (!report.violation(diagnostic_id::smpte_frames_invalid, at + 12, -1,
                            "SMPTE division of " + std::to_string(fps) + " frames per second; read as 25")) {
        return false;
      }
      out.time_division = division::smpte(25, out.time_division.ticks_per_frame());
    }
    if (out.time_division.ticks_per_frame() == 0) {
      if (!report.violation(
              diagnostic_id::division_zero, at + 12, -1,
              "SMPTE division of 0 ticks per frame; read as 25 fps and 40 ticks per frame (millisecond ticks)")) {
        return false;
      }
      out.time_division = division::smpte(25, 40);
    }
  } else if (out.time_division.ticks_per_quarter() == 0) {
    if (!report.violation(diagnostic_id::division_zero, at + 12, -1,
                          "division of 0 ticks per quarter note; read as 480")) {
      return false;
    }
    out.time_division = division::metrical(480);
  }
  return true;
}

bool check_meta(std::uint8_t type, std::span<const std::uint8_t> data, std::uint64_t offset, std::int32_t track,
                reporter& report, bool& keep_going) {
  const auto wrong_length = [&](std::size_t expected, const char* what) {
    keep_going = report.violation(diagnostic_id::meta_length_invalid, offset, track,
                                  std::string(what) + " meta event of " + std::to_string(data.size()) +
                                      " bytes, expected " + std::to_string(expected) + "; ignored");
    return false;
  };
  const auto wrong_value = [&](const std::string& what) {
    keep_going = report.violation(diagnostic_id::meta_value_invalid, offset, track, what + "; ignored");
    return false;
  };
  switch (type) {
    case meta::end_of_track:
      if (!data.empty()) {  // still the end of the track: repaired by ignoring the payload
        keep_going = report.violation(diagnostic_id::meta_length_invalid, offset, track,
                                      "end-of-track event with " + std::to_string(data.size()) +
                                          " bytes of payload, expected 0");
      }
      return keep_going;
    case meta::tempo:
      if (data.size() != 3) return wrong_length(3, "tempo");
      if (data[0] == 0 && data[1] == 0 && data[2] == 0) {
        keep_going = report.violation(diagnostic_id::tempo_zero, offset, track,
                                      "tempo of 0 microseconds per quarter note; ignored");
        return false;
      }
      return true;
    case meta::time_signature:
      if (data.size() != 4) return wrong_length(4, "time signature");
      if (data[0] == 0) return wrong_value("time signature with numerator 0");
      if (data[1] > 6) return wrong_value("time signature denominator 2^" + std::to_string(data[1]) + " is over 64");
      return true;
    case meta::key_signature: {
      if (data.size() != 2) return wrong_length(2, "key signature");
      const auto sharps = static_cast<std::int8_t>(data[0]);
      if (sharps < -7 || sharps > 7) return wrong_value("key signature of " + std::to_string(sharps) + " sharps");
      if (data[1] > 1) return wrong_value("key signature mode " + std::to_string(data[1]) + " is not 0 or 1");
      return true;
    }
    case meta::smpte_offset: {
      if (data.size() != 5) return wrong_length(5, "SMPTE offset");
      static constexpr int frame_rates[] = {24, 25, 30, 30};  // 29.97 drop-frame numbers frames as 30
      const int fps = frame_rates[(data[0] >> 5U) & 3U];
      const int hours = data[0] & 0x1F;
      if (hours > 23 || data[1] > 59 || data[2] > 59 || data[3] >= fps || data[4] > 99) {
        return wrong_value("SMPTE offset " + std::to_string(hours) + ":" + std::to_string(data[1]) + ":" +
                           std::to_string(data[2]) + " frame " + std::to_string(data[3]) + "." +
                           std::to_string(data[4]) + " is out of range");
      }
      return true;
    }
    case meta::channel_prefix:
      if (data.size() != 1) return wrong_length(1, "channel prefix");
      if (data[0] > 15) return wrong_value("channel prefix " + std::to_string(data[0]) + " is over 15");
      return true;
    case meta::port:
      if (data.size() != 1) return wrong_length(1, "port");
      return true;
    case meta::sequence_number:
      if (!data.empty() && data.size() != 2) return wrong_length(2, "sequence number");
      return true;
    default: return true;
  }
}

namespace {

/// Stores every event into an smf_file.
class event_list_builder {
 public:
  explicit event_list_builder(smf_file& out, std::size_t input_size) : out_(out) {
    // One event per three bytes is typical with running status; growing past that is rare.
    out_.events.reserve(input_size / 3);
  }
  void header(const header& h) {
    out_.format = h.format;
    out_.division = h.time_division;
  }
  void begin_track(std::int32_t /*track*/) { out_.begin_track(); }
  void channel(tick_t tick, std::uint8_t status, std::uint8_t data1, std::uint8_t data2, const std::uint8_t* /*end*/) {
    out_.events.emplace_back(tick, status, data1, data2);
  }
  void meta(tick_t tick, std::uint8_t type, std::span<const std::uint8_t> data) {
    out_.append({tick, 0xFF, type}, data);
  }
  void sysex(tick_t tick, std::uint8_t status, std::span<const std::uint8_t> data) {
    out_.append({tick, status}, data);
  }
  void end_track(tick_t /*tick*/, std::uint64_t /*offset*/, std::uint64_t /*events*/) {
    out_.tracks.back().count = out_.events.size() - out_.tracks.back().first;
  }

 private:
  smf_file& out_;
};

}  // namespace

void throw_tick_out_of_range(tick_t tick) {
  throw std::out_of_range("event tick " + std::to_string(tick) + " is outside 0 to 2^40 - 1");
}

}  // namespace detail

void smf_file::append(event e, std::span<const std::uint8_t> data) {
  if (tracks.empty()) begin_track();
  if (e.is_meta() || e.is_sysex()) {
    payload_spans.push_back({events.size(), payload_bytes.size(), data.size()});
    payload_bytes.insert(payload_bytes.end(), data.begin(), data.end());
  }
  events.push_back(e);
  ++tracks.back().count;
}

std::span<const std::uint8_t> smf_file::payload(std::size_t index) const {
  const event& e = events.at(index);
  if (!e.is_meta() && !e.is_sysex()) return {};
  const auto span = std::lower_bound(payload_spans.begin(), payload_spans.end(), index,
                                     [](const payload_span& s, std::size_t i) { return s.event < i; });
  if (span == payload_spans.end() || span->event != index) return {};  // built by hand without append
  if (span->offset > payload_bytes.size() || span->size > payload_bytes.size() - span->offset) {
    throw std::out_of_range("smf_file::payload: the span of event " + std::to_string(index) +
                            " lies outside payload_bytes");
  }
  return std::span<const std::uint8_t>(payload_bytes).subspan(span->offset, span->size);
}

std::span<const std::uint8_t> smf_file::payload(const event& e) const {
  // std::less is a total order on pointers, so this is well defined for any reference.
  const std::less<> before;
  const event* const first = events.data();
  if (before(&e, first) || !before(&e, first + events.size())) {
    throw std::invalid_argument("smf_file::payload: the event is not an element of this file's events");
  }
  return payload(static_cast<std::size_t>(&e - first));
}

smf_file read_smf(std::span<const std::uint8_t> bytes, const read_options& options) {
  smf_file file;
  detail::event_list_builder builder(file, bytes.size());
  file.status = detail::decode(bytes, options, file.diagnostics, builder);
  return file;
}

}  // namespace continuo::midi

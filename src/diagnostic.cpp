#include <continuo/diagnostic.hpp>
#include <continuo/performance.hpp>

#include <string>

namespace continuo {

std::string_view name(diagnostic_id id) noexcept {
  switch (id) {
    case diagnostic_id::header_not_found: return "smf.header_not_found";
    case diagnostic_id::leading_garbage: return "smf.leading_garbage";
    case diagnostic_id::header_truncated: return "smf.header_truncated";
    case diagnostic_id::unknown_format: return "smf.unknown_format";
    case diagnostic_id::format0_track_count: return "smf.format0_track_count";
    case diagnostic_id::division_zero: return "smf.division_zero";
    case diagnostic_id::smpte_frames_invalid: return "smf.smpte_frames_invalid";
    case diagnostic_id::chunk_id_invalid: return "smf.chunk_id_invalid";
    case diagnostic_id::chunk_truncated: return "smf.chunk_truncated";
    case diagnostic_id::missing_tracks: return "smf.missing_tracks";
    case diagnostic_id::extra_tracks: return "smf.extra_tracks";
    case diagnostic_id::trailing_bytes: return "smf.trailing_bytes";
    case diagnostic_id::vlq_too_long: return "smf.vlq_too_long";
    case diagnostic_id::event_truncated: return "smf.event_truncated";
    case diagnostic_id::running_status_missing: return "smf.running_status_missing";
    case diagnostic_id::running_status_cancelled: return "smf.running_status_cancelled";
    case diagnostic_id::data_byte_invalid: return "smf.data_byte_invalid";
    case diagnostic_id::status_byte_invalid: return "smf.status_byte_invalid";
    case diagnostic_id::meta_length_invalid: return "smf.meta_length_invalid";
    case diagnostic_id::meta_value_invalid: return "smf.meta_value_invalid";
    case diagnostic_id::length_past_end: return "smf.length_past_end";
    case diagnostic_id::tempo_zero: return "smf.tempo_zero";
    case diagnostic_id::missing_end_of_track: return "smf.missing_end_of_track";
    case diagnostic_id::data_after_end_of_track: return "smf.data_after_end_of_track";
    case diagnostic_id::tick_limit: return "limit.tick";
    case diagnostic_id::event_limit: return "limit.events";
    case diagnostic_id::track_limit: return "limit.tracks";
    case diagnostic_id::diagnostic_limit: return "limit.diagnostics";
    case diagnostic_id::notes_not_closed: return "model.notes_not_closed";
    case diagnostic_id::clock_backwards: return "stream.clock_backwards";
    case diagnostic_id::clock_jump: return "stream.clock_jump";
    case diagnostic_id::stuck: return "stream.stuck";
    case diagnostic_id::clock_limit: return "stream.clock_limit";
    case diagnostic_id::index_dimension_invalid: return "index.dimension_invalid";
    case diagnostic_id::index_dimension_mismatch: return "index.dimension_mismatch";
    case diagnostic_id::index_value_not_finite: return "index.value_not_finite";
    case diagnostic_id::index_zero_vector: return "index.zero_vector";
    case diagnostic_id::index_io_failed: return "index.io_failed";
    case diagnostic_id::index_magic_invalid: return "index.magic_invalid";
    case diagnostic_id::index_version_unsupported: return "index.version_unsupported";
    case diagnostic_id::index_header_invalid: return "index.header_invalid";
    case diagnostic_id::index_truncated: return "index.truncated";
    case diagnostic_id::index_trailing_bytes: return "index.trailing_bytes";
    case diagnostic_id::index_checksum_mismatch: return "index.checksum_mismatch";
    case diagnostic_id::index_duplicate_id: return "index.duplicate_id";
    case diagnostic_id::index_value_invalid: return "index.value_invalid";
  }
  return "unknown";
}

std::string_view name(read_status status) noexcept {
  switch (status) {
    case read_status::ok: return "ok";
    case read_status::repaired: return "repaired";
    case read_status::invalid: return "invalid";
  }
  return "unknown";
}

std::string_view name(pairing_policy policy) noexcept {
  switch (policy) {
    case pairing_policy::fifo: return "fifo";
    case pairing_policy::lifo: return "lifo";
    case pairing_policy::close_all: return "close_all";
  }
  return "unknown";
}

std::string to_string(const diagnostic& d) {
  std::string out = "[";
  out += name(d.id);
  out += "] ";
  if (d.track >= 0) out += "track " + std::to_string(d.track) + ", ";
  out += "byte " + std::to_string(d.offset) + ": " + d.message;
  return out;
}

}  // namespace continuo

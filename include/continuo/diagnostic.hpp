#pragma once
/// \file What went wrong while reading, and where.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace continuo {

/// Stable identifiers of everything the reader can find wrong with a file. The numbers and names
/// never change meaning once released; docs/diagnostics.md is the catalogue.
enum class diagnostic_id : std::uint16_t {
  // File and header structure (1xx).
  header_not_found = 101,      ///< No "MThd" chunk anywhere: not a MIDI file.
  leading_garbage = 102,       ///< Bytes before "MThd" that are not a RIFF/RMID wrapper.
  header_truncated = 103,      ///< "MThd" too short to hold format, track count and division.
  unknown_format = 104,        ///< Format other than 0, 1 or 2; read as format 1.
  format0_track_count = 105,   ///< Format 0 with other than exactly one track.
  division_zero = 106,         ///< Division of 0 ticks per quarter (or per frame).
  smpte_frames_invalid = 107,  ///< SMPTE frame rate other than 24, 25, 29 (drop-frame) or 30.
  chunk_id_invalid = 108,      ///< A chunk id that is not four printable ASCII characters.
  chunk_truncated = 109,       ///< A chunk's declared length runs past the end of the file.
  missing_tracks = 110,        ///< Fewer "MTrk" chunks than the header declares.
  extra_tracks = 111,          ///< More "MTrk" chunks than the header declares.
  trailing_bytes = 112,        ///< Bytes after the last chunk that do not form a chunk.
  // Inside a track (2xx).
  vlq_too_long = 201,              ///< A variable-length quantity of more than 4 bytes.
  event_truncated = 202,           ///< An event cut off by the end of its track chunk.
  running_status_missing = 203,    ///< A data byte where a status byte is due, with no status to reuse.
  running_status_cancelled = 204,  ///< Running status reused after a meta or sysex event.
  data_byte_invalid = 205,         ///< A channel message data byte of 0x80 or more.
  status_byte_invalid = 206,       ///< A system common or real-time status (F1-F6, F8-FE) in a file.
  meta_length_invalid = 207,       ///< A meta event whose length does not fit its type (tempo of 2 bytes).
  meta_value_invalid = 208,        ///< A meta event value out of range (key of 9 sharps, SMPTE hour 30).
  length_past_end = 209,           ///< A meta or sysex length that runs past the end of the track.
  tempo_zero = 210,                ///< A tempo of 0 microseconds per quarter note; ignored.
  missing_end_of_track = 211,      ///< A track chunk that ends without an end-of-track event.
  data_after_end_of_track = 212,   ///< Bytes inside a track chunk after its end-of-track event.
  // Limits (3xx).
  tick_limit = 301,        ///< An absolute tick past read_limits::max_tick; track cut there.
  event_limit = 302,       ///< More events than read_limits::max_events; reading stopped.
  track_limit = 303,       ///< More tracks than read_limits::max_tracks; the rest skipped.
  diagnostic_limit = 304,  ///< More diagnostics than read_limits::max_diagnostics; rest dropped.
  // Performance model (4xx).
  notes_not_closed = 401,  ///< Notes still sounding at the end of a track, closed there.
  // Live event streams (5xx), found by the sessionizer.
  clock_backwards = 501,  ///< An event older than the one before it; taken as simultaneous.
  clock_jump = 502,       ///< The clock stepped forward by more than sessionizer_options::clock_jump_s.
  stuck = 503,            ///< A key or sustain pedal held past sessionizer_options::stuck_s; released.
  clock_limit = 504,      ///< Notes past sessionizer::max_time_ns left out of split_practice.
  // Similarity index (6xx): vectors given to continuo::vector_index, and its files.
  index_dimension_invalid = 601,    ///< A dimension of 0 or above index_options::max_dimension.
  index_dimension_mismatch = 602,   ///< A vector or query whose length is not the index's dimension.
  index_value_not_finite = 603,     ///< A NaN or infinite value in a vector or query.
  index_zero_vector = 604,          ///< A vector or query of norm 0: it has no direction to compare.
  index_io_failed = 610,            ///< An index file that cannot be opened, read or written.
  index_magic_invalid = 611,        ///< Input that does not start with "CNTIDX": not an index file.
  index_version_unsupported = 612,  ///< An index file of a format version this build cannot read.
  index_header_invalid = 613,       ///< A header field out of range (dimension, storage, reserved bytes).
  index_truncated = 614,            ///< An index file shorter than its header's vector count requires.
  index_trailing_bytes = 615,       ///< Bytes after the checksum of an index file.
  index_checksum_mismatch = 616,    ///< An index file whose checksum does not match its bytes.
  index_duplicate_id = 617,         ///< An index file that stores one id twice.
  index_value_invalid = 618,        ///< A stored value out of range (non-finite, not unit norm, code -128).
};

/// Returns the stable name of an id, e.g. "smf.vlq_too_long".
[[nodiscard]] std::string_view name(diagnostic_id id) noexcept;

/// One problem found while reading: what (a stable id and a message) and where (byte offset into
/// the input, and the track chunk's index, or -1 for the header and the file as a whole).
struct diagnostic {
  diagnostic_id id{};
  std::uint64_t offset = 0;  ///< Byte offset into the input where the problem starts.
  std::int32_t track = -1;   ///< Index of the track chunk, -1 outside any track.
  std::string message;       ///< What was wrong and what was done about it.

  friend bool operator==(const diagnostic&, const diagnostic&) = default;
};

/// How a read went.
enum class read_status : std::uint8_t {
  ok,        ///< Read without any diagnostic.
  repaired,  ///< Read, but something had to be skipped or fixed: see the diagnostics.
  invalid,   ///< Nothing usable (no header), or strict mode met a violation.
};

/// Returns "ok", "repaired" or "invalid".
[[nodiscard]] std::string_view name(read_status status) noexcept;

/// Formats a diagnostic on one line: "[smf.vlq_too_long] track 0, byte 22: ...".
[[nodiscard]] std::string to_string(const diagnostic& d);

/// The one exception type of the library: carries the diagnostic that caused it. Readers return
/// diagnostics instead of throwing; this is for convenience wrappers and I/O.
class error : public std::runtime_error {
 public:
  explicit error(diagnostic d) : std::runtime_error(to_string(d)), diagnostic_(std::move(d)) {}
  explicit error(const std::string& message) : std::runtime_error(message) {}
  /// Returns the diagnostic, if the error came from reading a file.
  [[nodiscard]] const diagnostic& where() const noexcept { return diagnostic_; }

 private:
  diagnostic diagnostic_;
};

}  // namespace continuo

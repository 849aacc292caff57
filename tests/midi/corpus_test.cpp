// Corpus tests: every file of the shared corpus (CONTINUO_CORPUS) is read in strict and lenient mode by
// both readers, midi::read_smf and read_performance, and graded as its provenance says: DryWetMIDI's valid
// files read ok, each of its invalid folders reports the defect it is named after, jazz-soft's damaged
// files report theirs, and the real recordings of symusic/, asap/ and large/ read ok.
//
// Every read also checks the invariants of grading (helper read_graded): both readers agree, strict mode
// stops at the first violation that lenient mode lists first, an invalid lenient read means no usable
// header, and no file takes long. Run under the sanitizer build, this is also the no-crash test.

#include "support/test_support.hpp"

#include <continuo/file.hpp>
#include <continuo/midi/reader.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace continuo {
namespace {

namespace fs = std::filesystem;
using id = diagnostic_id;

/// No file of the corpus may take longer than this to read, even in the sanitizer build.
constexpr std::chrono::seconds read_budget{5};

/// Returns the files under `dir`, sorted, leaving out the corpus's licences and read-me files.
std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto name = entry.path().filename().string();
    const auto ext = entry.path().extension().string();
    if (name.starts_with("LICENSE") || name.starts_with("README") || ext == ".md" || ext == ".txt" || ext == ".csv") {
      continue;
    }
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// Returns the diagnostics of the SMF level, without read_performance's model-level (4xx) ones.
std::vector<diagnostic> smf_level(const std::vector<diagnostic>& all) {
  std::vector<diagnostic> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [](const diagnostic& d) { return static_cast<int>(d.id) < 400; });
  return out;
}

std::vector<id> ids_of(const std::vector<diagnostic>& diagnostics) {
  std::vector<id> out;
  out.reserve(diagnostics.size());
  for (const auto& d : diagnostics) out.push_back(d.id);
  return out;
}

std::string describe(const std::vector<diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += "\n  " + to_string(d);
  return out.empty() ? " (none)" : out;
}

/// One read in one mode by both readers.
struct graded_read {
  midi::smf_file file;
  performance perf;
};

/// Reads `bytes` in one mode with read_smf and read_performance and checks that they grade it alike
/// (same status and diagnostics, but for read_performance's model-level ones, which come last and can
/// only turn ok into repaired; the same counts of events and tracks), that the grading is consistent,
/// and that reading is quick.
graded_read read_graded(std::span<const std::uint8_t> bytes, bool strict) {
  const char* mode = strict ? "strict" : "lenient";
  const auto start = std::chrono::steady_clock::now();
  graded_read r{midi::read_smf(bytes, {.strict = strict}), read_performance(bytes, {.read = {.strict = strict}})};
  EXPECT_LT(std::chrono::steady_clock::now() - start, read_budget) << mode << " reading is too slow";

  const auto& file = r.file;
  const auto& perf = r.perf;
  EXPECT_EQ(smf_level(file.diagnostics).size(), file.diagnostics.size())
      << mode << ": read_smf reports model-level diagnostics" << describe(file.diagnostics);
  const auto shared = static_cast<std::ptrdiff_t>(std::min(perf.diagnostics.size(), file.diagnostics.size()));
  const std::vector<diagnostic> head(perf.diagnostics.begin(), perf.diagnostics.begin() + shared);
  EXPECT_EQ(head, file.diagnostics) << mode
                                    << ": the readers' diagnostics differ\n read_smf:" << describe(file.diagnostics)
                                    << "\n read_performance:" << describe(perf.diagnostics);
  EXPECT_EQ(smf_level(perf.diagnostics).size(), file.diagnostics.size())
      << mode << ": model-level diagnostics must come after the SMF ones" << describe(perf.diagnostics);
  const bool model_only = perf.diagnostics.size() > file.diagnostics.size();
  const read_status expected_perf_status = file.status == read_status::ok && model_only ? read_status::repaired
                                                                                        : file.status;
  EXPECT_EQ(perf.status, expected_perf_status)
      << mode << ": read_smf says " << name(file.status) << ", read_performance " << name(perf.status);
  // The decoder counts the events it hands over, the same for both readers (damaged ones dropped).
  EXPECT_EQ(perf.event_count, file.events.size()) << mode << ": read_performance counts other events";
  EXPECT_EQ(perf.track_count, file.tracks.size()) << mode << ": read_performance counts other tracks";

  EXPECT_EQ(file.status == read_status::ok, file.diagnostics.empty())
      << mode << ": status " << name(file.status) << " with" << describe(file.diagnostics);
  if (file.status == read_status::invalid && strict) {
    EXPECT_EQ(file.diagnostics.size(), 1U)
        << "strict mode must stop at its first violation" << describe(file.diagnostics);
  }
  if (file.status == read_status::invalid && !strict) {
    const bool no_header = file.diagnostics.size() == 1 && (file.diagnostics[0].id == id::header_not_found ||
                                                            file.diagnostics[0].id == id::header_truncated);
    EXPECT_TRUE(no_header) << "lenient mode gives up only without a usable header" << describe(file.diagnostics);
  }
  return r;
}

/// Both modes of one file.
struct graded_file {
  graded_read strict;
  graded_read lenient;
};

/// Reads the file at `path` in both modes (see read_graded) and checks that strict mode stops at the
/// violation that lenient mode lists first.
graded_file read_both_modes(const fs::path& path) {
  const auto bytes = load_file(path);
  graded_file g{read_graded(bytes, true), read_graded(bytes, false)};
  const auto& strict = g.strict.file.diagnostics;
  const auto& lenient = g.lenient.file.diagnostics;
  if (strict.empty()) {
    EXPECT_TRUE(lenient.empty()) << "lenient mode finds what strict mode does not" << describe(lenient);
  } else if (!lenient.empty()) {
    const auto& s = strict.front();
    const auto& l = lenient.front();
    EXPECT_EQ(std::tie(s.id, s.offset, s.track), std::tie(l.id, l.offset, l.track))
        << "strict stops elsewhere than lenient's first diagnostic";
    // The same problem, without the repair that only lenient mode makes (a file with no header is
    // beyond repair in both modes, and says so alike).
    const bool fatal = s.id == continuo::diagnostic_id::header_not_found ||
                       s.id == continuo::diagnostic_id::header_truncated;
    EXPECT_EQ(s.message,
              fatal ? l.message : l.message.substr(0, l.message.rfind("; ")) + "; strict reading stops here");
  } else {
    ADD_FAILURE() << "strict mode finds what lenient mode does not" << describe(strict);
  }
  return g;
}

/// Checks that a file reads ok, without any SMF-level diagnostic, in both modes.
void expect_reads_ok(const graded_file& g) {
  EXPECT_EQ(g.strict.file.status, read_status::ok) << describe(g.strict.file.diagnostics);
  EXPECT_EQ(g.lenient.file.status, read_status::ok) << describe(g.lenient.file.diagnostics);
}

/// Checks that a damaged file is graded: strict mode stops at `first` (invalid), lenient mode lists it
/// first and repairs the file (or gives up, for a file with no usable header).
void expect_damaged(const graded_file& g, id first) {
  const auto& strict = g.strict.file;
  const auto& lenient = g.lenient.file;
  EXPECT_EQ(strict.status, read_status::invalid);
  ASSERT_FALSE(strict.diagnostics.empty());
  EXPECT_EQ(strict.diagnostics.front().id, first) << "strict:" << describe(strict.diagnostics);
  ASSERT_FALSE(lenient.diagnostics.empty());
  EXPECT_EQ(lenient.diagnostics.front().id, first) << "lenient:" << describe(lenient.diagnostics);
  const bool fatal = first == id::header_not_found || first == id::header_truncated;
  EXPECT_EQ(lenient.status, fatal ? read_status::invalid : read_status::repaired);
}

/// Returns true for a RIFF-wrapped Standard MIDI File (RMID).
bool is_rmid(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 12 && std::memcmp(bytes.data(), "RIFF", 4) == 0 &&
         std::memcmp(bytes.data() + 8, "RMID", 4) == 0;
}

// --- drywetmidi/Valid ---------------------------------------------------------------------------------

TEST(corpus, drywetmidi_valid_files_all_read_ok_in_strict_mode_format_2_included) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = files_under(corpus / "drywetmidi" / "Valid");
  ASSERT_EQ(files.size(), 63U);
  std::map<int, int> formats;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto g = read_both_modes(path);
    expect_reads_ok(g);
    ++formats[g.strict.file.format];
  }
  EXPECT_EQ(formats, (std::map<int, int>{{0, 23}, {1, 22}, {2, 18}}));
}

TEST(corpus, drywetmidi_valid_files_leave_notes_open_only_where_the_file_does) {
  // These valid files end tracks with notes still sounding (a note-on with no note-off before the end of
  // the track): read_performance closes them there and says so, the only diagnostic of the Valid files.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const std::set<std::string> open_at_end{
      "Dark_Forces.mid", "boss3.mid", "fight.mid", "crixmus.mid", "CREEDENCE C.R.Up around the bend  k.mid",
      "arkanoid.mid"};
  for (const auto& path : files_under(corpus / "drywetmidi" / "Valid")) {
    SCOPED_TRACE(path.string());
    const auto perf = read_performance(load_file(path), {.read = {.strict = true}});
    if (open_at_end.contains(path.filename().string())) {
      EXPECT_EQ(perf.status, read_status::repaired);
      ASSERT_FALSE(perf.diagnostics.empty());
      for (const auto& d : perf.diagnostics) EXPECT_EQ(d.id, id::notes_not_closed) << to_string(d);
    } else {
      EXPECT_EQ(perf.status, read_status::ok) << describe(perf.diagnostics);
    }
  }
}

// --- drywetmidi/Invalid -------------------------------------------------------------------------------

/// One folder of drywetmidi/Invalid, named after the defect its files share, and what continuo must
/// report for them: the id of the first violation (where strict mode stops), one of `first`, unless the
/// file is listed in `unlike`, with the id it starts with instead (nothing: it reads ok).
struct invalid_folder {
  const char* name;
  std::size_t files;
  std::set<id> first;
  std::map<std::string, std::optional<id>> unlike{};
};

// What each folder really holds was read byte by byte; the comments say what stands out.
const invalid_folder invalid_folders[] = {
    // The header declares 0 tracks and one MTrk follows.
    {"Extra Track Chunk", 1, {id::extra_tracks}},
    // A status byte 0xF4 (system common, not allowed in a file) where a channel message starts.
    {"Invalid Channel Event", 1, {id::status_byte_invalid}},
    // A data byte of 0x80 or more in a channel message.
    {"Invalid Channel Event Parameter Value",
     85,
     {id::data_byte_invalid},
     // The damaged data byte is 0xFF in running status: it reads as a meta event (FF 7F, 74 bytes) that
     // swallows the following messages, after which running status is reused across it.
     {{"Ich-Mucht-So-Gern-''Dave-Dudley''-Hor'n-2.mid", id::running_status_cancelled}}},
    // A track with bytes after its end-of-track event (its chunk is longer than its events).
    {"Invalid Chunk Size",
     97,
     {id::data_after_end_of_track},
     {// An MThd chunk of 10 bytes: the specification lets readers skip the extra bytes.
      {"candyluv.mid", std::nullopt},
      // The end-of-track event's length byte is 0x48, past the end of the chunk.
      {"LOBET.MID", id::length_past_end},
      // The last chunk declares 90 bytes more than the file holds.
      {"The-Trial.mid", id::chunk_truncated}}},
    // A key signature of more than 7 sharps or flats.
    {"Invalid Key Signature Key",
     14,
     {id::meta_value_invalid},
     // A tempo event retyped as a key signature: FF 59 03, 3 bytes where a key signature has 2.
     {{"Il-Silenzio-1.mid", id::meta_length_invalid},
      {"Where-Or-When.mid", id::meta_length_invalid},
      {"Zorba's-Dance-2.mid", id::meta_length_invalid}}},
    // A key signature whose mode byte is not 0 (major) or 1 (minor).
    {"Invalid Key Signature Scale", 95, {id::meta_value_invalid}},
    // Key signatures with a bad mode or key, and SMPTE offsets out of range.
    {"Invalid Meta Event Parameter Value", 95, {id::meta_value_invalid}},
    // An SMPTE offset meta event whose frame is past the frame rate.
    {"Invalid SMPTE Frames", 8, {id::meta_value_invalid}},
    {"No End of Track", 11, {id::missing_end_of_track}},
    // HTML pages, MP3, WAVE, ZIP and other files named .mid.
    {"No Header Chunk",
     100,
     {id::header_not_found},
     {// A 128-byte MacBinary header before the MThd chunk.
      {"gersh2.mid", id::leading_garbage},
      {"mohicans.mid", id::leading_garbage},
      {"strav1.mid", id::leading_garbage},
      {"willyous.mid", id::leading_garbage},
      // One stray byte before MThd.
      {"SailAway.mid", id::leading_garbage},
      // 7327 bytes of other data before MThd.
      {"holiday2.mid", id::leading_garbage}}},
    // Files cut short or followed by what is not a chunk: garbage or padding after the last track
    // (chunk_id_invalid), fewer than 8 bytes of it (trailing_bytes), a chunk longer than what is left
    // (chunk_truncated), or no MIDI at all (HTML, MP3, WAVE). The RMID files have their own test.
    {"Not Enough Bytes",
     98,
     {id::chunk_id_invalid, id::chunk_truncated, id::trailing_bytes, id::header_not_found},
     {// 36 tracks declared, the 37th MTrk comes before the garbage.
      {"sssbattle.mid", id::extra_tracks},
      // A MacBinary header before MThd.
      {"strav1.mid", id::leading_garbage},
      // A channel prefix meta event of 64 (over 15) comes before the trailing bytes.
      {"Lambada-Mix.mid", id::meta_value_invalid}}},
    // A data byte where a status byte is due, with no running status in force.
    {"Unexpected Running Status",
     36,
     {id::running_status_missing},
     {// A time signature (ENTERTN) or tempo (balloons) whose length byte says 2: continuo honours the
      // length, so balloons never loses step at all.
      {"ENTERTN.MID", id::meta_length_invalid},
      {"balloons.mid", id::meta_length_invalid},
      // The track chunk declares more bytes than the file holds; running status fails later.
      {"babe3.mid", id::chunk_truncated},
      {"grease06.mid", id::chunk_truncated},
      {"Nirvana - Been A Son.mid", id::chunk_truncated},
      {"Nirvana_-_Been_A_Son.mid", id::chunk_truncated},
      {"Nirvana_Been_A_Son.mid", id::chunk_truncated},
      // A data byte over 0x7F in an earlier track.
      {"addams.mid", id::data_byte_invalid},
      {"sharona.mid", id::data_byte_invalid}}},
    // The header declares 2 tracks, the file has 1.
    {"Unexpected Track Chunks Count", 1, {id::missing_tracks}},
    // Bytes that cannot start or continue a channel message: F1-FE status bytes, or data bytes over 0x7F.
    {"Unknown Channel Event",
     19,
     {id::status_byte_invalid, id::data_byte_invalid},
     // A track chunk longer than the file comes first.
     {{"prgybess.mid", id::chunk_truncated}}},
    // The only track's id is "MXrk": an unknown chunk, skipped as the specification asks, so the
    // header's one track is missing.
    {"Unknown Chunk Id", 1, {id::missing_tracks}},
    {"Unknown File Format",
     4,
     {id::unknown_format},
     // Its MThd also declares 100731768 bytes, which is reported first.
     {{"ba_bran3.mid", id::chunk_truncated}}},
};

class drywetmidi_invalid : public ::testing::TestWithParam<invalid_folder> {};

TEST_P(drywetmidi_invalid, every_file_reports_the_folders_defect_in_strict_and_lenient_mode) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto& folder = GetParam();
  const auto files = files_under(corpus / "drywetmidi" / "Invalid" / folder.name);
  ASSERT_EQ(files.size(), folder.files);
  std::set<std::string> unlike_seen;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto file_name = path.filename().string();
    const auto g = read_both_modes(path);
    if (is_rmid(load_file(path))) continue;  // see rmid_files_read_as_the_smf_in_their_data_chunk
    if (const auto it = folder.unlike.find(file_name); it != folder.unlike.end()) {
      unlike_seen.insert(file_name);
      if (it->second) {
        expect_damaged(g, *it->second);
      } else {
        expect_reads_ok(g);
      }
      continue;
    }
    ASSERT_FALSE(g.strict.file.diagnostics.empty()) << "a damaged file reads ok";
    const auto first = g.strict.file.diagnostics.front().id;
    EXPECT_TRUE(folder.first.contains(first)) << "strict mode stops at" << describe(g.strict.file.diagnostics);
    expect_damaged(g, first);
  }
  EXPECT_EQ(unlike_seen.size(), folder.unlike.size()) << "a file named in the table is missing";
}

std::string test_name(const ::testing::TestParamInfo<invalid_folder>& info) {
  std::string out;
  for (const char c : std::string(info.param.name)) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(corpus, drywetmidi_invalid, ::testing::ValuesIn(invalid_folders), test_name);

TEST(corpus, drywetmidi_invalid_folders_are_all_listed) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  std::set<std::string> listed;
  std::size_t files = 0;
  for (const auto& f : invalid_folders) {
    listed.insert(f.name);
    files += f.files;
  }
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(corpus / "drywetmidi" / "Invalid")) {
    present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(listed, present);
  EXPECT_EQ(files, 666U);  // /work/shared/README.md says 611: the folders hold 666
}

TEST(corpus, rmid_files_read_as_the_smf_in_their_data_chunk) {
  // RIFF-wrapped files (RMID) hold the SMF in a "data" chunk, often followed by RIFF "DISP" and "LIST"
  // chunks and a pad byte. The reader accepts the wrapper; what follows the data chunk is the RIFF
  // container's, not damage to the SMF, so the file must read as its data chunk alone does.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  std::size_t rmid = 0;
  for (const auto& path : files_under(corpus / "drywetmidi")) {
    const auto bytes = load_file(path);
    if (!is_rmid(bytes)) continue;
    SCOPED_TRACE(path.string());
    ++rmid;
    ASSERT_EQ(std::memcmp(bytes.data() + 12, "data", 4), 0);
    const std::size_t size = bytes[16] | (bytes[17] << 8U) | (bytes[18] << 16U) | (std::size_t{bytes[19]} << 24U);
    ASSERT_LE(20 + size, bytes.size());
    const auto inner = midi::read_smf(std::span(bytes).subspan(20, size), {.strict = true});
    ASSERT_EQ(inner.status, read_status::ok) << describe(inner.diagnostics);
    const auto whole = midi::read_smf(bytes, {.strict = true});
    EXPECT_EQ(whole.status, read_status::ok) << describe(whole.diagnostics);
    EXPECT_EQ(whole.events, inner.events);
  }
  EXPECT_EQ(rmid, 6U);
}

// --- jazz-soft ----------------------------------------------------------------------------------------

/// A damaged jazz-soft file: where strict mode stops, and every id lenient mode lists, in order.
struct jazz_soft_damage {
  id first;
  std::uint64_t offset;
  std::vector<id> lenient;
};

const std::map<std::string, jazz_soft_damage> jazz_soft_damaged = {
    {"test-2-tracks-type-0.mid", {id::format0_track_count, 10, {id::format0_track_count}}},
    {"test-corrupt-file-extra-byte.mid", {id::trailing_bytes, 275, {id::trailing_bytes}}},
    // The last byte (the end-of-track event's length) is missing: the chunk is one byte short of its length.
    {"test-corrupt-file-missing-byte.mid", {id::chunk_truncated, 18, {id::chunk_truncated, id::event_truncated}}},
    {"test-empty-file.mid", {id::header_not_found, 0, {id::header_not_found}}},
    {"test-not-a-midi-file.mid", {id::header_not_found, 0, {id::header_not_found}}},
    {"test-syx-7e-06-01-id-request.syx", {id::header_not_found, 0, {id::header_not_found}}},
    // F1-F6 and F8-FE in a track: transmission-only messages, skipped one by one.
    {"test-illegal-message-all.mid", {id::status_byte_invalid, 187, std::vector<id>(13, id::status_byte_invalid)}},
    {"test-illegal-message-f1-xx.mid", {id::status_byte_invalid, 216, {id::status_byte_invalid}}},
    {"test-illegal-message-f2-xx-xx.mid", {id::status_byte_invalid, 221, {id::status_byte_invalid}}},
    {"test-illegal-message-f3-xx.mid", {id::status_byte_invalid, 213, {id::status_byte_invalid}}},
    {"test-illegal-message-f4.mid", {id::status_byte_invalid, 205, {id::status_byte_invalid}}},
    {"test-illegal-message-f5.mid", {id::status_byte_invalid, 205, {id::status_byte_invalid}}},
    {"test-illegal-message-f6.mid", {id::status_byte_invalid, 208, {id::status_byte_invalid}}},
    {"test-illegal-message-f8.mid", {id::status_byte_invalid, 208, {id::status_byte_invalid}}},
    {"test-illegal-message-f9.mid", {id::status_byte_invalid, 205, {id::status_byte_invalid}}},
    {"test-illegal-message-fa.mid", {id::status_byte_invalid, 201, {id::status_byte_invalid}}},
    {"test-illegal-message-fb.mid", {id::status_byte_invalid, 204, {id::status_byte_invalid}}},
    {"test-illegal-message-fc.mid", {id::status_byte_invalid, 200, {id::status_byte_invalid}}},
    {"test-illegal-message-fd.mid", {id::status_byte_invalid, 205, {id::status_byte_invalid}}},
    {"test-illegal-message-fe.mid", {id::status_byte_invalid, 210, {id::status_byte_invalid}}},
    // Running status reused after a meta event and after a sysex event, which cancel it.
    {"test-running-status-metaevent.mid", {id::running_status_cancelled, 234, {id::running_status_cancelled}}},
    {"test-running-status-sysex.mid", {id::running_status_cancelled, 225, {id::running_status_cancelled}}},
};

TEST(corpus, jazz_soft_damaged_files_are_graded_and_the_others_read_ok) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = files_under(corpus / "jazz-soft");
  ASSERT_EQ(files.size(), 73U);
  std::size_t damaged = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto g = read_both_modes(path);
    const auto it = jazz_soft_damaged.find(path.filename().string());
    if (it == jazz_soft_damaged.end()) {
      expect_reads_ok(g);
      continue;
    }
    ++damaged;
    const auto& expected = it->second;
    expect_damaged(g, expected.first);
    ASSERT_FALSE(g.strict.file.diagnostics.empty());
    EXPECT_EQ(g.strict.file.diagnostics.front().offset, expected.offset);
    EXPECT_EQ(ids_of(g.lenient.file.diagnostics), expected.lenient) << describe(g.lenient.file.diagnostics);
  }
  EXPECT_EQ(damaged, jazz_soft_damaged.size());
}

TEST(corpus, jazz_soft_repaired_files_keep_every_note_of_their_scale) {
  // The damaged jazz-soft files play the C major scale of test-c-major-scale.mid around their defect:
  // lenient reading must recover all eight notes.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto dir = corpus / "jazz-soft";
  const auto scale = read_performance(load_file(dir / "test-c-major-scale.mid")).notes;
  ASSERT_EQ(scale.size(), 8U);
  for (const auto& [file, damage] : jazz_soft_damaged) {
    if (damage.first == id::header_not_found || file == "test-2-tracks-type-0.mid") continue;
    SCOPED_TRACE(file);
    const auto notes = read_performance(load_file(dir / file)).notes;
    EXPECT_EQ(notes.pitch, scale.pitch);
    EXPECT_EQ(notes.onset_tick, scale.onset_tick);
    EXPECT_EQ(notes.offset_tick, scale.offset_tick);
  }
}

// --- symusic, large, asap -----------------------------------------------------------------------------

TEST(corpus, symusic_files_read_ok_except_the_three_corrupted_ones) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  // The files that crashed symusic, and the first violation in each.
  const std::map<std::string, diagnostic> corrupted = {
      // A poly aftertouch (AE) whose data byte is 0xF9.
      {"Issue104_Bizarre_Love_Triangle2.mid", {id::data_byte_invalid, 16387, 3, {}}},
      // Running status reused after a meta event, in five tracks.
      {"RunTimeError_unexpected_EOF.mid", {id::running_status_cancelled, 44657, 8, {}}},
      // A control change (B2) of controller 168 (0xA8).
      {"ValueError_Control168.mid", {id::data_byte_invalid, 6042, 3, {}}},
  };
  const auto files = files_under(corpus / "symusic");
  ASSERT_EQ(files.size(), 30U);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const auto g = read_both_modes(path);
    const auto it = corrupted.find(path.filename().string());
    if (it == corrupted.end()) {
      expect_reads_ok(g);
      continue;
    }
    expect_damaged(g, it->second.id);
    ASSERT_FALSE(g.strict.file.diagnostics.empty());
    EXPECT_EQ(g.strict.file.diagnostics.front().offset, it->second.offset);
    EXPECT_EQ(g.strict.file.diagnostics.front().track, it->second.track);
    EXPECT_FALSE(g.lenient.perf.notes.empty()) << "lenient mode salvages the notes before the damage";
  }
}

TEST(corpus, large_orchestral_file_reads_ok_with_all_its_tracks) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto g = read_both_modes(corpus / "large" / "mahler.mid");
  expect_reads_ok(g);
  EXPECT_EQ(g.strict.file.tracks.size(), 33U);
  EXPECT_EQ(g.strict.perf.status, read_status::ok);
}

TEST(corpus, asap_performances_and_scores_all_read_ok_in_strict_mode) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  std::size_t performances = 0;
  std::size_t scores = 0;
  for (const auto& path : files_under(corpus / "asap")) {
    SCOPED_TRACE(path.string());
    const auto g = read_both_modes(path);
    expect_reads_ok(g);
    EXPECT_EQ(g.strict.perf.status, read_status::ok) << describe(g.strict.perf.diagnostics);
    EXPECT_FALSE(g.strict.perf.notes.empty());
    ++(path.filename() == "midi_score.mid" ? scores : performances);
  }
  EXPECT_EQ(performances, 886U);
  EXPECT_EQ(scores, 188U);
}

// --- the whole corpus ---------------------------------------------------------------------------------

/// Every file of every folder of the corpus, and how many there are: drywetmidi (one file outside
/// Valid and Invalid, "You're No Good.mid", which reads ok; 63 valid; 666 invalid), jazz-soft,
/// symusic, large, asap.
std::vector<fs::path> every_corpus_file(const fs::path& corpus) {
  std::vector<fs::path> files;
  for (const char* folder : {"drywetmidi", "jazz-soft", "symusic", "large", "asap"}) {
    const auto under = files_under(corpus / folder);
    files.insert(files.end(), under.begin(), under.end());
  }
  return files;
}
constexpr std::size_t corpus_file_count = 1U + 63U + 666U + 73U + 30U + 1U + 1074U;

TEST(corpus, read_smf_and_read_performance_grade_every_file_alike) {
  // read_graded checks the agreement; this walks every file of every folder in both modes, whatever
  // the tests above expect of it.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = every_corpus_file(corpus);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    read_both_modes(path);
  }
  EXPECT_EQ(files.size(), corpus_file_count);
}

TEST(corpus, one_performance_reader_reads_every_file_as_read_performance_does) {
  // Files of every size and state one after another through the same memory, in both modes.
  CONTINUO_CORPUS_OR_SKIP(corpus);
  for (const bool strict : {false, true}) {
    const performance_options options{.read = {.strict = strict}};
    performance_reader reader(options);
    performance perf;
    for (const char* folder : {"drywetmidi", "jazz-soft", "symusic", "large"}) {
      for (const auto& path : files_under(corpus / folder)) {
        SCOPED_TRACE(path.string() + (strict ? ", strict" : ", lenient"));
        const auto bytes = load_file(path);
        reader.read(bytes, perf);
        ASSERT_EQ(perf, read_performance(bytes, options));
      }
    }
  }
}

TEST(corpus, a_read_in_ticks_only_given_its_seconds_equals_the_full_read) {
  CONTINUO_CORPUS_OR_SKIP(corpus);
  const auto files = every_corpus_file(corpus);
  for (std::size_t k = 0; k < files.size(); ++k) {
    SCOPED_TRACE(files[k].string());
    const auto bytes = load_file(files[k]);
    const bool sustain = k % 2 == 1;  // every other file with sustain-extended offsets
    const auto full = read_performance(bytes, {.sustain = sustain});
    auto ticks = read_performance(bytes, {.sustain = sustain, .note_seconds = false});
    ASSERT_TRUE(ticks.notes.onset_s.empty() && ticks.notes.offset_s.empty());
    add_note_seconds(ticks);
    ASSERT_EQ(ticks, full);
  }
  EXPECT_EQ(files.size(), corpus_file_count);
}

}  // namespace
}  // namespace continuo

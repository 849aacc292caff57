// The `continuo` command-line tool: inspect MIDI files, list their notes, split and identify practice.
// Exit status: 0 success, 1 usage or I/O error, 2 the file is not a usable MIDI file.

#include <continuo/continuo.hpp>

#include <boost/json.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

constexpr int exit_usage = 1;
constexpr int exit_invalid = 2;

constexpr std::string_view main_help = R"(continuo - practice history and ML datasets from a digital piano's MIDI

Usage:
  continuo inspect FILE [--strict] [--json]
  continuo notes FILE [--csv] [--pairing fifo|lifo|close_all] [--sustain] [--strict]
  continuo convert IN OUT [--ppq N] [--format 0|1] [--pairing fifo|lifo|close_all]
  continuo sessions FILE [--attempt-gap S] [--restart-gap S] [--session-gap S] [--json | --csv]
  continuo identify FILE --piece [NAME=]REFERENCE... [--attempt-gap S] [--restart-gap S] [--json]
  continuo COMMAND --help
  continuo --version

Exit status: 0 success, 1 usage or I/O error, 2 the file is not a usable MIDI file.
)";

constexpr std::string_view inspect_help = R"(Usage: continuo inspect FILE [--strict] [--json]

Reads a Standard MIDI File and reports its structure and every problem found in it.

  --strict  stop at the first violation of the SMF specification (status "invalid")
            instead of repairing it (the default reads leniently, status "repaired")
  --json    print one JSON object: file, status, format, tracks, division, timing,
            events, notes, pedals, tempo_changes, duration_tick, duration_s and
            diagnostics (id, code, offset, track, message)

Exits 2, after the report, when the file is invalid.
)";

constexpr std::string_view notes_help =
    R"(Usage: continuo notes FILE [--csv] [--pairing fifo|lifo|close_all] [--sustain] [--strict]

Prints the notes of a MIDI file as CSV, sorted by onset then pitch, with the header
onset_s,offset_s,pitch,velocity,channel,track,onset_tick,offset_tick

  --csv                 CSV output (the default, and for now the only format)
  --pairing POLICY      which sounding note a note-off ends when one pitch is struck
                        again before release: fifo (oldest, default), lifo (newest),
                        close_all (every one, as pretty_midi does)
  --sustain             extend notes while the sustain pedal (CC64) is down
  --strict              refuse files that violate the SMF specification
)";

constexpr std::string_view convert_help =
    R"(Usage: continuo convert IN OUT [--ppq N] [--format 0|1] [--pairing fifo|lifo|close_all]

Reads IN leniently and writes its performance (notes, pedals, controls, programs, pitch
bends, tempo, time and key signatures) to OUT as a clean Standard MIDI File.

  --ppq N           ticks per quarter note of OUT (default: keep IN's division)
  --format 0|1      SMF format of OUT (default 1)
  --pairing POLICY  pairing used to read IN, and that OUT is written for (default fifo)
)";

constexpr std::string_view sessions_help =
    R"(Usage: continuo sessions FILE [--attempt-gap S] [--restart-gap S] [--session-gap S] [--json | --csv]

Splits a recording into practice sessions and attempts (stretches of continuous playing) and
measures each attempt: notes, notes per second, mean velocity, time with the sustain pedal down,
and the tempo and key estimated from the notes alone (docs/sessions.md, docs/features.md and
docs/tempo_key.md; "-" where an attempt has too few notes for a tempo).

  --attempt-gap S   silence, in seconds, with no key down and the pedal up, that ends an
                    attempt (default 3)
  --restart-gap S   a shorter silence, of at least S seconds, also ends an attempt when the
                    playing broke off and starts again from a little earlier (default 1; 0 off)
  --session-gap S   time between attempts, in seconds, that ends a session (default 600)
  --json            print one JSON object: sessions, each with its attempts and their features
  --csv             print one CSV line per attempt: its session (from 0), start_s, end_s,
                    first_note and every feature, named as in docs/features.md
)";

constexpr std::string_view identify_help =
    R"(Usage: continuo identify FILE --piece [NAME=]REFERENCE... [--attempt-gap S] [--restart-gap S] [--json]

Splits a recording into attempts and says, for each, which registered piece was played, which
bars and how fast against the reference; then, for each piece played, how many times each bar
was played (docs/repertoire.md).

  --piece [NAME=]REFERENCE  register a piece from a MIDI file (a score or a performance) whose
                            time signatures give the bars; NAME defaults to the file's name.
                            Give --piece once per piece
  --attempt-gap S           silence, in seconds, that ends an attempt (default 3)
  --restart-gap S           a shorter silence that ends an attempt when the playing broke off and
                            starts again from a little earlier (default 1; 0 turns it off)
  --json                    print one JSON object: attempts (piece, confidence, placements with
                            bars and tempo ratio), for each piece played the plays of each bar,
                            and the diagnostics of the split (id, time_s, message)
)";

struct usage_error {
  std::string message;
};

/// The arguments after the command name: positional ones and --flags with optional values.
class arguments {
 public:
  arguments(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) items_.emplace_back(argv[i]);
  }
  /// Whether `name` is among the arguments (which stay as they are).
  [[nodiscard]] bool has(std::string_view name) const {
    return std::find(items_.begin(), items_.end(), name) != items_.end();
  }
  /// Returns true and removes the flag if present.
  bool flag(std::string_view name) {
    const auto it = std::find(items_.begin(), items_.end(), name);
    if (it == items_.end()) return false;
    items_.erase(it);
    refuse_another(name);
    return true;
  }
  /// Returns the value after `name`, removing both.
  std::optional<std::string> value(std::string_view name) {
    auto v = take_value(name);
    if (v) refuse_another(name);
    return v;
  }
  /// Returns the values of an option that may be given more than once, in order.
  std::vector<std::string> values(std::string_view name) {
    std::vector<std::string> all;
    while (auto v = take_value(name)) all.push_back(std::move(*v));
    return all;
  }
  /// Returns the remaining arguments, which must be `count` positional ones.
  std::vector<std::string> positional(std::size_t count, std::string_view what) {
    for (const auto& a : items_) {
      if (a.size() > 1 && a[0] == '-') throw usage_error{"unknown option '" + a + "'"};
    }
    if (items_.size() != count) throw usage_error{"expected " + std::string(what)};
    return items_;
  }

 private:
  std::optional<std::string> take_value(std::string_view name) {
    const auto it = std::find(items_.begin(), items_.end(), name);
    if (it == items_.end()) return std::nullopt;
    if (std::next(it) == items_.end()) throw usage_error{std::string(name) + " needs a value"};
    std::string v = *std::next(it);
    items_.erase(it, std::next(it, 2));
    return v;
  }
  /// An option given twice is a mistake to point out (which one was meant?), not an unknown option.
  void refuse_another(std::string_view name) const {
    if (has(name)) throw usage_error{std::string(name) + " is given twice; give it once"};
  }

  std::vector<std::string> items_;
};

continuo::pairing_policy parse_pairing(const std::optional<std::string>& text) {
  if (!text || *text == "fifo") return continuo::pairing_policy::fifo;
  if (*text == "lifo") return continuo::pairing_policy::lifo;
  if (*text == "close_all") return continuo::pairing_policy::close_all;
  throw usage_error{"--pairing must be fifo, lifo or close_all, not '" + *text + "'"};
}

/// Appends the shortest decimal form of `value` that reads back as the same double.
void append_number(std::string& out, double value) {
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, r.ptr);
}
void append_number(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, r.ptr);
}

/// Returns `text` as valid UTF-8 for JSON, each byte that is not part of a valid sequence replaced
/// by U+FFFD: a path or a name is whatever bytes the file system holds.
boost::json::string json_text(std::string_view text) {
  boost::json::string out;
  out.reserve(text.size());
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char lead = byte(i);
    // The length of the sequence `lead` starts, and the range its second byte must lie in (which
    // rules out overlong forms, surrogates and code points past U+10FFFF).
    std::size_t length = 1;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else if (lead >= 0x80) {
      length = 0;  // a continuation byte or a lead byte that no valid sequence starts with
    }
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = k == 1 ? byte(i + 1) >= low && byte(i + 1) <= high : byte(i + k) >= 0x80 && byte(i + k) <= 0xBF;
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    }
  }
  return out;
}

/// Returns a time of the take as h:mm:ss.
std::string clock_text(double seconds) {
  char text[32];
  const auto whole = static_cast<long long>(seconds);
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", whole / 3600, whole / 60 % 60, whole % 60);
  return text;
}

/// Prints the sessionizer's diagnostics (a stuck key, the clock's end) under a table, each with its time.
void print_stream_diagnostics(const std::vector<continuo::session_diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) {
    std::cout << "  [" << continuo::name(d.id) << "] at " << clock_text(static_cast<double>(d.time_ns) / 1e9) << ": "
              << d.message << '\n';
  }
}

/// The sessionizer's diagnostics as JSON: id, time_s and message.
boost::json::array stream_diagnostics_json(const std::vector<continuo::session_diagnostic>& diagnostics) {
  boost::json::array out;
  for (const auto& d : diagnostics) {
    out.push_back(
        {{"id", continuo::name(d.id)}, {"time_s", static_cast<double>(d.time_ns) / 1e9}, {"message", d.message}});
  }
  return out;
}

/// Returns `text` as one word for a POSIX shell: as it is when it holds nothing the shell would
/// read specially, else in single quotes (a path with spaces, as a command to paste).
std::string shell_word(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("/._-+,:@%").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(text);
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Prints the one-line error for an unusable file and returns the exit status.
int report_invalid(const std::string& path, const continuo::performance& perf) {
  const std::string why = perf.diagnostics.empty() ? "not a usable MIDI file" : to_string(perf.diagnostics.front());
  std::cerr << "continuo: " << path << ": invalid MIDI file: " << why << '\n';
  return exit_invalid;
}

int inspect(arguments args) {
  continuo::performance_options options;
  options.read.strict = args.flag("--strict");
  options.keep_controls = false;  // counts and times only: no note's seconds nor any control is printed
  options.note_seconds = false;
  const bool json = args.flag("--json");
  const auto path = args.positional(1, "one FILE")[0];
  const auto bytes = continuo::load_file(path);
  const auto perf = continuo::read_performance(bytes, options);
  const auto division = perf.tempo.division();

  if (json) {
    boost::json::object timing;
    if (division.is_smpte()) {
      timing["type"] = "smpte";
      timing["frames_per_second"] = division.smpte_fps() == 29 ? 29.97 : division.smpte_fps();
      timing["ticks_per_frame"] = division.ticks_per_frame();
    } else {
      timing["type"] = "metrical";
      timing["ticks_per_quarter"] = division.ticks_per_quarter();
    }
    boost::json::array diagnostics;
    for (const auto& d : perf.diagnostics) {
      diagnostics.push_back({{"id", continuo::name(d.id)},
                             {"code", static_cast<int>(d.id)},
                             {"offset", d.offset},
                             {"track", d.track},
                             {"message", d.message}});
    }
    boost::json::object report{{"file", json_text(path)},
                               {"status", continuo::name(perf.status)},
                               {"format", perf.format},
                               {"tracks", perf.track_count},
                               {"division", division.raw},
                               {"timing", std::move(timing)},
                               {"events", perf.event_count},
                               {"notes", perf.notes.size()},
                               {"pedals", perf.pedals.size()},
                               {"tempo_changes", perf.tempo.changes().size()},
                               {"duration_tick", perf.duration_tick},
                               {"duration_s", perf.duration_s},
                               {"diagnostics", std::move(diagnostics)}};
    std::cout << boost::json::serialize(report) << '\n';
  } else {
    std::cout << path << ": " << continuo::name(perf.status) << '\n'
              << "  format " << perf.format << ", " << perf.track_count << " track(s), ";
    if (division.is_smpte()) {
      std::cout << "SMPTE " << (division.smpte_fps() == 29 ? "29.97" : std::to_string(division.smpte_fps()))
                << " fps x " << int{division.ticks_per_frame()} << " ticks\n";
    } else {
      std::cout << division.ticks_per_quarter() << " ticks per quarter\n";
    }
    std::cout << "  " << perf.event_count << " events, " << perf.notes.size() << " notes, " << perf.pedals.size()
              << " pedal spans, " << perf.duration_s << " s\n";
    for (const auto& d : perf.diagnostics) std::cout << "  " << to_string(d) << '\n';
  }
  return perf.status == continuo::read_status::invalid ? report_invalid(path, perf) : 0;
}

/// What the commands that print notes, sessions or pieces read: notes and pedals (no other control
/// change is shown, and a take of dense pedalling would otherwise hold 16 bytes a change).
continuo::performance_options notes_and_pedals() {
  continuo::performance_options options;
  options.keep_controls = false;
  return options;
}

int notes(arguments args) {
  auto options = notes_and_pedals();
  args.flag("--csv");
  options.sustain = args.flag("--sustain");
  options.read.strict = args.flag("--strict");
  options.pairing = parse_pairing(args.value("--pairing"));
  const auto path = args.positional(1, "one FILE")[0];
  const auto perf = continuo::read_performance(continuo::load_file(path), options);
  if (perf.status == continuo::read_status::invalid) return report_invalid(path, perf);
  if (perf.status == continuo::read_status::repaired) {
    std::cerr << "continuo: warning: " << path << " was repaired (" << perf.diagnostics.size()
              << " diagnostic(s)); `continuo inspect " << shell_word(path) << "` lists them\n";
  }
  const auto& n = perf.notes;
  // Written a mebibyte at a time: a take of millions of notes is not held twice, once as text.
  constexpr std::size_t chunk_bytes = std::size_t{1} << 20U;
  std::string out = "onset_s,offset_s,pitch,velocity,channel,track,onset_tick,offset_tick\n";
  out.reserve(chunk_bytes + 256);
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (out.size() >= chunk_bytes) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
    append_number(out, n.onset_s[i]);
    out += ',';
    append_number(out, n.offset_s[i]);
    for (const int v : {int{n.pitch[i]}, int{n.velocity[i]}, int{n.channel[i]}, int{n.track[i]}}) {
      out += ',';
      append_number(out, std::int64_t{v});
    }
    out += ',';
    append_number(out, n.onset_tick[i]);
    out += ',';
    append_number(out, n.offset_tick[i]);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

/// How many notes of `perf` (their ticks, pitch, channel and velocities; not their track) are not
/// among those of `reference`.
std::size_t notes_not_in(const continuo::performance& perf, const continuo::performance& reference) {
  using key = std::tuple<continuo::tick_t, continuo::tick_t, int, int, int, int>;
  const auto keys = [](const continuo::note_columns& n) {
    std::vector<key> out;
    out.reserve(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) {
      out.emplace_back(n.onset_tick[i], n.offset_tick[i], n.pitch[i], n.channel[i], n.velocity[i],
                       n.release_velocity[i]);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto mine = keys(perf.notes);
  const auto theirs = keys(reference.notes);
  std::vector<key> missing;
  std::set_difference(mine.begin(), mine.end(), theirs.begin(), theirs.end(), std::back_inserter(missing));
  return missing.size();
}

int convert(arguments args) {
  continuo::midi::write_options write;
  if (const auto ppq = args.value("--ppq")) {
    int v = 0;
    const auto r = std::from_chars(ppq->data(), ppq->data() + ppq->size(), v);
    if (r.ec != std::errc{} || r.ptr != ppq->data() + ppq->size() || v < 1 || v > 32767) {
      throw usage_error{"--ppq must be a whole number from 1 to 32767, not '" + *ppq + "'"};
    }
    write.ticks_per_quarter = static_cast<std::uint16_t>(v);
  }
  if (const auto format = args.value("--format")) {
    if (*format != "0" && *format != "1") throw usage_error{"--format must be 0 or 1, not '" + *format + "'"};
    write.format = static_cast<std::uint16_t>((*format)[0] - '0');
  }
  continuo::performance_options read;
  read.pairing = write.pairing = parse_pairing(args.value("--pairing"));
  const auto paths = args.positional(2, "IN and OUT");
  const auto perf = continuo::read_performance(continuo::load_file(paths[0]), read);
  if (perf.status == continuo::read_status::invalid) return report_invalid(paths[0], perf);
  const auto bytes = continuo::midi::write_performance(perf, write);
  continuo::save_file(paths[1], bytes);
  std::cerr << "continuo: wrote " << perf.notes.size() << " notes to " << paths[1] << '\n';
  if (write.format == 0) {
    // One track cannot always hold what several did: notes of one key and channel that overlap in
    // different tracks pair up another way once they share a track. Format 1 keeps them (a property
    // the tests check), so any note that differs from that write's is one the merge changed.
    auto as_format1 = write;
    as_format1.format = 1;
    auto notes_only = read;
    notes_only.keep_controls = false;
    const auto changed = notes_not_in(continuo::read_performance(bytes, notes_only),
                                      continuo::read_performance(continuo::midi::write_performance(perf, as_format1),
                                                                 notes_only));
    if (changed > 0) {
      std::cerr << "continuo: warning: " << changed << " note(s) read back from " << paths[1]
                << " differ: in one track, notes of one key that overlapped in different tracks pair up "
                   "another way; --format 1 keeps them as they were\n";
    }
  }
  return 0;
}

enum class zero { refused, allowed };

/// Reads a duration option: seconds from 1 ms (or 0, where 0 turns something off) up to 1e7 (115
/// days). Below a millisecond a gap means nothing in playing, and the sessionizer's nanosecond clock
/// would round it to nothing.
double parse_seconds(const std::optional<std::string>& text, double fallback, std::string_view option,
                     zero allow = zero::refused) {
  if (!text) return fallback;
  double v = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), v);
  const bool in_range = (v >= 1e-3 || (allow == zero::allowed && v == 0)) && v <= 1e7;
  if (r.ec != std::errc{} || r.ptr != text->data() + text->size() || !in_range) {
    throw usage_error{std::string(option) + " must be a number of seconds from " +
                      (allow == zero::allowed ? "0 (off) or 0.001" : "0.001") + " up to 1e7, not '" + *text + "'"};
  }
  return v;
}

/// --attempt-gap and --restart-gap, shared by the commands that split attempts.
continuo::sessionizer_options attempt_options(arguments& args) {
  continuo::sessionizer_options options;
  options.attempt_gap_s = parse_seconds(args.value("--attempt-gap"), options.attempt_gap_s, "--attempt-gap");
  options.restart_gap_s = parse_seconds(args.value("--restart-gap"), options.restart_gap_s, "--restart-gap",
                                        zero::allowed);
  return options;
}

int sessions(arguments args) {
  auto options = attempt_options(args);
  options.session_gap_s = parse_seconds(args.value("--session-gap"), options.session_gap_s, "--session-gap");
  const bool json = args.flag("--json");
  const bool csv = args.flag("--csv");
  if (json && csv) throw usage_error{"choose one of --json and --csv"};
  const auto path = args.positional(1, "one FILE")[0];
  const auto perf = continuo::read_performance(continuo::load_file(path), notes_and_pedals());
  if (perf.status == continuo::read_status::invalid) return report_invalid(path, perf);
  const auto split = continuo::split_practice(perf, options);
  std::vector<continuo::practice_features> features;
  features.reserve(split.attempts.size());
  for (const auto& a : split.attempts) features.push_back(continuo::compute_features(perf, a));
  const auto names = continuo::feature_names();

  if (csv) {
    std::string out = "session,start_s,end_s,first_note";  // the features hold note_count
    for (const auto name : names) (out += ',') += name;
    out += '\n';
    for (std::size_t i = 0; i < split.attempts.size(); ++i) {
      const auto& a = split.attempts[i];
      append_number(out, std::int64_t{a.session});
      out += ',';
      append_number(out, a.start_s());
      out += ',';
      append_number(out, a.end_s());
      out += ',';
      append_number(out, static_cast<std::int64_t>(a.first_note));
      for (const double v : continuo::to_vector(features[i])) {
        out += ',';
        append_number(out, v);
      }
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (json) {
    boost::json::array sessions;
    for (const auto& s : split.sessions) {
      boost::json::array attempts;
      for (std::uint32_t i = s.first_attempt; i < s.first_attempt + s.attempt_count; ++i) {
        const auto& a = split.attempts[i];
        boost::json::object attempt_features;
        const auto values = continuo::to_vector(features[i]);
        for (std::size_t k = 0; k < names.size(); ++k) attempt_features[names[k]] = values[k];
        attempts.push_back({{"start_s", a.start_s()},
                            {"end_s", a.end_s()},
                            {"first_note", a.first_note},
                            {"note_count", a.note_count},
                            {"features", std::move(attempt_features)}});
      }
      sessions.push_back({{"start_s", s.start_s()},
                          {"end_s", s.end_s()},
                          {"playing_s", s.playing_s()},
                          {"note_count", s.note_count},
                          {"attempts", std::move(attempts)}});
    }
    std::cout << boost::json::serialize(
                     boost::json::object{{"file", json_text(path)},
                                         {"attempt_gap_s", options.attempt_gap_s},
                                         {"restart_gap_s", options.restart_gap_s},
                                         {"session_gap_s", options.session_gap_s},
                                         {"sessions", std::move(sessions)},
                                         {"diagnostics", stream_diagnostics_json(split.diagnostics)}})
              << '\n';
    return 0;
  }
  std::cout << path << ": " << split.sessions.size() << " session(s), " << split.attempts.size() << " attempt(s)\n";
  for (std::size_t k = 0; k < split.sessions.size(); ++k) {
    const auto& s = split.sessions[k];
    std::cout << "\nsession " << k + 1 << "  " << clock_text(s.start_s()) << " - " << clock_text(s.end_s())
              << "  playing " << clock_text(s.playing_s()) << " of " << clock_text(s.end_s() - s.start_s()) << ", "
              << s.attempt_count << " attempt(s), " << s.note_count << " notes\n";
    for (std::uint32_t i = s.first_attempt; i < s.first_attempt + s.attempt_count; ++i) {
      const auto& a = split.attempts[i];
      const auto& f = features[i];
      char tempo[16] = "  - bpm";
      if (f.beat_period_s > 0) std::snprintf(tempo, sizeof tempo, "%3.0f bpm", 60 / f.beat_period_s);
      char line[160];
      std::snprintf(line, sizeof line, "  %s  %6.1f s  %5llu notes  %5.1f notes/s  velocity %3.0f  pedal %3.0f%%  %s  ",
                    clock_text(a.start_s()).c_str(), a.duration_s(), static_cast<unsigned long long>(a.note_count),
                    f.notes_per_second, f.velocity_mean, 100 * f.sustain_fraction, tempo);
      std::cout << line << continuo::key_name(static_cast<int>(f.key_sharps), f.key_minor != 0) << '\n';
    }
  }
  print_stream_diagnostics(split.diagnostics);
  return 0;
}

/// Returns the bar heatmap as one line of block characters, one per bar, darker for more plays.
std::string heat_line(const std::vector<std::uint32_t>& plays) {
  static constexpr std::string_view levels[] = {"·", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::uint32_t most = 0;
  for (const auto p : plays) most = std::max(most, p);
  std::string line;
  for (std::size_t b = 1; b < plays.size(); ++b) {  // plays[0] is the pickup
    const auto level = most == 0 || plays[b] == 0 ? 0 : 1 + (plays[b] - 1) * 7 / std::max<std::uint32_t>(most - 1, 1);
    line += levels[std::min<std::size_t>(level, 8)];
  }
  return line;
}

int identify(arguments args) {
  const auto options = attempt_options(args);
  const bool json = args.flag("--json");
  std::vector<std::pair<std::string, std::string>> pieces;  // name, file
  for (const std::string& piece : args.values("--piece")) {
    const auto eq = piece.find('=');
    std::string file = eq == std::string::npos ? piece : piece.substr(eq + 1);
    std::string name = eq == std::string::npos ? std::filesystem::path(file).stem().string() : piece.substr(0, eq);
    if (file.empty() || name.empty()) throw usage_error{"--piece needs [NAME=]FILE, not '" + piece + "'"};
    pieces.emplace_back(std::move(name), std::move(file));
  }
  const auto path = args.positional(1, "one FILE")[0];
  if (pieces.empty()) throw usage_error{"register at least one piece with --piece [NAME=]FILE"};

  continuo::repertoire rep;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& [name, file] = pieces[i];
    for (std::size_t k = 0; k < i; ++k) {
      if (pieces[k].first == name) {
        throw usage_error{"two pieces are named '" + name + "': give each its own name with --piece NAME=FILE"};
      }
    }
    const auto reference = continuo::read_performance(continuo::load_file(file), notes_and_pedals());
    if (reference.status == continuo::read_status::invalid) return report_invalid(file, reference);
    if (reference.notes.empty()) {
      std::cerr << "continuo: " << file << ": the reference of '" << name << "' has no notes to recognise it by\n";
      return exit_invalid;
    }
    rep.add(name, reference);
  }
  const auto perf = continuo::read_performance(continuo::load_file(path), notes_and_pedals());
  if (perf.status == continuo::read_status::invalid) return report_invalid(path, perf);
  const auto split = continuo::split_practice(perf, options);
  const auto analysis = rep.analyse(perf, split);

  if (json) {
    boost::json::array attempts;
    for (const auto& a : analysis.attempts) {
      boost::json::array placements;
      for (const auto& p : a.placements) {
        placements.push_back({{"start_s", p.query_start_s},
                              {"end_s", p.query_end_s},
                              {"first_bar", p.first_bar},
                              {"last_bar", p.last_bar},
                              {"tempo_ratio", p.tempo_ratio}});
      }
      const auto& id = a.identified;
      attempts.push_back({{"start_s", a.attempt.start_s()},
                          {"end_s", a.attempt.end_s()},
                          {"note_count", a.attempt.note_count},
                          {"piece", id.known() ? boost::json::value(json_text(id.name)) : boost::json::value(nullptr)},
                          {"confidence", id.confidence},
                          {"tempo_ratio", id.tempo_ratio},
                          {"placements", std::move(placements)}});
    }
    boost::json::array heatmaps;
    for (const auto& h : analysis.heatmaps) {
      boost::json::array plays;
      for (const auto p : h.plays) plays.push_back(p);
      heatmaps.push_back({{"piece", json_text(h.name)}, {"bar_plays", std::move(plays)}});
    }
    std::cout << boost::json::serialize(
                     boost::json::object{{"file", json_text(path)},
                                         {"attempt_gap_s", options.attempt_gap_s},
                                         {"restart_gap_s", options.restart_gap_s},
                                         {"attempts", std::move(attempts)},
                                         {"pieces", std::move(heatmaps)},
                                         {"diagnostics", stream_diagnostics_json(split.diagnostics)}})
              << '\n';
    return 0;
  }
  std::cout << path << ": " << analysis.attempts.size() << " attempt(s), " << rep.size() << " piece(s) registered\n";
  for (const auto& a : analysis.attempts) {
    char head[96];
    std::snprintf(head, sizeof head, "  %s  %6.1f s  ", clock_text(a.attempt.start_s()).c_str(),
                  a.attempt.duration_s());
    std::cout << head;
    if (!a.identified.known()) {
      std::cout << "unknown\n";
      continue;
    }
    std::cout << a.identified.name;
    for (const auto& p : a.placements) {
      // The bars the heatmap counts: those the passage covers at least half of (bar b spans [b, b + 1)).
      const double first = std::ceil(p.first_bar - 0.5);
      const double last = std::floor(p.last_bar - 0.5);
      char where[96];
      if (first <= last) {
        std::snprintf(where, sizeof where, "  bars %.0f-%.0f at %.0f%%", first, last, 100 * p.tempo_ratio);
      } else {  // less than half of any bar
        std::snprintf(where, sizeof where, "  around bar %.0f at %.0f%%", std::floor((p.first_bar + p.last_bar) / 2),
                      100 * p.tempo_ratio);
      }
      std::cout << where;
    }
    std::cout << '\n';
  }
  for (const auto& h : analysis.heatmaps) {
    std::uint32_t most = 0;
    for (const auto p : h.plays) most = std::max(most, p);
    std::cout << "\n"
              << h.name << ": plays per bar, bars 1-" << (h.plays.empty() ? 0 : h.plays.size() - 1)
              << " (darkest: " << most << ")\n  " << heat_line(h.plays) << '\n';
  }
  if (!split.diagnostics.empty()) std::cout << '\n';
  print_stream_diagnostics(split.diagnostics);
  return 0;
}

int run(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    std::cout << main_help;
    return command.empty() ? exit_usage : 0;
  }
  if (command == "--version") {
    std::cout << "continuo " << continuo::version() << '\n';
    return 0;
  }
  struct entry {
    std::string_view name;
    std::string_view help;
    int (*run)(arguments);
  };
  static constexpr entry commands[] = {{"inspect", inspect_help, inspect},
                                       {"notes", notes_help, notes},
                                       {"convert", convert_help, convert},
                                       {"sessions", sessions_help, sessions},
                                       {"identify", identify_help, identify}};
  for (const auto& c : commands) {
    if (command != c.name) continue;
    arguments args(argc, argv, 2);
    if (args.has("--help") || args.has("-h")) {  // help wins over anything else given
      std::cout << c.help;
      return 0;
    }
    try {
      return c.run(std::move(args));
    } catch (const usage_error& e) {
      std::cerr << "continuo " << c.name << ": " << e.message << "\n\n" << c.help;
      return exit_usage;
    }
  }
  std::cerr << "continuo: unknown command '" << command << "'; `continuo --help` lists the commands\n";
  return exit_usage;
}

/// True when standard output is a pipe whose reader has closed it (`| head` had its fill).
bool reader_gone() {
  pollfd out{.fd = STDOUT_FILENO, .events = POLLOUT, .revents = 0};
  return ::poll(&out, 1, 0) == 1 && (out.revents & POLLERR) != 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that stops early (`continuo notes f.mid --csv | head`) closes the pipe: the write then
  // fails with EPIPE, and the tool ends with a status, never by the signal.
  std::signal(SIGPIPE, SIG_IGN);
  int status = exit_usage;
  try {
    status = run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "continuo: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "continuo: " << e.what() << '\n';
  }
  // Output cut short (a full disk, a closed stdout) must not pass for a whole report.
  if (!(std::cout << std::flush) || std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    // A closed pipe is the reader's choice, not news for the user.
    if (!reader_gone()) std::cerr << "continuo: cannot write standard output: " << std::strerror(errno) << '\n';
    return exit_usage;
  }
  return status;
}

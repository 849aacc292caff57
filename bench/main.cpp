/// continuo_bench: the C++ half of the benchmark suite (bench/run.py is the other half).
///
///     continuo_bench run [--budget S] [--min-repeats N] [--max-repeats N] [--only TOOL/LEVEL,...] SOURCE...
///     continuo_bench generate --out DIR [--seed N] [--takes HOURS:PPQ[:off][*COPIES],...]
///     continuo_bench features [--budget S] [--min-repeats N] [--max-repeats N] [--window S] [--only OP,...] SOURCE...
///
/// `run` loads every SOURCE (a file, a folder, or @list) into memory, then times each tool and
/// level on those bytes and prints one JSON object to stdout; progress goes to stderr. `generate`
/// writes the synthetic long practice takes and prints what it wrote as JSON. `features` parses every
/// SOURCE, then times practice-feature extraction on the parsed performances (bench/features.cpp).
#include "alloc_counter.hpp"
#include "command_line.hpp"
#include "corpus.hpp"
#include "cpu_clock.hpp"
#include "features.hpp"
#include "libsmf_peer.hpp"
#include "practice_take.hpp"

#include <continuo/midi/reader.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace continuo_bench {
namespace {

double wall_s() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Keeps every result observable, so that no read can be optimised away.
volatile std::uint64_t sink = 0;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

/// How long to time each tool and level.
struct timing_options {
  double budget_s = 1.0;  ///< Stop repeating once this much time went into timed passes...
  int min_repeats = 3;    ///< ...but not before this many passes over the corpus...
  int max_repeats = 200;  ///< ...and never more than this many.
};

/// What one tool at one level did on a whole corpus.
struct level_result {
  std::string tool;
  std::string level;
  std::string runs;          ///< The call that is timed, for the README and the table.
  double best_s = 0;         ///< Sum over files of each file's fastest read, in thread CPU time.
  double median_pass_s = 0;  ///< Median CPU time of a whole pass, for a sense of the noise.
  double best_wall_s = 0;    ///< As best_s, on the wall clock.
  int repeats = 0;
  std::uint64_t failed = 0;                                   ///< Files the tool rejected.
  std::vector<std::pair<std::string, std::uint64_t>> counts;  ///< What was read, summed over files.
  // Peak extra memory of one read, over the file's size.
  std::string memory_measure;
  double memory_median_ratio = 0;
  double memory_max_ratio = 0;
  double memory_max_ratio_16k = 0;  ///< Over files of at least 16 KiB only.
  std::string memory_max_file;
  double memory_total_ratio = 0;  ///< Sum of peaks over sum of sizes.
};

level_result named_result(std::string tool, std::string level, std::string runs) {
  level_result r;
  r.tool = std::move(tool);
  r.level = std::move(level);
  r.runs = std::move(runs);
  return r;
}

/// Times `read` on every file: each pass reads every file once, and each file keeps its fastest
/// time over the passes (the least disturbed by the other jobs on a shared machine). The result
/// is destroyed outside the timed region: only the read is timed, for every tool alike.
template <class Read, class Digest>
void time_level(const corpus& c, const timing_options& options, level_result& r, Read read, Digest digest) {
  const std::size_t n = c.files.size();
  for (const auto& f : c.files) {  // a warm-up pass, untimed, which also counts what is read
    auto result = read(f.bytes);
    digest(result, &r);
  }
  std::vector<double> best(n, std::numeric_limits<double>::infinity());
  std::vector<double> best_wall(n, std::numeric_limits<double>::infinity());
  std::vector<double> passes;
  double spent = 0;
  while (static_cast<int>(passes.size()) < options.min_repeats ||
         (spent < options.budget_s && static_cast<int>(passes.size()) < options.max_repeats)) {
    double pass = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double w0 = wall_s();
      const double t0 = thread_cpu_s();
      auto result = read(c.files[i].bytes);
      const double t1 = thread_cpu_s();
      const double w1 = wall_s();
      best[i] = std::min(best[i], t1 - t0);
      best_wall[i] = std::min(best_wall[i], w1 - w0);
      pass += t1 - t0;
      digest(result, nullptr);
    }
    passes.push_back(pass);
    spent += pass;
  }
  r.repeats = static_cast<int>(passes.size());
  if (passes.empty()) return;  // --min-repeats 0 and no budget: nothing was timed
  r.best_s = 0;
  for (const double b : best) r.best_s += b;
  r.best_wall_s = 0;
  for (const double b : best_wall) r.best_wall_s += b;
  std::sort(passes.begin(), passes.end());
  r.median_pass_s = passes[passes.size() / 2];
}

void summarise_memory(const corpus& c, const std::vector<double>& peaks, level_result& r) {
  std::vector<double> ratios;
  double total_peak = 0;
  double total_size = 0;
  for (std::size_t i = 0; i < c.files.size(); ++i) {
    const double size = static_cast<double>(std::max<std::size_t>(c.files[i].bytes.size(), 1));
    const double ratio = peaks[i] / size;
    ratios.push_back(ratio);
    total_peak += peaks[i];
    total_size += size;
    if (ratio > r.memory_max_ratio) {
      r.memory_max_ratio = ratio;
      r.memory_max_file = c.files[i].path;
    }
    if (c.files[i].bytes.size() >= std::size_t{16} * 1024)
      r.memory_max_ratio_16k = std::max(r.memory_max_ratio_16k, ratio);
  }
  if (ratios.empty()) return;
  std::sort(ratios.begin(), ratios.end());
  r.memory_median_ratio = ratios[ratios.size() / 2];
  r.memory_total_ratio = total_size > 0 ? total_peak / total_size : 0;
}

/// Measures the peak bytes held through malloc during one read of each file, the result
/// included, over the bytes held before it. The same counter sees continuo and libsmf.
template <class Read>
void measure_peak(const corpus& c, level_result& r, Read read) {
  if (!allocations_counted()) {
    r.memory_measure = "not measured (built without the counting malloc)";
    return;
  }
  std::vector<double> peaks;
  for (const auto& f : c.files) {
    const std::ptrdiff_t before = allocated_now();
    reset_peak();
    {
      auto result = read(f.bytes);
      sink = sink + 1;
    }
    peaks.push_back(static_cast<double>(allocated_peak() - before));
  }
  r.memory_measure = "peak bytes malloc'd during the read, result included";
  summarise_memory(c, peaks, r);
}

void add_count(level_result* r, const char* name, std::uint64_t value) {
  if (r == nullptr) return;
  for (auto& [k, v] : r->counts) {
    if (k == name) {
      v += value;
      return;
    }
  }
  r->counts.emplace_back(name, value);
}

std::string to_json(const corpus& c, const timing_options& options, const std::vector<level_result>& results) {
  std::ostringstream out;
  const double mb = static_cast<double>(c.total_bytes()) / 1e6;
  out << "{\"files\": " << c.files.size() << ", \"bytes\": " << c.total_bytes()
      << ", \"budget_s\": " << json_number(options.budget_s) << ", \"min_repeats\": " << options.min_repeats
      << ", \"results\": [";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    out << (i == 0 ? "\n  " : ",\n  ") << "{\"tool\": " << json_string(r.tool)
        << ", \"level\": " << json_string(r.level) << ", \"runs\": " << json_string(r.runs)
        << ", \"best_s\": " << json_number(r.best_s) << ", \"mb_s\": " << json_number(r.best_s > 0 ? mb / r.best_s : 0)
        << ", \"files_s\": " << json_number(r.best_s > 0 ? static_cast<double>(c.files.size()) / r.best_s : 0)
        << ", \"best_wall_s\": " << json_number(r.best_wall_s)
        << ", \"wall_mb_s\": " << json_number(r.best_wall_s > 0 ? mb / r.best_wall_s : 0)
        << ", \"median_pass_s\": " << json_number(r.median_pass_s)
        << ", \"median_mb_s\": " << json_number(r.median_pass_s > 0 ? mb / r.median_pass_s : 0)
        << ", \"repeats\": " << r.repeats << ", \"failed\": " << r.failed << ", \"counts\": {";
    for (std::size_t k = 0; k < r.counts.size(); ++k) {
      out << (k == 0 ? "" : ", ") << json_string(r.counts[k].first) << ": " << r.counts[k].second;
    }
    out << "}, \"memory\": {\"measure\": " << json_string(r.memory_measure)
        << ", \"median_ratio\": " << json_number(r.memory_median_ratio)
        << ", \"max_ratio\": " << json_number(r.memory_max_ratio)
        << ", \"max_ratio_16k\": " << json_number(r.memory_max_ratio_16k)
        << ", \"total_ratio\": " << json_number(r.memory_total_ratio)
        << ", \"max_file\": " << json_string(r.memory_max_file) << "}}";
  }
  out << "\n]}\n";
  return out.str();
}

void progress(const corpus& c, const level_result& r) {
  const double mb = static_cast<double>(c.total_bytes()) / 1e6;
  std::cerr << "continuo_bench: " << r.tool << "/" << r.level << ": " << json_number(mb / r.best_s) << " MB/s over "
            << r.repeats << " passes, peak memory up to " << json_number(r.memory_max_ratio) << "x\n";
}

int run(const std::vector<std::string>& args) {
  timing_options options;
  std::vector<std::string> sources;
  bool with_libsmf = true;
  std::string only;  // tool/level pairs, comma-separated: for profiling one level alone
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    const auto value = [&]() -> const std::string& { return option_text(args, i); };
    if (a == "--budget") {
      options.budget_s = option_value<double>(a, value());
    } else if (a == "--min-repeats") {
      options.min_repeats = option_value<int>(a, value());
    } else if (a == "--max-repeats") {
      options.max_repeats = option_value<int>(a, value());
    } else if (a == "--no-libsmf") {
      with_libsmf = false;
    } else if (a == "--only") {
      only = value();
    } else if (a.starts_with("-")) {
      throw std::runtime_error("run: unknown option " + a + " (continuo_bench --help lists the options)");
    } else {
      sources.push_back(a);
    }
  }
  if (sources.empty()) throw std::runtime_error("run: no files given");
  const corpus c = load_corpus(sources);
  std::cerr << "continuo_bench: " << c.files.size() << " files, "
            << json_number(static_cast<double>(c.total_bytes()) / 1e6) << " MB in memory\n";
  std::vector<level_result> results;
  const auto wanted = [&only](std::string_view tool, std::string_view level) {
    if (only.empty()) return true;
    const std::string key = std::string(tool) + "/" + std::string(level);
    std::stringstream list(only);
    for (std::string item; std::getline(list, item, ',');) {
      if (item == key) return true;
    }
    return false;
  };

  // continuo, events only.
  if (wanted("continuo", "events")) {
    level_result r = named_result("continuo", "events", "continuo::midi::read_smf(bytes)");
    const auto read = [](const std::vector<std::uint8_t>& b) { return continuo::midi::read_smf(b); };
    time_level(c, options, r, read, [](const continuo::midi::smf_file& f, level_result* counts) {
      sink = sink + f.events.size();
      if (counts == nullptr) return;
      add_count(counts, "events", f.events.size());
      if (f.status == continuo::read_status::invalid) ++counts->failed;
    });
    measure_peak(c, r, read);
    progress(c, r);
    results.push_back(std::move(r));
  }
  // continuo, notes and pedals in ticks: every CC except the pedals' dropped, the notes without
  // their seconds (symusic's tick parse has none either).
  const auto digest_performance = [](const continuo::performance& p, level_result* counts) {
    sink = sink + p.notes.size() + p.pedals.size() + p.controls.size();
    if (counts == nullptr) return;
    add_count(counts, "events", p.event_count);
    add_count(counts, "notes", p.notes.size());
    add_count(counts, "pedals", p.pedals.size());
    add_count(counts, "controls", p.controls.size());
    if (p.status == continuo::read_status::invalid) ++counts->failed;
  };
  if (wanted("continuo", "ticks")) {
    level_result r = named_result("continuo", "ticks",
                                  "continuo::read_performance(bytes, {.keep_controls = false, .note_seconds = false})");
    const auto read = [](const std::vector<std::uint8_t>& b) {
      return continuo::read_performance(b, {.keep_controls = false, .note_seconds = false});
    };
    time_level(c, options, r, read, digest_performance);
    measure_peak(c, r, read);
    progress(c, r);
    results.push_back(std::move(r));
  }
  // continuo, the full default read: notes and pedals in ticks and seconds, every CC kept.
  if (wanted("continuo", "seconds")) {
    level_result r = named_result("continuo", "seconds", "continuo::read_performance(bytes)");
    const auto read = [](const std::vector<std::uint8_t>& b) { return continuo::read_performance(b); };
    time_level(c, options, r, read, digest_performance);
    measure_peak(c, r, read);
    progress(c, r);
    results.push_back(std::move(r));
  }
  // continuo, the full default read through one performance_reader into one performance: a batch
  // job's way, whose reads reuse memory instead of allocating it (no peak measure: nothing is new).
  if (wanted("continuo", "seconds_reused")) {
    level_result r = named_result("continuo", "seconds_reused", "continuo::performance_reader::read(bytes, perf)");
    continuo::performance_reader reader;
    continuo::performance perf;
    const auto read = [&](const std::vector<std::uint8_t>& b) {
      reader.read(b, perf);
      return std::cref(perf);
    };
    time_level(c, options, r, read, [&](const auto& p, level_result* counts) { digest_performance(p.get(), counts); });
    r.memory_measure = "not measured: the reader's buffers are reused";
    progress(c, r);
    results.push_back(std::move(r));
  }
  if (with_libsmf) {
    libsmf::silence_warnings();
    if (wanted("libsmf", "events")) {
      level_result r = named_result("libsmf", "events", "smf_load_from_memory(bytes)");
      const auto read = [](const std::vector<std::uint8_t>& b) { return libsmf::load(b); };
      time_level(c, options, r, read, [](const libsmf::loaded& f, level_result* counts) {
        sink = sink + f.event_count();
        if (counts == nullptr) return;
        add_count(counts, "events", f.event_count());
        if (!f.ok()) ++counts->failed;
      });
      measure_peak(c, r, read);
      progress(c, r);
      results.push_back(std::move(r));
    }
    if (wanted("libsmf", "seconds")) {
      level_result r = named_result("libsmf", "seconds",
                                    "smf_load_from_memory(bytes), then notes paired FIFO per channel and key, sorted");
      const auto read = [](const std::vector<std::uint8_t>& b) { return libsmf::load_notes(b); };
      time_level(c, options, r, read, [](const libsmf::notes& n, level_result* counts) {
        sink = sink + n.pitch.size();
        if (counts == nullptr) return;
        add_count(counts, "notes", n.pitch.size());
        if (!n.file.ok()) ++counts->failed;
      });
      measure_peak(c, r, read);
      progress(c, r);
      results.push_back(std::move(r));
    }
  }
  std::cout << to_json(c, options, results);
  return 0;
}

/// Takes of one kind: `copies` takes of one length and style, each of its own random content.
struct take_kind {
  take_spec spec;  ///< the first copy's; copy k draws from spec.seed + k * copy_seed_step
  int copies = 1;
};

/// Seeds of copies of a take lie this far apart (the golden-ratio increment of splitmix64).
constexpr std::uint64_t copy_seed_step = 0x9E3779B97F4A7C15ULL;

take_kind parse_take(std::string text, std::uint64_t seed) {
  take_kind kind;
  take_spec& spec = kind.spec;
  const std::string whole = text;
  if (const auto star = text.find('*'); star != std::string::npos) {
    std::size_t used = 0;
    kind.copies = std::stoi(text.substr(star + 1), &used);
    if (used != text.size() - star - 1 || kind.copies < 1 || kind.copies > 1000) {
      throw std::runtime_error("copies of a take must be 1 to 1000, not " + whole);
    }
    text.resize(star);
  }
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "off")) {
    throw std::runtime_error("a take is HOURS:PPQ[:off][*COPIES], not " + whole);
  }
  spec.hours = std::stod(parts[0]);
  const int ppq = std::stoi(parts[1]);
  if (ppq <= 0 || ppq > 0x7FFF) throw std::runtime_error("ticks per quarter out of range in " + text);
  spec.ticks_per_quarter = static_cast<std::uint16_t>(ppq);
  spec.note_off_messages = parts.size() == 3;
  // Each take draws from its own stream, so that adding a take does not change the others.
  spec.seed = seed * 1'000'003ULL + static_cast<std::uint64_t>(spec.hours * 60) * 7919ULL + spec.ticks_per_quarter;
  return kind;
}

int generate(const std::vector<std::string>& args) {
  std::string out_dir;
  std::uint64_t seed = 20240607;
  std::string takes = "2:384,8:480:off,24:960";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    const auto value = [&]() -> const std::string& { return option_text(args, i); };
    if (a == "--out") {
      out_dir = value();
    } else if (a == "--seed") {
      seed = option_value<std::uint64_t>(a, value());
    } else if (a == "--takes") {
      takes = value();
    } else {
      throw std::runtime_error("generate: unknown argument " + a);
    }
  }
  if (out_dir.empty()) throw std::runtime_error("generate: --out DIR is required");
  std::filesystem::create_directories(out_dir);
  std::stringstream list(takes);
  std::cout << "[";
  bool first = true;
  std::vector<std::pair<take_spec, int>> takes_to_write;  // each copy of each kind, with its copy number
  for (std::string text; std::getline(list, text, ',');) {
    const take_kind kind = parse_take(text, seed);
    for (int copy = 0; copy < kind.copies; ++copy) {
      take_spec spec = kind.spec;
      spec.seed += static_cast<std::uint64_t>(copy) * copy_seed_step;
      takes_to_write.emplace_back(spec, copy);
    }
  }
  for (const auto& [spec, copy] : takes_to_write) {
    const practice_take take = make_practice_take(spec);
    char name[112];
    // The first copy keeps the name (and the content) of a take without copies.
    std::snprintf(name, sizeof name, "take-%gh-ppq%u%s-seed%llu%s.mid", spec.hours, unsigned{spec.ticks_per_quarter},
                  spec.note_off_messages ? "-noteoff" : "", static_cast<unsigned long long>(seed),
                  copy == 0 ? "" : ("-" + std::to_string(copy)).c_str());
    const std::string path = (std::filesystem::path(out_dir) / name).string();
    // Rewritten only when different, so that the file's time stamp says when its content changed.
    bool same = false;
    if (std::filesystem::exists(path)) {
      try {
        same = read_bytes(path) == take.bytes;
      } catch (const std::exception&) {
      }
    }
    if (!same) write_bytes(path, take.bytes);
    // The reader must find what the generator put in: a cheap check of both.
    const auto perf = continuo::read_performance(take.bytes);
    if (perf.notes.size() != take.stats.notes || perf.status != continuo::read_status::ok) {
      std::cerr << "continuo_bench: " << path << ": generated " << take.stats.notes << " notes, read back "
                << perf.notes.size() << " with status " << continuo::name(perf.status) << "\n";
      return 1;
    }
    const auto& s = take.stats;
    std::cout << (first ? "\n  " : ",\n  ") << "{\"path\": " << json_string(path)
              << ", \"hours\": " << json_number(spec.hours) << ", \"copy\": " << copy
              << ", \"ticks_per_quarter\": " << spec.ticks_per_quarter
              << ", \"note_off_messages\": " << (spec.note_off_messages ? "true" : "false")
              << ", \"bytes\": " << take.bytes.size() << ", \"notes\": " << s.notes
              << ", \"cc64\": " << s.sustain_messages << ", \"cc67\": " << s.soft_messages
              << ", \"passages\": " << s.passages << ", \"playing_s\": " << json_number(s.playing_s)
              << ", \"duration_s\": " << json_number(s.duration_s) << ", \"pedals\": " << perf.pedals.size() << "}";
    first = false;
    std::cerr << "continuo_bench: " << path << ": " << json_number(static_cast<double>(take.bytes.size()) / 1e6)
              << " MB, " << s.notes << " notes, " << s.sustain_messages << " CC64, " << s.passages << " passages\n";
  }
  std::cout << "\n]\n";
  return 0;
}

}  // namespace
}  // namespace continuo_bench

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* const usage =
      "usage: continuo_bench run [--budget S] [--min-repeats N] [--max-repeats N] [--no-libsmf]\n"
      "                          [--only TOOL/LEVEL,...] SOURCE...\n"
      "       continuo_bench generate --out DIR [--seed N] [--takes HOURS:PPQ[:off][*COPIES],...]\n"
      "       continuo_bench features [--budget S] [--min-repeats N] [--max-repeats N] [--window S]\n"
      "                               [--only features,features_30s,tempo,tempo_30s,key] SOURCE...\n";
  if (const auto status = continuo_bench::usage_exit(args, usage)) return *status;
  try {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "run") return continuo_bench::run(rest);
    if (args[0] == "generate") return continuo_bench::generate(rest);
    if (args[0] == "features") return continuo_bench::run_features(rest);
    std::cerr << "continuo_bench: unknown command " << args[0] << "\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "continuo_bench: " << e.what() << "\n";
    return 1;
  }
}

// Speed of embedding against reading, in C++ and CPU time, on the performances of a corpus in ASAP's
// layout (docs/embeddings.md "Speed"). Built by `make bench` (-DCONTINUO_BUILD_BENCH=ON):
//
//   build/bin/embed_speed ../shared/corpus/asap [--repeat 3] [--fan-out N]
//
// Every performance MIDI named in metadata.csv is read into memory once; then each phase runs over all
// of them `repeat` times and the best pass counts: read_performance on the bytes, embed() of the whole
// performance, and, to show where the time goes, embed() without the triple block, onset_events and
// for_each_fingerprint alone. --fan-out sets embedding_options::fingerprint.fan_out (default 3).
#include "../command_line.hpp"
#include "../cpu_clock.hpp"
#include "csv.hpp"

#include <continuo/embedding.hpp>
#include <continuo/fingerprint.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

/// Returns the best CPU time of `repeat` calls of `pass`.
template <class Pass>
double best_of(int repeat, Pass&& pass) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeat; ++r) {
    const double t0 = continuo_bench::thread_cpu_s();
    pass();
    best = std::min(best, continuo_bench::thread_cpu_s() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const char* const usage =
      "usage: embed_speed CORPUS [--repeat N] [--fan-out N]   (CORPUS: a folder in ASAP's layout)\n"
      "  --repeat N    timed passes, the fastest counts (default 3)\n"
      "  --fan-out N   fingerprint fan-out (default: the library's)\n";
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (const auto status = continuo_bench::usage_exit(args, usage)) return *status;
  const fs::path corpus = args[0];
  int repeat = 3;
  continuo::embedding_options options;
  try {
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a != "--repeat" && a != "--fan-out") throw std::invalid_argument("unknown option " + a);
      const int value = std::max(1, continuo_bench::option_value<int>(a, continuo_bench::option_text(args, i)));
      if (a == "--repeat") {
        repeat = value;
      } else {
        options.fingerprint.fan_out = static_cast<std::size_t>(value);
      }
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "embed_speed: %s (embed_speed --help lists the options)\n", e.what());
    return 2;
  }
  std::ifstream csv(corpus / "metadata.csv");
  if (!csv) {
    std::fprintf(stderr,
                 "embed_speed: %s has no metadata.csv: CORPUS is a folder in ASAP's layout, e.g. "
                 "../shared/corpus/asap\n",
                 corpus.c_str());
    return 1;
  }
  std::string line;
  std::getline(csv, line);
  const auto header = continuo_bench::split_csv(line);
  const auto column = static_cast<std::size_t>(std::find(header.begin(), header.end(), "midi_performance") -
                                               header.begin());
  std::vector<std::vector<std::uint8_t>> files;
  std::set<std::string> seen;
  std::size_t bytes = 0;
  while (std::getline(csv, line)) {
    const auto fields = continuo_bench::split_csv(line);
    if (column >= fields.size() || !seen.insert(fields[column]).second) continue;
    std::ifstream in(corpus / fields[column], std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    bytes += files.back().size();
  }
  std::vector<continuo::performance> perfs(files.size());
  const double read_s = best_of(repeat, [&] {
    for (std::size_t i = 0; i < files.size(); ++i) perfs[i] = continuo::read_performance(files[i]);
  });
  std::size_t notes = 0;
  for (const auto& p : perfs) notes += p.notes.size();
  float sink = 0;
  const double embed_s = best_of(repeat, [&] {
    for (const auto& p : perfs) sink += continuo::embed(p.notes, 0, p.notes.size(), options)[0];
  });
  const double histograms_s = best_of(repeat, [&] {
    for (const auto& p : perfs) {
      auto histograms_only = options;
      histograms_only.triple_dimension = 0;
      sink += continuo::embed(p.notes, 0, p.notes.size(), histograms_only)[0];
    }
  });
  std::vector<std::vector<continuo::onset_event>> events(perfs.size());
  const double events_s = best_of(repeat, [&] {
    for (std::size_t i = 0; i < perfs.size(); ++i) {
      events[i] = continuo::onset_events(perfs[i].notes.onset_s, perfs[i].notes.pitch);
    }
  });
  std::uint32_t hashes = 0;
  std::size_t triples = 0;
  const double visit_s = best_of(repeat, [&] {
    triples = 0;
    for (const auto& e : events) {
      continuo::for_each_fingerprint(e, options.fingerprint, [&](const continuo::fingerprint& f) {
        hashes ^= f.hash;
        ++triples;
      });
    }
  });
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("%zu files, %.1f MB, %zu notes, %zu fingerprints (sink %g %u)\n", files.size(), mb, notes, triples,
              static_cast<double>(sink), hashes);
  std::printf("read_performance   %8.1f MB/s  %6.1f ns/note\n", mb / read_s, read_s * 1e9 / notes);
  std::printf("embed              %8.1f MB/s  %6.1f ns/note  (%.2fx reading)\n", mb / embed_s, embed_s * 1e9 / notes,
              embed_s / read_s);
  std::printf("  without triples  %8.1f MB/s\n", mb / histograms_s);
  std::printf("  onset_events     %8.1f MB/s\n", mb / events_s);
  std::printf("  fingerprints     %8.1f MB/s\n", mb / visit_s);
  return 0;
}

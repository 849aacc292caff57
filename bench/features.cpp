#include "features.hpp"

#include "command_line.hpp"
#include "corpus.hpp"
#include "cpu_clock.hpp"

#include <continuo/features.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace continuo_bench {
namespace {

/// Keeps every result observable, so that no call can be optimised away.
volatile double sink = 0;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

/// One performance, parsed before anything is timed, with its windows.
struct parsed {
  std::size_t bytes = 0;
  continuo::performance perf;
  double end_s = 0;  ///< Last offset.
  /// Windows of `window_s` from the first onset: first note, note count, start, end.
  struct window {
    std::size_t first, count;
    double start_s, end_s;
  };
  std::vector<window> windows;
};

/// What is timed on each performance; each returns a number to sink.
struct operation {
  std::string_view name;
  std::string_view runs;
  double (*run)(const parsed&);
};

double features_whole(const parsed& p) {
  const auto f = continuo::compute_features(p.perf, 0, p.perf.notes.size(), 0.0, p.end_s);
  return f.beat_period_s + f.key_sharps + f.articulation;
}

double features_windows(const parsed& p) {
  double sum = 0;
  for (const auto& w : p.windows) {
    const auto f = continuo::compute_features(p.perf, w.first, w.count, w.start_s, w.end_s);
    sum += f.beat_period_s + f.key_sharps + f.articulation;
  }
  return sum;
}

double tempo_whole(const parsed& p) { return continuo::estimate_tempo(p.perf.notes).beat_period_s; }

double tempo_windows(const parsed& p) {
  double sum = 0;
  for (const auto& w : p.windows) sum += continuo::estimate_tempo(p.perf.notes, w.first, w.first + w.count).bpm;
  return sum;
}

double key_whole(const parsed& p) { return continuo::estimate_key(p.perf.notes).confidence; }

constexpr operation operations[] = {
    {"features", "compute_features(perf, 0, n, 0, end) per performance", features_whole},
    {"features_30s", "compute_features over each window of the performance", features_windows},
    {"tempo", "estimate_tempo(perf.notes) per performance", tempo_whole},
    {"tempo_30s", "estimate_tempo over each window of the performance", tempo_windows},
    {"key", "estimate_key(perf.notes) per performance", key_whole},
};

/// Returns the parsed performances of `sources`; ASAP's scores (midi_score.mid) are left out, as
/// they are in bench/run.py: the features are of performances.
std::vector<parsed> load(const std::vector<std::string>& sources, double window_s) {
  const corpus c = load_corpus(sources);
  std::vector<parsed> out;
  for (const auto& f : c.files) {
    if (f.path.ends_with("/midi_score.mid")) continue;
    parsed p;
    p.bytes = f.bytes.size();
    p.perf = continuo::read_performance(f.bytes);
    const auto& n = p.perf.notes;
    if (n.size() == 0) continue;
    for (std::size_t i = 0; i < n.size(); ++i) p.end_s = std::max(p.end_s, n.offset_s[i]);
    const double t0 = n.onset_s[0];
    for (std::size_t i = 0; i < n.size();) {
      const auto k = static_cast<long>((n.onset_s[i] - t0) / window_s);
      const double start = t0 + static_cast<double>(k) * window_s;
      std::size_t j = i;
      while (j < n.size() && n.onset_s[j] < start + window_s) ++j;
      p.windows.push_back({i, j - i, start, start + window_s});
      i = j;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

int run_features(const std::vector<std::string>& args) {
  double budget_s = 2.0;
  int min_repeats = 3;
  int max_repeats = 50;
  double window_s = 30.0;
  std::string only;
  std::vector<std::string> sources;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    const auto value = [&]() -> const std::string& { return option_text(args, i); };
    if (a == "--budget") {
      budget_s = option_value<double>(a, value());
    } else if (a == "--min-repeats") {
      min_repeats = option_value<int>(a, value());
    } else if (a == "--max-repeats") {
      max_repeats = option_value<int>(a, value());
    } else if (a == "--window") {
      window_s = option_value<double>(a, value());
    } else if (a == "--only") {
      only = value();
    } else if (a.starts_with("-")) {
      throw std::runtime_error("features: unknown option " + a + " (continuo_bench --help lists the options)");
    } else {
      sources.push_back(a);
    }
  }
  if (sources.empty()) throw std::runtime_error("features: no files given");
  if (!(window_s > 0)) throw std::runtime_error("features: --window must be positive");
  const std::vector<parsed> perfs = load(sources, window_s);
  double mb = 0;
  double notes = 0;
  std::size_t windows = 0;
  for (const auto& p : perfs) {
    mb += static_cast<double>(p.bytes) / 1e6;
    notes += static_cast<double>(p.perf.notes.size());
    windows += p.windows.size();
  }
  std::cerr << "continuo_bench: " << perfs.size() << " performances, " << mb << " MB of MIDI, " << notes << " notes, "
            << windows << " windows of " << window_s << " s\n";
  std::printf("| operation | MB/s of MIDI | ns per note | CPU s (sum of per-file minima) | passes | timed call |\n");
  std::printf("|---|---:|---:|---:|---:|---|\n");
  for (const auto& op : operations) {
    if (!only.empty()) {
      bool wanted = false;
      std::stringstream list(only);
      for (std::string item; std::getline(list, item, ',');) wanted = wanted || item == op.name;
      if (!wanted) continue;
    }
    for (const auto& p : perfs) sink = sink + op.run(p);  // warm-up, untimed
    // Each performance keeps its fastest time over the passes: the least disturbed by other jobs.
    std::vector<double> best(perfs.size(), std::numeric_limits<double>::infinity());
    double spent = 0;
    int passes = 0;
    while (passes < min_repeats || (spent < budget_s && passes < max_repeats)) {
      for (std::size_t i = 0; i < perfs.size(); ++i) {
        const double t0 = thread_cpu_s();
        const double r = op.run(perfs[i]);
        const double t1 = thread_cpu_s();
        sink = sink + r;
        best[i] = std::min(best[i], t1 - t0);
        spent += t1 - t0;
      }
      ++passes;
    }
    double total = 0;
    for (const double b : best) total += b;
    std::printf("| %.*s | %.1f | %.0f | %.3f | %d | %.*s |\n", static_cast<int>(op.name.size()), op.name.data(),
                mb / total, total / notes * 1e9, total, passes, static_cast<int>(op.runs.size()), op.runs.data());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace continuo_bench

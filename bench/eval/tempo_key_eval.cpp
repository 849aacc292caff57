// Evaluation of continuo's tempo and key estimators on a corpus in ASAP's layout (docs/tempo_key.md
// and docs/analysis.md show its tables). Built by `make bench` (-DCONTINUO_BUILD_BENCH=ON):
//
//   build/bin/tempo_key_eval ../shared/corpus/asap [--folds 5] [--dump file.tsv] [--no-cv]
//                            [--event-models models.txt] [--no-offsets]
//   build/bin/tempo_key_eval ../shared/corpus/asap --dump-events events.tsv
//
// Cross-validation: pieces (composer + title) are hashed into folds; the tempo level model is fitted on
// the other folds' performances (and their 30 s windows) and tested on the held-out fold. The event
// model (tempo_options::event_model) is fitted outside: --dump-events writes every event's features and
// the annotated beats, bench/eval/fit_event_model.py fits one model per held-out fold and one on all,
// and --event-models reads them back, so that each fold is estimated with an event model that never saw it.
#include "../command_line.hpp"
#include "csv.hpp"

#include <continuo/features/key.hpp>
#include <continuo/features/tempo.hpp>
#include <continuo/file.hpp>
#include <continuo/performance.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace continuo;

struct beat {
  double t;
  bool down;
};
struct key_change {
  double t;
  int sharps;
};

struct item {
  std::string composer, title, path;
  std::uint64_t bytes = 0;
  performance perf;
  std::vector<double> beats;
  std::vector<key_change> keys;
  int fold = 0;
};

static double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double tempo_of_beats(const std::vector<double>& beats, double lo, double hi) {
  std::vector<double> ibi;
  double prev = -1;
  for (double b : beats) {
    if (b < lo || b >= hi) continue;
    if (prev >= 0) ibi.push_back(b - prev);
    prev = b;
  }
  if (ibi.size() < 3) return 0;
  return 60.0 / median(ibi);
}

static bool kdur() { return true; }
static bool acc1(double est, double ann) { return est > 0 && std::abs(est / ann - 1) <= 0.04; }
static bool acc2(double est, double ann) {
  for (double f : {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0})
    if (est > 0 && std::abs(est / (f * ann) - 1) <= 0.04) return true;
  return false;
}

// ---- baselines -------------------------------------------------------------------------------
// Plain IOI histogram: the mode of the intervals between consecutive onset events (onsets within 50 ms
// merged), 10 ms bins smoothed by a [1 2 1] kernel, folded by octaves into 60-240 bpm.
static double baseline_ioi(std::span<const double> on) {
  std::vector<double> ev;
  for (double t : on)
    if (ev.empty() || t - ev.back() > 0.05) ev.push_back(t);
  if (ev.size() < 3) return 0;
  std::vector<double> h(300, 0.0);
  for (std::size_t i = 1; i < ev.size(); ++i) {
    const auto b = static_cast<std::size_t>((ev[i] - ev[i - 1]) / 0.01 + 0.5);
    if (b >= 5 && b + 1 < h.size()) h[b] += 1;
  }
  std::size_t best = 0;
  double bv = 0;
  for (std::size_t b = 1; b + 1 < h.size(); ++b) {
    const double v = h[b - 1] + 2 * h[b] + h[b + 1];
    if (v > bv) bv = v, best = b;
  }
  if (best == 0) return 0;
  double bpm = 60.0 / (best * 0.01);
  while (bpm > 240) bpm /= 2;
  while (bpm < 60) bpm *= 2;
  return bpm;
}
// --no-offsets: the notes are passed without their offsets (as passages without lengths would), so the
// estimator weighs events by velocity instead of the event model.
static bool g_no_offsets = false;
static tempo_notes notes_of(const note_columns& n, std::size_t first, std::size_t last) {
  auto t = tempo_notes::of(n, first, last);
  if (g_no_offsets) t.offset_s = {};
  return t;
}
// Autocorrelation with a tempo prior: the lag-histogram peak maximising salience x log-normal prior
// (centre 120 bpm, 1 octave sd), as librosa's default tempo estimator does on an onset envelope. The
// histogram weighs the events by velocity (the notes passed without offsets), not by the event model.
static double baseline_ac(tempo_notes notes, const tempo_options& o) {
  notes.offset_s = {};
  double best = 0, bs = -1;
  for (const auto& c : tempo_candidates(notes, o)) {
    const double z = std::log2(c.beat_period_s / 0.5);
    const double s = c.salience * std::exp(-0.5 * z * z);
    if (s > bs) bs = s, best = 60.0 / c.beat_period_s;
  }
  return best;
}

// ---- level-model fitting ---------------------------------------------------------------------
struct sample {
  std::vector<std::vector<double>> f;
  std::vector<char> correct;
  int fold;
};

/// Returns the sample of one performance or window: the features of each of its rows (level candidates
/// or level choices), a row correct when its tempo is within `tolerance` of the annotated `ann_bpm`.
template <class Rows>
static sample sample_of(const Rows& rows, double ann_bpm, double tolerance, int fold) {
  sample s;
  s.fold = fold;
  for (const auto& r : rows) {
    s.f.emplace_back(r.features.begin(), r.features.end());
    s.correct.push_back(std::abs(60.0 / r.beat_period_s / ann_bpm - 1) <= tolerance ? 1 : 0);
  }
  return s;
}

/// Fits a conditional logit (softmax over a sample's rows; target: its correct rows) on the samples
/// not in fold `held_out`, by Adam on standardised features with L2 `l2`; returns the weights.
static std::vector<double> fit(const std::vector<sample>& data, int held_out, double l2) {
  std::size_t d = 0;
  for (const auto& s : data)
    if (!s.f.empty()) d = s.f.front().size();
  std::vector<double> mean(d), sd(d);
  std::size_t n = 0;
  for (const auto& s : data) {
    if (s.fold == held_out) continue;
    for (const auto& f : s.f) {
      for (std::size_t k = 0; k < d; ++k) mean[k] += f[k];
      ++n;
    }
  }
  for (auto& m : mean) m /= std::max<std::size_t>(n, 1);
  for (const auto& s : data) {
    if (s.fold == held_out) continue;
    for (const auto& f : s.f)
      for (std::size_t k = 0; k < d; ++k) sd[k] += (f[k] - mean[k]) * (f[k] - mean[k]);
  }
  for (auto& v : sd) v = std::sqrt(v / std::max<std::size_t>(n, 1)) + 1e-9;
  std::vector<double> w(d), m1(d), m2(d);
  const double lr = 0.05;
  for (int it = 1; it <= 400; ++it) {
    std::vector<double> g(d);
    std::size_t used = 0;
    for (const auto& s : data) {
      if (s.fold == held_out) continue;
      bool any = false;
      for (char c : s.correct) any |= c != 0;
      if (!any) continue;
      ++used;
      std::vector<double> z(s.f.size());
      double top = -1e300;
      for (std::size_t c = 0; c < s.f.size(); ++c) {
        double v = 0;
        for (std::size_t k = 0; k < d; ++k) v += w[k] * (s.f[c][k] - mean[k]) / sd[k];
        z[c] = v;
        top = std::max(top, v);
      }
      double zs = 0, zc = 0;
      for (std::size_t c = 0; c < s.f.size(); ++c) {
        z[c] = std::exp(z[c] - top);
        zs += z[c];
        if (s.correct[c]) zc += z[c];
      }
      // d(-log(zc/zs))/dw = E_p[f] - E_{p|correct}[f]
      for (std::size_t c = 0; c < s.f.size(); ++c) {
        const double p = z[c] / zs;
        const double q = s.correct[c] ? z[c] / zc : 0.0;
        for (std::size_t k = 0; k < d; ++k) g[k] += (p - q) * (s.f[c][k] - mean[k]) / sd[k];
      }
    }
    for (std::size_t k = 0; k < d; ++k) {
      const double gk = g[k] / std::max<std::size_t>(used, 1) + l2 * w[k];
      m1[k] = 0.9 * m1[k] + 0.1 * gk;
      m2[k] = 0.999 * m2[k] + 0.001 * gk * gk;
      const double mh = m1[k] / (1 - std::pow(0.9, it));
      const double vh = m2[k] / (1 - std::pow(0.999, it));
      w[k] -= lr * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  // Back to raw features; the means only shift every row of a sample alike, which a softmax ignores.
  for (std::size_t k = 0; k < d; ++k) w[k] /= sd[k];
  return w;
}

template <class Model>
static Model to_model(const std::vector<double>& w) {
  Model m{};
  for (std::size_t k = 0; k < m.size() && k < w.size(); ++k) m[k] = w[k];
  return m;
}

struct window {
  std::size_t item, first, last;
  double ann;
};

constexpr const char* usage =
    "usage: tempo_key_eval CORPUS [options]   (CORPUS: a folder in ASAP's layout, e.g. ../shared/corpus/asap)\n"
    "  --folds N            cross-validation folds, by piece (default 5)\n"
    "  --limit N            the first N performances of metadata.csv only (default: all)\n"
    "  --no-cv              fit and test the tempo models on all performances (in-sample)\n"
    "  --event-models FILE  per-fold event models from bench/eval/fit_event_model.py\n"
    "  --dump-events FILE   write every event's features and the annotated beats (for fit_event_model.py), then stop\n"
    "  --dump FILE          write each performance's and window's estimate (TSV)\n"
    "  --no-offsets         estimate without the notes' offsets (as from onsets alone)\n"
    "  --no-choice          keep the tracked metrical level (choice model all zeros)\n"
    "  --choice-l2 X        L2 penalty of the choice model's fit (default 0.03)\n"
    "  --label-tol X        a level candidate counts as right within this ratio of the annotation (default 0.04)\n"
    "  --show TEXT          print the candidates of the performances whose path contains TEXT\n"
    "  --help               this text\n";

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (const auto status = continuo_bench::usage_exit(args, usage)) return *status;
  const fs::path root = args[0];
  int folds = 5;
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  std::string dump;
  std::string dump_events;        // --dump-events: the events' features and the beats, for fit_event_model.py
  std::string event_models_file;  // --event-models: per-fold event models from fit_event_model.py
  bool cv = true;
  std::string show;
  double label_tol = 0.04;
  bool no_choice = false;  // --no-choice: the tracked level is kept (choice model all zeros)
  // L2 of the choice model: 3e-2 scores as 1e-3 does on ASAP (within 0.004) and keeps the level of a
  // plain metronomic scale (1e-3 read 120 bpm quarter notes as 40 bpm).
  double choice_l2 = 3e-2;
  try {
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      const auto value = [&]() -> const std::string& { return continuo_bench::option_text(args, i); };
      if (a == "--folds")
        folds = continuo_bench::option_value<int>(a, value());
      else if (a == "--limit")
        limit = static_cast<std::size_t>(std::max(0, continuo_bench::option_value<int>(a, value())));
      else if (a == "--dump")
        dump = value();
      else if (a == "--no-offsets")
        g_no_offsets = true;
      else if (a == "--no-cv")
        cv = false;
      else if (a == "--show")
        show = value();
      else if (a == "--no-choice")
        no_choice = true;
      else if (a == "--choice-l2")
        choice_l2 = continuo_bench::option_value<double>(a, value());
      else if (a == "--label-tol")
        label_tol = continuo_bench::option_value<double>(a, value());
      else if (a == "--dump-events")
        dump_events = value();
      else if (a == "--event-models")
        event_models_file = value();
      else
        throw std::invalid_argument("unknown option " + a);
    }
    if (folds < 2) throw std::invalid_argument("--folds must be at least 2");
    if (limit == 0) throw std::invalid_argument("--limit must be at least 1");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tempo_key_eval: %s (tempo_key_eval --help lists the options)\n", e.what());
    return 2;
  }
  if (!fs::is_regular_file(root / "metadata.csv")) {
    std::fprintf(stderr,
                 "tempo_key_eval: %s has no metadata.csv: CORPUS is a folder in ASAP's layout (metadata.csv and "
                 "each performance's *_annotations.txt), e.g. ../shared/corpus/asap\n",
                 root.c_str());
    return 1;
  }

  // ---- load ----
  std::ifstream meta(root / "metadata.csv");
  std::string line;
  std::getline(meta, line);
  const auto header = continuo_bench::split_csv(line);
  auto col = [&](const char* name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::size_t c_comp = col("composer"), c_title = col("title"), c_perf = col("midi_performance"),
                    c_ann = col("performance_annotations");
  if (std::max({c_comp, c_title, c_perf, c_ann}) >= header.size()) {
    std::fprintf(stderr,
                 "tempo_key_eval: %s/metadata.csv lacks a column: it needs composer, title, midi_performance and "
                 "performance_annotations (ASAP's layout)\n",
                 root.c_str());
    return 1;
  }
  std::vector<item> items;
  for (std::size_t line_number = 2; items.size() < limit && std::getline(meta, line); ++line_number) {
    if (line.empty()) continue;
    const auto f = continuo_bench::split_csv(line);
    if (f.size() < header.size()) {
      std::fprintf(stderr, "tempo_key_eval: %s/metadata.csv line %zu has %zu fields where the header has %zu\n",
                   root.c_str(), line_number, f.size(), header.size());
      return 1;
    }
    item it;
    it.composer = f[c_comp];
    it.title = f[c_title];
    it.path = f[c_perf];
    const auto bytes = load_file(root / it.path);
    it.bytes = bytes.size();
    it.perf = read_performance(bytes);
    std::ifstream ann(root / f[c_ann]);
    std::string al;
    while (std::getline(ann, al)) {
      std::istringstream ss(al);
      double t1, t2;
      std::string lab;
      ss >> t1 >> t2 >> lab;
      it.beats.push_back(t1);
      const auto p1 = lab.find(',');
      if (p1 != std::string::npos) {
        const auto p2 = lab.find(',', p1 + 1);
        if (p2 != std::string::npos && p2 + 1 < lab.size()) it.keys.push_back({t1, std::stoi(lab.substr(p2 + 1))});
      }
    }
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : it.composer + "|" + it.title) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    it.fold = static_cast<int>(h % static_cast<std::uint64_t>(folds));
    items.push_back(std::move(it));
  }
  std::uint64_t total_bytes = 0, total_notes = 0;
  for (const auto& it : items) total_bytes += it.bytes, total_notes += it.perf.notes.size();
  std::printf("performances %zu, %.2f MB, %llu notes (%.1f bytes/note)\n", items.size(), total_bytes / 1e6,
              static_cast<unsigned long long>(total_notes), double(total_bytes) / double(total_notes));

  if (!dump_events.empty()) {
    // One line per onset event of every performance: item, fold, time, features; and one per beat.
    std::ofstream events(dump_events);
    std::ofstream beats(dump_events + ".beats");
    events.precision(9);
    beats.precision(9);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& n = items[i].perf.notes;
      for (const auto& e : tempo_events(notes_of(n, 0, n.size()))) {
        events << i << '\t' << items[i].fold << '\t' << e.time_s;
        for (const double x : e.features) events << '\t' << x;
        events << '\n';
      }
      for (const double t : items[i].beats) beats << i << '\t' << t << '\n';
    }
    std::printf("wrote %s and %s.beats\n", dump_events.c_str(), dump_events.c_str());
    return 0;
  }
  if (!show.empty()) {
    for (const auto& it : items) {
      if (it.path.find(show) == std::string::npos) continue;
      const auto& n = it.perf.notes;
      std::printf("%s ann %.1f bpm, notes %zu\n", it.path.c_str(), tempo_of_beats(it.beats, -1, 1e9), n.size());
      auto cands = tempo_candidates(notes_of(n, 0, n.size()));
      std::sort(cands.begin(), cands.end(), [](auto& a, auto& b) { return a.beat_period_s < b.beat_period_s; });
      for (const auto& c : cands)
        std::printf("  %.1f bpm (%.3f s) sal %.3f p %.3f\n", 60 / c.beat_period_s, c.beat_period_s, c.salience,
                    c.probability);
      std::vector<double> ibi;
      for (std::size_t k = 1; k < it.beats.size(); ++k) ibi.push_back(it.beats[k] - it.beats[k - 1]);
      std::sort(ibi.begin(), ibi.end());
      std::printf("  IBI quantiles:");
      for (int q = 0; q <= 10; ++q) std::printf(" %.3f", ibi[std::min(ibi.size() - 1, ibi.size() * q / 10)]);
      std::printf("\n");
    }
    return 0;
  }
  // ---- windows ----
  std::vector<window> windows;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& on = items[i].perf.notes.onset_s;
    const double end = items[i].beats.empty() ? 0 : items[i].beats.back();
    for (double lo = 0; lo < end; lo += 30) {
      const double ann = tempo_of_beats(items[i].beats, lo, lo + 30);
      if (ann <= 0) continue;
      const auto first = static_cast<std::size_t>(std::lower_bound(on.begin(), on.end(), lo) - on.begin());
      const auto last = static_cast<std::size_t>(std::lower_bound(on.begin(), on.end(), lo + 30) - on.begin());
      if (last - first < 4) continue;
      windows.push_back({i, first, last, ann});
    }
  }

  // ---- candidates for fitting ----
  tempo_options base;
  // The event model of each fold (fitted without it), then the one fitted on all: from --event-models,
  // else the shipped default for every fold.
  std::vector<tempo_event_model> event_models(static_cast<std::size_t>(folds) + 1, default_tempo_event_model());
  if (!event_models_file.empty()) {
    std::ifstream in(event_models_file);
    std::string l;
    for (std::size_t f = 0; f < event_models.size(); ++f) {
      if (!std::getline(in, l)) {
        std::fprintf(stderr, "%s: expected %zu lines of event model weights\n", event_models_file.c_str(),
                     event_models.size());
        return 2;
      }
      std::istringstream ss(l);
      for (double& x : event_models[f]) ss >> x;
      if (!ss) {
        std::fprintf(stderr, "%s, line %zu: expected %zu weights\n", event_models_file.c_str(), f + 1,
                     event_models[f].size());
        return 2;
      }
    }
  }
  const auto for_fold = [&](int fold) {
    tempo_options o = base;
    o.event_model = event_models[static_cast<std::size_t>(fold)];
    return o;
  };
  std::vector<sample> samples;
  auto add_sample = [&](const note_columns& n, std::size_t first, std::size_t last, double ann, int fold) {
    const auto cands = tempo_candidates(notes_of(n, first, last), for_fold(fold));
    samples.push_back(sample_of(cands, ann, label_tol, fold));
  };
  std::size_t whole_reachable = 0;
  for (const auto& it : items) {
    const double ann = tempo_of_beats(it.beats, -1, 1e9);
    add_sample(it.perf.notes, 0, it.perf.notes.size(), ann, it.fold);
    whole_reachable += std::any_of(samples.back().correct.begin(), samples.back().correct.end(),
                                   [](char c) { return c != 0; });
  }
  std::size_t win_reachable = 0;
  for (const auto& w : windows) {
    add_sample(items[w.item].perf.notes, w.first, w.last, w.ann, items[w.item].fold);
    win_reachable += std::any_of(samples.back().correct.begin(), samples.back().correct.end(),
                                 [](char c) { return c != 0; });
  }
  std::printf("candidate recall (some candidate within 4%%): whole %.3f, windows %.3f\n",
              double(whole_reachable) / items.size(), double(win_reachable) / windows.size());

  std::vector<tempo_level_model> models(static_cast<std::size_t>(folds), default_tempo_level_model());
  if (cv) {
    for (int f = 0; f < folds; ++f)
      models[static_cast<std::size_t>(f)] = to_model<tempo_level_model>(fit(samples, f, 1e-3));
  }
  const tempo_level_model all = cv ? to_model<tempo_level_model>(fit(samples, -1, 1e-3)) : default_tempo_level_model();
  std::printf("model fitted on all data: {");
  for (std::size_t k = 0; k < tempo_feature_count; ++k) std::printf("%s%.4f", k ? ", " : "", all[k]);
  std::printf("}\n");

  // ---- second stage: the level among multiples of the tracked period ----
  // For held-out fold f, the choices of the other folds' performances and windows are computed with
  // the first-stage model fitted without f, and the choice model is fitted on them: nothing of fold f
  // reaches either model. "All" uses the model fitted on everything (the shipped default).
  std::vector<tempo_choice_model> choice_models(static_cast<std::size_t>(folds), default_tempo_choice_model());
  tempo_choice_model choice_all = default_tempo_choice_model();
  if (cv && !no_choice) {
    auto choice_samples = [&](const tempo_level_model& level, int held_out) {
      tempo_options o = base;
      o.level_model = level;
      o.choice_model = {};
      std::vector<sample> out_samples;
      auto add = [&](const note_columns& n, std::size_t first, std::size_t last, double ann, int fold) {
        if (fold == held_out) return;
        o.event_model = event_models[static_cast<std::size_t>(fold)];
        const auto choices = tempo_level_choices(notes_of(n, first, last), o);
        out_samples.push_back(sample_of(choices, ann, 0.04, fold));  // the level Acc1 counts
      };
      for (const auto& it : items)
        add(it.perf.notes, 0, it.perf.notes.size(), tempo_of_beats(it.beats, -1, 1e9), it.fold);
      for (const auto& w : windows) add(items[w.item].perf.notes, w.first, w.last, w.ann, items[w.item].fold);
      return out_samples;
    };
    for (int f = 0; f < folds; ++f)
      choice_models[static_cast<std::size_t>(f)] = to_model<tempo_choice_model>(
          fit(choice_samples(models[static_cast<std::size_t>(f)], f), -1, choice_l2));
    choice_all = to_model<tempo_choice_model>(fit(choice_samples(all, -1), -1, choice_l2));
  }
  std::printf("choice model fitted on all data: {");
  for (std::size_t k = 0; k < tempo_choice_feature_count; ++k) std::printf("%s%.4f", k ? ", " : "", choice_all[k]);
  std::printf("}\n");

  // ---- tempo evaluation ----
  struct tally {
    double n = 0, a1 = 0, a2 = 0;
    void add(double est, double ann) {
      n += 1;
      a1 += acc1(est, ann);
      a2 += acc2(est, ann);
    }
  };
  tally o_whole, o_win, t_whole, t_win, b1_whole, b1_win, b2_whole, b2_win, g_whole, g_win;
  std::FILE* out = dump.empty() ? nullptr : std::fopen(dump.c_str(), "w");
  for (const auto& it : items) {
    tempo_options o = for_fold(it.fold);
    o.level_model = models[static_cast<std::size_t>(it.fold)];
    o.choice_model = choice_models[static_cast<std::size_t>(it.fold)];
    const auto& n = it.perf.notes;
    const double ann = tempo_of_beats(it.beats, -1, 1e9);
    const tempo_notes notes = notes_of(n, 0, n.size());
    const auto est = estimate_tempo(notes, o);
    const auto cands = tempo_candidates(notes, o);
    t_whole.add(est.bpm, ann);
    tempo_options oo = o;
    oo.min_bpm = ann / 1.12;
    oo.max_bpm = ann * 1.12;
    const double given = estimate_tempo(notes, oo).bpm;
    o_whole.add(given, ann);
    g_whole.add(cands.empty() ? 0 : 60 / cands[0].beat_period_s, ann);
    b1_whole.add(baseline_ioi(n.onset_s), ann);
    b2_whole.add(baseline_ac(notes, o), ann);
    if (out)
      std::fprintf(out, "%s\t%.2f\t%.2f\t%.3f\t%.3f\t%d\t%d\t%.2f\n", it.path.c_str(), ann, est.bpm, est.confidence,
                   est.tempo_spread, acc1(est.bpm, ann), acc2(est.bpm, ann), given);
  }
  if (!dump.empty()) out = std::fopen((dump + ".win").c_str(), "w");
  for (const auto& w : windows) {
    const auto& it = items[w.item];
    tempo_options o = for_fold(it.fold);
    o.level_model = models[static_cast<std::size_t>(it.fold)];
    o.choice_model = choice_models[static_cast<std::size_t>(it.fold)];
    const auto& n = it.perf.notes;
    const tempo_notes notes = notes_of(n, w.first, w.last);
    const auto est = estimate_tempo(notes, o);
    const auto cands = tempo_candidates(notes, o);
    t_win.add(est.bpm, w.ann);
    {
      tempo_options oo = o;
      oo.min_bpm = w.ann / 1.12;
      oo.max_bpm = w.ann * 1.12;
      const auto e = estimate_tempo(notes, oo);
      o_win.add(e.bpm, w.ann);
      if (out)
        std::fprintf(out, "W\t%s\t%.1f\t%.2f\t%.2f\t%.2f\n", it.path.c_str(), n.onset_s[w.first], w.ann, e.bpm,
                     est.bpm);
    }
    g_win.add(cands.empty() ? 0 : 60 / cands[0].beat_period_s, w.ann);
    b1_win.add(baseline_ioi(notes.onset_s), w.ann);
    b2_win.add(baseline_ac(notes, o), w.ann);
  }
  if (out) std::fclose(out);
  out = nullptr;
  auto row = [](const char* name, const tally& a, const tally& b) {
    std::printf("| %-44s | %.3f | %.3f | %.3f | %.3f |\n", name, a.a1 / a.n, a.a2 / a.n, b.a1 / b.n, b.a2 / b.n);
  };
  std::printf("\nTempo (%zu performances, %zu windows of 30 s)\n", items.size(), windows.size());
  std::printf("| method | Acc1 perf | Acc2 perf | Acc1 30 s | Acc2 30 s |\n|---|---|---|---|---|\n");
  row("baseline: plain IOI histogram", b1_whole, b1_win);
  row("baseline: autocorrelation + log-normal prior", b2_whole, b2_win);
  row(cv ? "continuo, global peak only (CV)" : "continuo, global peak only", g_whole, g_win);
  row(cv ? "continuo estimate_tempo (CV by piece)" : "continuo estimate_tempo", t_whole, t_win);
  row("diagnostic: level given (ann/1.12..ann*1.12)", o_whole, o_win);

  // ---- key evaluation ----
  std::printf("\nKey signature\n| method | whole (one signature) | first 30 s |\n|---|---|---|\n");
  struct key_method {
    const char* name;
    key_options o;
  };
  std::vector<key_method> methods{
      {"baseline: Krumhansl-Kessler, duration", {.profile = key_profile::krumhansl_kessler, .attack_weight_s = 0}},
      {"Krumhansl-Kessler, note count", {.profile = key_profile::krumhansl_kessler, .weight_by_duration = false}},
      {"Albrecht-Shanahan, duration", {.profile = key_profile::albrecht_shanahan, .attack_weight_s = 0}},
      {"Temperley-Kostka-Payne, duration", {.profile = key_profile::temperley_kostka_payne, .attack_weight_s = 0}},
      {"Bellman-Budge, duration", {.profile = key_profile::bellman_budge, .attack_weight_s = 0}},
      {"Aarden-Essen, duration", {.profile = key_profile::aarden_essen, .attack_weight_s = 0}},
      {"Sapp, duration", {.profile = key_profile::sapp, .attack_weight_s = 0}},
      {"ensemble, duration", {.profile = key_profile::ensemble, .attack_weight_s = 0}},
      {"ensemble, note count", {.profile = key_profile::ensemble, .weight_by_duration = false}},
      {"ensemble, duration + bass x1", {.bass_weight = 1.0}},
      {"continuo estimate_key (defaults: ensemble, 0.1 s + duration)", {}},
  };
  for (const auto& m : methods) {
    double n_whole = 0, ok_whole = 0, n30 = 0, ok30 = 0;
    for (const auto& it : items) {
      if (it.keys.empty()) continue;
      const auto& n = it.perf.notes;
      bool one = true;
      for (const auto& k : it.keys) one &= same_signature(k.sharps, it.keys.front().sharps);
      if (one) {
        n_whole += 1;
        ok_whole += same_signature(estimate_key(n, m.o).sharps, it.keys.front().sharps);
      }
      const auto last = static_cast<std::size_t>(std::lower_bound(n.onset_s.begin(), n.onset_s.end(), 30.0) -
                                                 n.onset_s.begin());
      n30 += 1;
      ok30 += same_signature(estimate_key(n, 0, last, m.o).sharps, it.keys.front().sharps);
    }
    std::printf("| %-40s | %.3f (%d) | %.3f (%d) |\n", m.name, ok_whole / n_whole, int(n_whole), ok30 / n30, int(n30));
  }

  // ---- learned signature profile (CV by piece) ----
  {
    key_options ko{.profile = key_profile::ensemble, .weight_by_duration = kdur(), .bass_weight = 0};
    auto hist = [&](const item& it, bool first30) {
      const auto& n = it.perf.notes;
      std::size_t last = n.size();
      if (first30)
        last = static_cast<std::size_t>(std::lower_bound(n.onset_s.begin(), n.onset_s.end(), 30.0) - n.onset_s.begin());
      auto h = pitch_class_weights(n, 0, last, ko);
      double t = 0;
      for (double x : h) t += x;
      if (t > 0)
        for (double& x : h) x /= t;
      return h;
    };
    auto tonic_of = [](int sharps) { return ((sharps * 7) % 12 + 12) % 12; };
    std::vector<std::array<double, 12>> prof(static_cast<std::size_t>(folds) + 1);
    for (int f = 0; f <= folds; ++f) {
      std::array<double, 12> p{};
      for (const auto& it : items) {
        if (it.keys.empty() || it.fold == f) continue;
        for (bool w : {false, true}) {
          const auto h = hist(it, w);
          const int t = tonic_of(it.keys.front().sharps);
          for (int k = 0; k < 12; ++k) p[static_cast<std::size_t>(k)] += h[static_cast<std::size_t>((t + k) % 12)];
        }
      }
      prof[static_cast<std::size_t>(f)] = p;
    }
    auto classify = [&](const std::array<double, 12>& h, const std::array<double, 12>& p) {
      double hm = 0, pm = 0;
      for (int k = 0; k < 12; ++k) hm += h[k] / 12, pm += p[k] / 12;
      int best = 0;
      double bv = -1e9;
      for (int t = 0; t < 12; ++t) {
        double c = 0, hh = 0, pp = 0;
        for (int k = 0; k < 12; ++k) {
          const double a = h[(t + k) % 12] - hm, b = p[k] - pm;
          c += a * b;
          hh += a * a;
          pp += b * b;
        }
        c /= std::sqrt(hh * pp + 1e-30);
        if (c > bv) bv = c, best = t;
      }
      return signature_of_major(best);
    };
    double nw = 0, ow = 0, n3 = 0, o3 = 0;
    for (const auto& it : items) {
      if (it.keys.empty()) continue;
      const auto& p = prof[static_cast<std::size_t>(it.fold)];
      bool one = true;
      for (const auto& k : it.keys) one &= same_signature(k.sharps, it.keys.front().sharps);
      if (one) {
        nw += 1;
        ow += same_signature(classify(hist(it, false), p), it.keys.front().sharps);
      }
      n3 += 1;
      o3 += same_signature(classify(hist(it, true), p), it.keys.front().sharps);
    }
    std::printf("| learned signature profile (CV by piece) | %.3f | %.3f |\n", ow / nw, o3 / n3);
    std::printf("profile all data: {");
    double tot = 0;
    for (double x : prof[static_cast<std::size_t>(folds)]) tot += x;
    for (double x : prof[static_cast<std::size_t>(folds)]) std::printf("%.5f, ", x / tot);
    std::printf("}\n");
  }
  // ---- speed ----
  using clock = std::chrono::steady_clock;
  double sink = 0;
  auto t0 = clock::now();
  for (int rep = 0; rep < 3; ++rep)
    for (const auto& it : items) sink += estimate_tempo(it.perf.notes).bpm;
  auto t1 = clock::now();
  for (int rep = 0; rep < 3; ++rep)
    for (const auto& it : items) sink += estimate_key(it.perf.notes).sharps;
  auto t2 = clock::now();
  const double mb = 3 * total_bytes / 1e6;
  const double st = std::chrono::duration<double>(t1 - t0).count();
  const double sk = std::chrono::duration<double>(t2 - t1).count();
  std::printf(
      "\nSpeed (whole performances, one core): tempo %.0f MB/s (%.0f ns/note), key %.0f MB/s, both %.0f MB/s "
      "[sink %g]\n",
      mb / st, st * 1e9 / (3.0 * double(total_notes)), mb / sk, mb / (st + sk), sink);
  return 0;
}

// continuo._core.Repertoire: the C++ repertoire behind continuo.Repertoire (continuo/_repertoire.py).
// Notes come in as onset and pitch columns, so that any note table (a Performance's, an excerpt's, a
// model's output) can be registered or queried; results go back as plain tuples that the Python
// package turns into dataclasses. The GIL is released around indexing and queries; a shared mutex
// lets queries run in parallel while add() waits for them.

#include <continuo/repertoire.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace py = pybind11;

namespace continuo::python {
namespace {

template <class T>
using column = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <class T>
std::vector<T> copy(const column<T>& a) {
  if (a.ndim() != 1) throw py::value_error("expected a 1-D array");
  return std::vector<T>(a.data(), a.data() + a.size());
}

py::tuple passage_tuple(const placement& p) {
  return py::make_tuple(p.query_start_s, p.query_end_s, p.reference_start_s, p.reference_end_s, p.first_bar, p.last_bar,
                        p.tempo_ratio, p.score);
}

py::tuple identification_tuple(const identification& id) {
  py::list alternatives;
  for (const auto& c : id.alternatives) alternatives.append(py::make_tuple(c.piece, c.name, c.score, c.tempo_ratio));
  const auto piece = id.known() ? py::int_(id.piece) : py::int_(-1);
  return py::make_tuple(piece, id.name, id.confidence, id.score, id.tempo_ratio, passage_tuple(id.where), alternatives,
                        py::make_tuple(id.similarity, id.similarity_margin, id.by_fusion, id.query_events));
}

class py_repertoire {
 public:
  explicit py_repertoire(const repertoire_options& options) : rep_(options) {}

  std::uint32_t add(const std::string& name, const column<double>& onset_s, const column<std::uint8_t>& pitch,
                    const column<double>& downbeats_s) {
    const auto onset = copy(onset_s);
    const auto pitches = copy(pitch);
    const auto downbeats = copy(downbeats_s);
    py::gil_scoped_release release;
    const std::unique_lock lock(mutex_);
    return rep_.add(name, onset, pitches, downbeats);
  }

  py::tuple identify(const column<double>& onset_s, const column<std::uint8_t>& pitch) const {
    const auto onset = copy(onset_s);
    const auto pitches = copy(pitch);
    identification id;
    {
      py::gil_scoped_release release;
      const std::shared_lock lock(mutex_);
      id = rep_.identify(onset, pitches);
    }
    return identification_tuple(id);
  }

  py::list locate(const column<double>& onset_s, const column<std::uint8_t>& pitch, std::uint32_t piece) const {
    const auto onset = copy(onset_s);
    const auto pitches = copy(pitch);
    location where;
    {
      py::gil_scoped_release release;
      const std::shared_lock lock(mutex_);
      where = rep_.locate(onset, pitches, piece);
    }
    py::list out;
    for (const auto& p : where.placements) out.append(passage_tuple(p));
    return out;
  }

  /// Returns (attempts, heatmaps): per attempt (identification, passages); per piece (id, name, plays).
  py::tuple analyse(const column<double>& onset_s, const column<std::uint8_t>& pitch,
                    const column<std::int64_t>& first_note, const column<std::int64_t>& note_count,
                    const column<double>& start_s, const column<double>& end_s) const {
    performance perf;
    perf.notes.onset_s = copy(onset_s);
    perf.notes.pitch = copy(pitch);
    if (perf.notes.onset_s.size() != perf.notes.pitch.size())
      throw py::value_error("onset_s and pitch differ in length");
    practice_split split;
    const auto first = copy(first_note);
    const auto count = copy(note_count);
    const auto start = copy(start_s);
    const auto end = copy(end_s);
    if (count.size() != first.size() || start.size() != first.size() || end.size() != first.size()) {
      throw py::value_error("the attempt columns differ in length");
    }
    for (std::size_t i = 0; i < first.size(); ++i) {
      if (first[i] < 0 || count[i] < 0) throw py::value_error("note ranges must not be negative");
      attempt_span a;
      a.start_ns = static_cast<std::int64_t>(start[i] * 1e9);
      a.end_ns = static_cast<std::int64_t>(end[i] * 1e9);
      a.first_note = static_cast<std::uint64_t>(first[i]);
      a.note_count = static_cast<std::uint64_t>(count[i]);
      split.attempts.push_back(a);
    }
    session_analysis result;
    {
      py::gil_scoped_release release;
      const std::shared_lock lock(mutex_);
      result = rep_.analyse(perf, split);
    }
    py::list attempts;
    for (const auto& a : result.attempts) {
      py::list passages;
      for (const auto& p : a.placements) passages.append(passage_tuple(p));
      attempts.append(py::make_tuple(identification_tuple(a.identified), passages));
    }
    py::list heatmaps;
    for (const auto& h : result.heatmaps) heatmaps.append(py::make_tuple(h.piece, h.name, h.plays));
    return py::make_tuple(attempts, heatmaps);
  }

  [[nodiscard]] std::size_t size() const {
    const std::shared_lock lock(mutex_);
    return rep_.size();
  }
  [[nodiscard]] std::string name(std::uint32_t piece) const {
    const std::shared_lock lock(mutex_);
    return rep_.name(piece);
  }
  [[nodiscard]] std::vector<double> downbeats(std::uint32_t piece) const {
    const std::shared_lock lock(mutex_);
    const auto d = rep_.downbeats(piece);
    return {d.begin(), d.end()};
  }
  [[nodiscard]] double bar_at(std::uint32_t piece, double t) const {
    const std::shared_lock lock(mutex_);
    return rep_.bar_at(piece, t);
  }
  [[nodiscard]] std::size_t posting_count() const {
    const std::shared_lock lock(mutex_);
    return rep_.posting_count();
  }
  [[nodiscard]] std::size_t window_count() const {
    const std::shared_lock lock(mutex_);
    return rep_.window_count();
  }
  [[nodiscard]] double bytes_per_window() const {
    const std::shared_lock lock(mutex_);
    return rep_.bytes_per_window();
  }

 private:
  repertoire rep_;
  mutable std::shared_mutex mutex_;
};

/// The bar grid of a performance given by its time model: bar_grid() on a performance holding only that.
std::vector<double> bar_grid_py(std::uint16_t division, const column<std::int64_t>& tempo_tick,
                                const column<std::uint32_t>& tempo_us, const column<std::int64_t>& signature_tick,
                                const column<std::uint8_t>& numerator, const column<std::uint8_t>& denominator,
                                std::int64_t end_tick) {
  const auto ticks = copy(tempo_tick);
  const auto us = copy(tempo_us);
  if (ticks.size() != us.size()) throw py::value_error("tempo columns differ in length");
  std::vector<tempo_change> changes(ticks.size());
  for (std::size_t i = 0; i < ticks.size(); ++i) changes[i] = {ticks[i], us[i]};
  performance perf;
  perf.tempo = tempo_map(midi::division{division}, changes);
  const auto st = copy(signature_tick);
  const auto num = copy(numerator);
  const auto den = copy(denominator);
  if (num.size() != st.size() || den.size() != st.size()) throw py::value_error("signature columns differ in length");
  for (std::size_t i = 0; i < st.size(); ++i) {
    time_signature s;
    s.tick = st[i];
    s.numerator = num[i];
    s.denominator = den[i];
    perf.time_signatures.push_back(s);
  }
  perf.duration_tick = end_tick;
  py::gil_scoped_release release;
  return bar_grid(perf);
}

}  // namespace

void register_repertoire(py::module_& m) {
  py::class_<py_repertoire>(m, "Repertoire")
      .def(py::init([](bool transposition_invariant, double min_score, double min_score_ratio, bool refine,
                       std::size_t max_postings, bool fusion, double fusion_min_margin, double min_score_per_event,
                       double min_scaled_score, double min_scaled_score_ratio) {
             repertoire_options options;
             options.min_score_per_event = min_score_per_event;
             options.min_scaled_score = min_scaled_score;
             options.min_scaled_score_ratio = min_scaled_score_ratio;
             options.fusion.enabled = fusion;
             options.fusion.min_margin = fusion_min_margin;
             if (max_postings > 0) options.max_postings = max_postings;
             options.fingerprint.transposition_invariant = transposition_invariant;
             options.min_score = min_score;
             options.min_score_ratio = min_score_ratio;
             options.refine = refine;
             return std::make_unique<py_repertoire>(options);
           }),
           py::arg("transposition_invariant"), py::arg("min_score"), py::arg("min_score_ratio"), py::arg("refine"),
           py::arg("max_postings") = 0, py::arg("fusion") = repertoire_options{}.fusion.enabled,
           py::arg("fusion_min_margin") = repertoire_options{}.fusion.min_margin,
           py::arg("min_score_per_event") = repertoire_options{}.min_score_per_event,
           py::arg("min_scaled_score") = repertoire_options{}.min_scaled_score,
           py::arg("min_scaled_score_ratio") = repertoire_options{}.min_scaled_score_ratio)
      .def("add", &py_repertoire::add, py::arg("name"), py::arg("onset_s"), py::arg("pitch"), py::arg("downbeats_s"))
      .def("identify", &py_repertoire::identify, py::arg("onset_s"), py::arg("pitch"))
      .def("locate", &py_repertoire::locate, py::arg("onset_s"), py::arg("pitch"), py::arg("piece"))
      .def("analyse", &py_repertoire::analyse, py::arg("onset_s"), py::arg("pitch"), py::arg("first_note"),
           py::arg("note_count"), py::arg("start_s"), py::arg("end_s"))
      .def("name", &py_repertoire::name, py::arg("piece"))
      .def("downbeats", &py_repertoire::downbeats, py::arg("piece"))
      .def("bar_at", &py_repertoire::bar_at, py::arg("piece"), py::arg("t"))
      .def_property_readonly("size", &py_repertoire::size)
      .def_property_readonly("posting_count", &py_repertoire::posting_count)
      .def_property_readonly("window_count", &py_repertoire::window_count)
      .def_property_readonly("bytes_per_window", &py_repertoire::bytes_per_window);
  m.def("bar_grid", &bar_grid_py, py::arg("division"), py::arg("tempo_tick"), py::arg("tempo_us"),
        py::arg("signature_tick"), py::arg("numerator"), py::arg("denominator"), py::arg("end_tick"));
  py::object defaults = py::dict();
  const repertoire_options d;
  defaults["min_score"] = d.min_score;
  defaults["min_score_ratio"] = d.min_score_ratio;
  defaults["min_score_per_event"] = d.min_score_per_event;
  defaults["min_scaled_score"] = d.min_scaled_score;
  defaults["min_scaled_score_ratio"] = d.min_scaled_score_ratio;
  defaults["fusion"] = d.fusion.enabled;
  defaults["fusion_min_margin"] = d.fusion.min_margin;
  m.attr("REPERTOIRE_DEFAULTS") = defaults;
}

}  // namespace continuo::python

// continuo._core: embeddings and score-free passage discovery. Functions take note columns as numpy
// arrays (the zero-copy views a Performance hands out), so they need nothing of module.cpp's types; the
// pure-Python layer (continuo/_embedding.py) checks arguments and builds the public results.

#include <continuo/embedding.hpp>
#include <continuo/passages.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace continuo::python {
namespace {

using onset_array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using key_array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

template <class T>
std::span<const T> span_of(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
  return {a.data(), static_cast<std::size_t>(a.size())};
}

embedding_options make_options(std::size_t triple_dimension, bool transposition_invariant, float triple_weight,
                               float pitch_weight, float rhythm_weight) {
  embedding_options o;
  o.triple_dimension = triple_dimension;
  o.transposition_invariant = transposition_invariant;
  o.triple_weight = triple_weight;
  o.pitch_weight = pitch_weight;
  o.rhythm_weight = rhythm_weight;
  return o;
}

void check_lengths(const onset_array& onset_s, const key_array& pitch) {
  if (onset_s.size() != pitch.size()) throw std::invalid_argument("onset_s and pitch must have the same length");
}

/// Returns a float32 array that takes over `values` (no copy), shaped (rows, columns) or (columns,).
py::array_t<float> adopt_floats(std::vector<float> values, std::size_t rows, std::size_t columns, bool matrix) {
  auto* heap = new std::vector<float>(std::move(values));
  const py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  const auto c = static_cast<py::ssize_t>(columns);
  if (!matrix) return py::array_t<float>({c}, {py::ssize_t{sizeof(float)}}, heap->data(), owner);
  return py::array_t<float>({static_cast<py::ssize_t>(rows), c},
                            {c * py::ssize_t{sizeof(float)}, py::ssize_t{sizeof(float)}}, heap->data(), owner);
}

py::array_t<float> embed_py(const onset_array& onset_s, const key_array& pitch, std::size_t triple_dimension,
                            bool transposition_invariant, float triple_weight, float pitch_weight,
                            float rhythm_weight) {
  check_lengths(onset_s, pitch);
  const auto options = make_options(triple_dimension, transposition_invariant, triple_weight, pitch_weight,
                                    rhythm_weight);
  std::vector<float> v;
  {
    py::gil_scoped_release release;
    v = embed(span_of(onset_s), span_of(pitch), options);
  }
  const auto d = v.size();
  return adopt_floats(std::move(v), 1, d, false);
}

py::tuple embed_windows_py(const onset_array& onset_s, const key_array& pitch, double length_s, double hop_s,
                           std::size_t length_events, std::size_t hop_events, unsigned threads,
                           std::size_t triple_dimension, bool transposition_invariant, float triple_weight,
                           float pitch_weight, float rhythm_weight) {
  check_lengths(onset_s, pitch);
  const auto options = make_options(triple_dimension, transposition_invariant, triple_weight, pitch_weight,
                                    rhythm_weight);
  window_options w;
  w.length_s = length_s;
  w.hop_s = hop_s;
  w.length_events = length_events;
  w.hop_events = hop_events;
  w.threads = threads;
  embedded_windows result;
  {
    py::gil_scoped_release release;
    result = embed_windows(span_of(onset_s), span_of(pitch), w, options);
  }
  const auto n = result.windows.size();
  py::array_t<std::int64_t> first(static_cast<py::ssize_t>(n));
  py::array_t<std::int64_t> last(static_cast<py::ssize_t>(n));
  py::array_t<double> start(static_cast<py::ssize_t>(n));
  py::array_t<double> end(static_cast<py::ssize_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = static_cast<py::ssize_t>(i);
    first.mutable_at(k) = static_cast<std::int64_t>(result.windows[i].first_note);
    last.mutable_at(k) = static_cast<std::int64_t>(result.windows[i].last_note);
    start.mutable_at(k) = result.windows[i].start_s;
    end.mutable_at(k) = result.windows[i].end_s;
  }
  py::dict spans;
  spans["first_note"] = first;
  spans["last_note"] = last;
  spans["start_s"] = start;
  spans["end_s"] = end;
  return py::make_tuple(adopt_floats(std::move(result.vectors), n, result.dimension, true), spans);
}

/// One session from Python: (id, time_s, onset_s, pitch, velocity, attempt first notes, attempt note counts,
/// offset_s).
struct session_input {
  std::string id;
  double time_s = 0;
  onset_array onset_s;
  onset_array offset_s;
  key_array pitch;
  key_array velocity;
  std::vector<attempt_span> attempts;
};

py::list passages_py(const py::list& sessions, double attempt_gap_s, std::size_t min_matches, std::size_t min_events,
                     std::size_t min_occurrences, std::size_t max_candidates, double min_bpm_confidence,
                     unsigned threads) {
  std::vector<session_input> inputs;
  for (const auto& item : sessions) {
    const auto t = item.cast<py::tuple>();
    session_input s;
    s.id = t[0].cast<std::string>();
    s.time_s = t[1].cast<double>();
    s.onset_s = onset_array::ensure(t[2]);
    s.pitch = key_array::ensure(t[3]);
    s.velocity = key_array::ensure(t[4]);
    s.offset_s = onset_array::ensure(t[7]);
    if (!s.onset_s || !s.pitch || !s.velocity || !s.offset_s) throw py::error_already_set();
    if (s.onset_s.size() != s.pitch.size() || s.onset_s.size() != s.velocity.size() ||
        s.onset_s.size() != s.offset_s.size()) {
      throw std::invalid_argument("session " + s.id +
                                  ": onset_s, offset_s, pitch and velocity must have the same length");
    }
    const auto first = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(t[5]);
    const auto count = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(t[6]);
    if (!first || !count || first.size() != count.size()) {
      throw std::invalid_argument("session " + s.id + ": attempt first notes and counts must have the same length");
    }
    for (py::ssize_t k = 0; k < first.size(); ++k) {
      if (first.at(k) < 0 || count.at(k) < 0) throw std::invalid_argument("attempt note ranges must not be negative");
      attempt_span a;
      a.first_note = static_cast<std::uint64_t>(first.at(k));
      a.note_count = static_cast<std::uint64_t>(count.at(k));
      s.attempts.push_back(a);
    }
    inputs.push_back(std::move(s));
  }
  std::vector<session_notes> views;
  views.reserve(inputs.size());
  for (const auto& s : inputs) {
    views.push_back(
        {s.id, s.time_s, span_of(s.onset_s), span_of(s.pitch), span_of(s.velocity), s.attempts, span_of(s.offset_s)});
  }
  passage_options o;
  o.attempt_gap_s = attempt_gap_s;
  o.min_matches = min_matches;
  o.min_events = min_events;
  o.min_occurrences = min_occurrences;
  o.max_candidates = max_candidates;
  o.min_bpm_confidence = min_bpm_confidence;
  o.threads = threads;
  std::vector<passage_group> groups;
  {
    py::gil_scoped_release release;
    groups = find_passages(views, o);
  }
  py::list out;
  for (const auto& g : groups) {
    py::list occurrences;
    for (const auto& x : g.occurrences) {
      occurrences.append(py::make_tuple(x.session_index, x.first_note, x.last_note, x.start_s, x.end_s, x.tempo_ratio,
                                        x.bpm, x.bpm_confidence, x.matches));
    }
    out.append(py::make_tuple(g.id, occurrences));
  }
  return out;
}

}  // namespace

void register_embedding(py::module_& m) {
  const embedding_options defaults;
  m.attr("EMBEDDING_DEFAULTS") = py::make_tuple(defaults.triple_dimension, defaults.triple_weight,
                                                defaults.pitch_weight, defaults.rhythm_weight);
  m.def("embed", &embed_py, py::arg("onset_s"), py::arg("pitch"), py::arg("triple_dimension"),
        py::arg("transposition_invariant"), py::arg("triple_weight"), py::arg("pitch_weight"),
        py::arg("rhythm_weight"));
  m.def("embed_windows", &embed_windows_py, py::arg("onset_s"), py::arg("pitch"), py::arg("length_s"), py::arg("hop_s"),
        py::arg("length_events"), py::arg("hop_events"), py::arg("threads"), py::arg("triple_dimension"),
        py::arg("transposition_invariant"), py::arg("triple_weight"), py::arg("pitch_weight"),
        py::arg("rhythm_weight"));
  m.def("passages", &passages_py, py::arg("sessions"), py::arg("attempt_gap_s"), py::arg("min_matches"),
        py::arg("min_events"), py::arg("min_occurrences"), py::arg("max_candidates"), py::arg("min_bpm_confidence"),
        py::arg("threads"));
}

}  // namespace continuo::python

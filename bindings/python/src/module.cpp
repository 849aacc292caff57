// continuo._core: the private extension behind the `continuo` package. It reads and writes through
// the C++ library with the GIL released, and hands tables to Python as numpy arrays over C++
// vectors: a capsule holding the performance (or the table built for Python) is each array's
// base, so no column is copied and none outlives its buffer. The public API, its argument
// checking and its documentation live in the pure-Python package (continuo/__init__.py).

#include "buffer_view.hpp"
#include "holder.hpp"

#include <continuo/continuo.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef CONTINUO_PYTHON_VERSION
#define CONTINUO_PYTHON_VERSION "0.0.0"
#endif

namespace py = pybind11;

namespace continuo::python {

/// Registers embed, embed_windows and passages (bindings/python/src/embedding.cpp).
void register_embedding(py::module_& m);
/// Registers VectorIndex, the exact vector search (bindings/python/src/index.cpp).
void register_index(py::module_& m);
/// Registers Repertoire, bar_grid and the identification results (bindings/python/src/repertoire.cpp).
void register_repertoire(py::module_& m);

namespace {

// ---- numpy arrays over C++ memory ----------------------------------------------------------------

/// Returns a capsule that owns `object`, moved to the heap, and deletes it with the capsule.
template <class T>
py::capsule own(T object) {
  auto heap = std::make_unique<T>(std::move(object));
  py::capsule capsule(heap.get(), [](void* p) { delete static_cast<T*>(p); });
  heap.release();  // the capsule owns it now
  return capsule;
}

/// Clears the writeable flag: the buffers are shared and the performance is immutable.
py::array read_only(py::array a) {
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

template <class T>
py::dtype dtype_of() {
  if constexpr (std::is_enum_v<T>) {
    return py::dtype::of<std::underlying_type_t<T>>();
  } else {
    return py::dtype::of<T>();
  }
}

/// A 1-D view of `items` with `owner` as the array's base (keeping `items` alive).
template <class T>
py::array view(const std::vector<T>& items, const py::dtype& type, py::handle owner) {
  const auto n = static_cast<py::ssize_t>(items.size());
  return read_only(py::array(type, {n}, {static_cast<py::ssize_t>(sizeof(T))}, items.data(), owner));
}

template <class T>
py::array column(const std::vector<T>& items, py::handle owner) {
  return view(items, dtype_of<T>(), owner);
}

/// A 1-D array that takes over `rows` (no copy: the capsule owns the vector).
template <class T>
py::array adopt(std::vector<T> rows, const py::dtype& type) {
  const auto* data = rows.data();
  const auto n = static_cast<py::ssize_t>(rows.size());
  auto owner = own(std::move(rows));  // moving a vector keeps its buffer where it is
  return read_only(py::array(type, {n}, {static_cast<py::ssize_t>(sizeof(T))}, data, owner));
}

struct field {
  const char* name;
  py::dtype type;
  std::size_t offset;
};

// clang-format reads `dtype_of<decltype(...)>` inside a macro as a comparison.
// clang-format off
#define CONTINUO_FIELD(record, member) \
  field { #member, dtype_of<decltype(record::member)>(), offsetof(record, member) }
// clang-format on

/// Returns the structured dtype of `record` with `fields` at their offsets, built once per process.
template <class Record, class Fields>
const py::dtype& record_dtype(Fields&& make_fields) {
  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::dtype> storage;
  return storage
      .call_once_and_store_result([&] {
        py::list names;
        py::list formats;
        py::list offsets;
        for (const field& f : make_fields()) {
          names.append(f.name);
          formats.append(f.type);
          offsets.append(f.offset);
        }
        return py::dtype(names, formats, offsets, sizeof(Record));
      })
      .get_stored();
}

// ---- tables built for Python ---------------------------------------------------------------------

struct note_row {
  seconds_t onset_s;
  seconds_t offset_s;
  tick_t onset_tick;
  tick_t offset_tick;
  std::uint8_t pitch;
  std::uint8_t velocity;
  std::uint8_t release_velocity;
  std::uint8_t channel;
  std::uint16_t track;
};

struct control_row {
  tick_t tick;
  seconds_t time_s;
  std::uint8_t channel;
  std::uint8_t number;
  std::uint8_t value;
  std::uint16_t track;
};

struct program_row {
  tick_t tick;
  seconds_t time_s;
  std::uint8_t channel;
  std::uint8_t program;
  std::uint16_t track;
};

struct bend_row {
  tick_t tick;
  seconds_t time_s;
  std::int16_t value;
  std::uint8_t channel;
  std::uint16_t track;
};

struct tempo_row {
  tick_t tick;
  seconds_t time_s;
  std::uint32_t us_per_quarter;
  double bpm;
};

const py::dtype& note_dtype() {
  return record_dtype<note_row>([] {
    return std::vector<field>{CONTINUO_FIELD(note_row, onset_s),
                              CONTINUO_FIELD(note_row, offset_s),
                              CONTINUO_FIELD(note_row, onset_tick),
                              CONTINUO_FIELD(note_row, offset_tick),
                              CONTINUO_FIELD(note_row, pitch),
                              CONTINUO_FIELD(note_row, velocity),
                              CONTINUO_FIELD(note_row, release_velocity),
                              CONTINUO_FIELD(note_row, channel),
                              CONTINUO_FIELD(note_row, track)};
  });
}

const py::dtype& pedal_dtype() {
  return record_dtype<pedal_span>([] {
    return std::vector<field>{CONTINUO_FIELD(pedal_span, onset_s),    CONTINUO_FIELD(pedal_span, offset_s),
                              CONTINUO_FIELD(pedal_span, onset_tick), CONTINUO_FIELD(pedal_span, offset_tick),
                              CONTINUO_FIELD(pedal_span, kind),       CONTINUO_FIELD(pedal_span, channel),
                              CONTINUO_FIELD(pedal_span, track)};
  });
}

const py::dtype& control_dtype() {
  return record_dtype<control_row>([] {
    return std::vector<field>{CONTINUO_FIELD(control_row, tick),    CONTINUO_FIELD(control_row, time_s),
                              CONTINUO_FIELD(control_row, channel), CONTINUO_FIELD(control_row, number),
                              CONTINUO_FIELD(control_row, value),   CONTINUO_FIELD(control_row, track)};
  });
}

const py::dtype& program_dtype() {
  return record_dtype<program_row>([] {
    return std::vector<field>{CONTINUO_FIELD(program_row, tick), CONTINUO_FIELD(program_row, time_s),
                              CONTINUO_FIELD(program_row, channel), CONTINUO_FIELD(program_row, program),
                              CONTINUO_FIELD(program_row, track)};
  });
}

const py::dtype& bend_dtype() {
  return record_dtype<bend_row>([] {
    return std::vector<field>{CONTINUO_FIELD(bend_row, tick), CONTINUO_FIELD(bend_row, time_s),
                              CONTINUO_FIELD(bend_row, value), CONTINUO_FIELD(bend_row, channel),
                              CONTINUO_FIELD(bend_row, track)};
  });
}

const py::dtype& tempo_dtype() {
  return record_dtype<tempo_row>([] {
    return std::vector<field>{CONTINUO_FIELD(tempo_row, tick), CONTINUO_FIELD(tempo_row, time_s),
                              CONTINUO_FIELD(tempo_row, us_per_quarter), CONTINUO_FIELD(tempo_row, bpm)};
  });
}

const py::dtype& time_signature_dtype() {
  return record_dtype<time_signature>([] {
    return std::vector<field>{CONTINUO_FIELD(time_signature, tick),
                              CONTINUO_FIELD(time_signature, time_s),
                              CONTINUO_FIELD(time_signature, numerator),
                              CONTINUO_FIELD(time_signature, denominator),
                              CONTINUO_FIELD(time_signature, clocks_per_click),
                              CONTINUO_FIELD(time_signature, thirty_seconds_per_quarter)};
  });
}

const py::dtype& key_signature_dtype() {
  return record_dtype<key_signature>([] {
    return std::vector<field>{CONTINUO_FIELD(key_signature, tick), CONTINUO_FIELD(key_signature, time_s),
                              CONTINUO_FIELD(key_signature, sharps), CONTINUO_FIELD(key_signature, minor)};
  });
}

// ---- options --------------------------------------------------------------------------------------

pairing_policy parse_pairing(std::string_view name) {
  for (const auto p : {pairing_policy::fifo, pairing_policy::lifo, pairing_policy::close_all}) {
    if (continuo::name(p) == name) return p;
  }
  throw py::value_error("pairing must be 'fifo', 'lifo' or 'close_all', not '" + std::string(name) + "'");
}

/// Copies column `key` of `table` (n values, or `fallback` everywhere when the key is absent).
template <class T>
std::vector<T> take(const py::dict& table, const char* key, std::size_t n, T fallback) {
  if (!table.contains(key)) return std::vector<T>(n, fallback);
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(table[key]);
  if (!a) throw py::type_error(std::string("column '") + key + "' is not an array of numbers");
  if (a.ndim() != 1 || static_cast<std::size_t>(a.size()) != n) {
    throw py::value_error(std::string("column '") + key + "' has " + std::to_string(a.size()) + " values, expected " +
                          std::to_string(n));
  }
  return std::vector<T>(a.data(), a.data() + n);
}

/// The number of rows of `table`, from its column `key` (0 when the table is empty).
std::size_t rows(const py::dict& table, const char* key) {
  if (!table.contains(key)) return 0;
  return static_cast<std::size_t>(py::len(table[key]));
}

// ---- the Performance object ----------------------------------------------------------------------

class py_performance {
 public:
  explicit py_performance(holder_ptr h) : h_(std::move(h)) {}

  static py_performance read(py::handle source, bool strict, std::string_view pairing, bool sustain,
                             std::uint8_t pedal_threshold, std::uint64_t max_events, tick_t max_tick,
                             std::uint32_t max_tracks, std::uint32_t max_diagnostics) {
    performance_options options;
    options.read.strict = strict;
    options.read.limits = {max_events, max_tick, max_tracks, max_diagnostics};
    options.pairing = parse_pairing(pairing);
    options.sustain = sustain;
    options.pedal_threshold = pedal_threshold;
    const buffer_view input(source);
    std::shared_ptr<holder> h;
    {
      py::gil_scoped_release release;
      h = std::make_shared<holder>(holder{read_performance(input.bytes(), options), options.pairing});
    }
    return py_performance(std::move(h));
  }

  /// Builds a performance from columns, through the writer and the reader so that it is exactly
  /// what reading its file gives (pedals derived from the controls, notes sorted, seconds set).
  static py_performance from_parts(const py::dict& notes, std::uint16_t ppq, const py::dict& tempo,
                                   const py::dict& controls, const py::dict& programs, const py::dict& bends,
                                   const py::dict& time_signatures, const py::dict& key_signatures,
                                   std::string_view pairing_name) {
    const pairing_policy pairing = parse_pairing(pairing_name);
    performance p;
    auto& n = p.notes;
    const std::size_t count = rows(notes, "onset_tick");
    n.onset_tick = take<tick_t>(notes, "onset_tick", count, 0);
    n.offset_tick = take<tick_t>(notes, "offset_tick", count, 0);
    n.pitch = take<std::uint8_t>(notes, "pitch", count, 60);
    n.velocity = take<std::uint8_t>(notes, "velocity", count, 64);
    n.release_velocity = take<std::uint8_t>(notes, "release_velocity", count, 64);
    n.channel = take<std::uint8_t>(notes, "channel", count, 0);
    n.track = take<std::uint16_t>(notes, "track", count, 0);
    n.onset_s.assign(count, 0);
    n.offset_s.assign(count, 0);

    const std::size_t tempo_count = rows(tempo, "tick");
    const auto tempo_ticks = take<tick_t>(tempo, "tick", tempo_count, 0);
    const auto tempo_us = take<std::uint32_t>(tempo, "us_per_quarter", tempo_count, 500'000);
    std::vector<tempo_change> changes(tempo_count);
    for (std::size_t i = 0; i < tempo_count; ++i) changes[i] = {tempo_ticks[i], tempo_us[i]};
    std::stable_sort(changes.begin(), changes.end(),
                     [](const tempo_change& a, const tempo_change& b) { return a.tick < b.tick; });
    p.tempo = tempo_map(midi::division::metrical(ppq), changes);

    const std::size_t cc = rows(controls, "tick");
    const auto cc_tick = take<tick_t>(controls, "tick", cc, 0);
    const auto cc_channel = take<std::uint8_t>(controls, "channel", cc, 0);
    const auto cc_number = take<std::uint8_t>(controls, "number", cc, 0);
    const auto cc_value = take<std::uint8_t>(controls, "value", cc, 0);
    const auto cc_track = take<std::uint16_t>(controls, "track", cc, 0);
    for (std::size_t i = 0; i < cc; ++i)
      p.controls.push_back({cc_tick[i], cc_channel[i], cc_number[i], cc_value[i], cc_track[i]});

    const std::size_t pc = rows(programs, "tick");
    const auto pc_tick = take<tick_t>(programs, "tick", pc, 0);
    const auto pc_channel = take<std::uint8_t>(programs, "channel", pc, 0);
    const auto pc_program = take<std::uint8_t>(programs, "program", pc, 0);
    const auto pc_track = take<std::uint16_t>(programs, "track", pc, 0);
    for (std::size_t i = 0; i < pc; ++i) p.programs.push_back({pc_tick[i], pc_channel[i], pc_program[i], pc_track[i]});

    const std::size_t pb = rows(bends, "tick");
    const auto pb_tick = take<tick_t>(bends, "tick", pb, 0);
    const auto pb_value = take<std::int16_t>(bends, "value", pb, 0);
    const auto pb_channel = take<std::uint8_t>(bends, "channel", pb, 0);
    const auto pb_track = take<std::uint16_t>(bends, "track", pb, 0);
    for (std::size_t i = 0; i < pb; ++i) p.pitch_bends.push_back({pb_tick[i], pb_value[i], pb_channel[i], pb_track[i]});

    const std::size_t ts = rows(time_signatures, "tick");
    const auto ts_tick = take<tick_t>(time_signatures, "tick", ts, 0);
    const auto ts_num = take<std::uint8_t>(time_signatures, "numerator", ts, 4);
    const auto ts_den = take<std::uint8_t>(time_signatures, "denominator", ts, 4);
    const auto ts_clocks = take<std::uint8_t>(time_signatures, "clocks_per_click", ts, 24);
    const auto ts_32nds = take<std::uint8_t>(time_signatures, "thirty_seconds_per_quarter", ts, 8);
    for (std::size_t i = 0; i < ts; ++i) {
      p.time_signatures.push_back({ts_tick[i], 0, ts_num[i], ts_den[i], ts_clocks[i], ts_32nds[i]});
    }

    const std::size_t ks = rows(key_signatures, "tick");
    const auto ks_tick = take<tick_t>(key_signatures, "tick", ks, 0);
    const auto ks_sharps = take<std::int8_t>(key_signatures, "sharps", ks, 0);
    const auto ks_minor = take<std::uint8_t>(key_signatures, "minor", ks, 0);
    for (std::size_t i = 0; i < ks; ++i) p.key_signatures.push_back({ks_tick[i], 0, ks_sharps[i], ks_minor[i] != 0});

    std::shared_ptr<holder> h;
    {
      py::gil_scoped_release release;
      std::size_t tracks = 1;
      tick_t end = 0;
      const auto see = [&](tick_t tick, std::uint16_t track) {
        end = std::max(end, tick);
        tracks = std::max<std::size_t>(tracks, track + std::size_t{1});
      };
      for (std::size_t i = 0; i < count; ++i) see(n.offset_tick[i], n.track[i]);
      for (const auto& c : p.controls) see(c.tick, c.track);
      for (const auto& c : p.programs) see(c.tick, c.track);
      for (const auto& b : p.pitch_bends) see(b.tick, b.track);
      for (const auto& s : p.time_signatures) see(s.tick, 0);
      for (const auto& k : p.key_signatures) see(k.tick, 0);
      for (const auto& c : p.tempo.changes()) see(c.tick, 0);
      p.track_count = static_cast<std::uint16_t>(std::min<std::size_t>(tracks, 65535));
      p.duration_tick = end;
      midi::write_options w;
      w.pairing = pairing;
      const auto bytes = midi::write_performance(p, w);
      performance_options r;
      r.pairing = pairing;
      h = std::make_shared<holder>(holder{read_performance(bytes, r), pairing});
    }
    return py_performance(std::move(h));
  }

  static py_performance from_state(const py::bytes& state) {
    const buffer_view input(state);
    std::shared_ptr<holder> h;
    try {
      py::gil_scoped_release release;
      h = std::make_shared<holder>(deserialize(input.bytes()));
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
    return py_performance(std::move(h));
  }

  [[nodiscard]] py::bytes state() const {
    std::string bytes;
    {
      py::gil_scoped_release release;
      bytes = serialize(*h_);
    }
    return py::bytes(bytes);
  }

  [[nodiscard]] const performance& perf() const { return h_->perf; }
  [[nodiscard]] std::string_view pairing() const { return name(h_->pairing); }

  /// The note columns as a dict of read-only arrays over the performance's own vectors.
  [[nodiscard]] py::dict notes() const {
    const auto& n = perf().notes;
    const py::capsule owner = own(h_);
    py::dict out;
    out["onset_s"] = column(n.onset_s, owner);
    out["offset_s"] = column(n.offset_s, owner);
    out["onset_tick"] = column(n.onset_tick, owner);
    out["offset_tick"] = column(n.offset_tick, owner);
    out["pitch"] = column(n.pitch, owner);
    out["velocity"] = column(n.velocity, owner);
    out["release_velocity"] = column(n.release_velocity, owner);
    out["channel"] = column(n.channel, owner);
    out["track"] = column(n.track, owner);
    return out;
  }

  [[nodiscard]] py::array note_array() const {
    const auto& n = perf().notes;
    std::vector<note_row> rows;
    {
      py::gil_scoped_release release;
      rows.resize(n.size());
      for (std::size_t i = 0; i < n.size(); ++i) {
        rows[i] = {n.onset_s[i],  n.offset_s[i],         n.onset_tick[i], n.offset_tick[i], n.pitch[i],
                   n.velocity[i], n.release_velocity[i], n.channel[i],    n.track[i]};
      }
    }
    return adopt(std::move(rows), note_dtype());
  }

  [[nodiscard]] py::array pedals() const { return view(perf().pedals, pedal_dtype(), own(h_)); }
  [[nodiscard]] py::array time_signatures() const {
    return view(perf().time_signatures, time_signature_dtype(), own(h_));
  }
  [[nodiscard]] py::array key_signatures() const { return view(perf().key_signatures, key_signature_dtype(), own(h_)); }

  [[nodiscard]] py::array controls() const {
    std::vector<control_row> rows;
    {
      py::gil_scoped_release release;
      rows.reserve(perf().controls.size());
      for (const auto& c : perf().controls) {
        rows.push_back({c.tick, perf().tempo.to_seconds(c.tick), c.channel, c.number, c.value, c.track});
      }
    }
    return adopt(std::move(rows), control_dtype());
  }

  [[nodiscard]] py::array programs() const {
    std::vector<program_row> rows;
    {
      py::gil_scoped_release release;
      rows.reserve(perf().programs.size());
      for (const auto& c : perf().programs) {
        rows.push_back({c.tick, perf().tempo.to_seconds(c.tick), c.channel, c.program, c.track});
      }
    }
    return adopt(std::move(rows), program_dtype());
  }

  [[nodiscard]] py::array pitch_bends() const {
    std::vector<bend_row> rows;
    {
      py::gil_scoped_release release;
      rows.reserve(perf().pitch_bends.size());
      for (const auto& b : perf().pitch_bends) {
        rows.push_back({b.tick, perf().tempo.to_seconds(b.tick), b.value, b.channel, b.track});
      }
    }
    return adopt(std::move(rows), bend_dtype());
  }

  [[nodiscard]] py::array tempo_changes() const {
    std::vector<tempo_row> rows;
    for (const auto& c : perf().tempo.changes()) {
      rows.push_back({c.tick, perf().tempo.to_seconds(c.tick), c.us_per_quarter, c.bpm()});
    }
    return adopt(std::move(rows), tempo_dtype());
  }

  [[nodiscard]] py::list diagnostics() const {
    py::list out;
    for (const auto& d : perf().diagnostics) {
      out.append(py::make_tuple(static_cast<int>(d.id), std::string(name(d.id)), d.offset, d.track, d.message));
    }
    return out;
  }

  /// Converts integer or fractional ticks (any shape) to seconds.
  [[nodiscard]] py::array tick_to_seconds(const py::array& ticks) const {
    const auto& tempo = perf().tempo;
    if (ticks.dtype().kind() == 'f') {
      const auto in = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(ticks);
      if (!in) throw py::error_already_set();
      py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
      const double* src = in.data();
      double* dst = out.mutable_data();
      const auto size = static_cast<std::size_t>(in.size());
      py::gil_scoped_release release;
      tempo_map::cursor cursor(tempo);
      constexpr double limit = 9.2e18;  // under 2^63: floor(x) + 1 fits a tick_t
      for (std::size_t i = 0; i < size; ++i) {
        const double x = src[i];
        if (!(x > -limit && x < limit)) {  // NaN, infinities and ticks no file can hold
          dst[i] = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        const double whole = std::floor(x);
        const auto t = static_cast<tick_t>(whole);
        // A tempo changes only on a whole tick, so the segment of t holds all of [t, t + 1).
        const seconds_t s = cursor.to_seconds(t);
        dst[i] = x == whole ? s : s + (x - whole) * (tempo.to_seconds(t + 1) - s);
      }
      return out;
    }
    const auto in = py::array_t<tick_t, py::array::c_style | py::array::forcecast>::ensure(ticks);
    if (!in) throw py::error_already_set();
    py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
    const auto size = static_cast<std::size_t>(in.size());
    const std::span<const tick_t> src(in.data(), size);
    const std::span<double> dst(out.mutable_data(), size);
    py::gil_scoped_release release;
    tempo.to_seconds(src, dst);
    return out;
  }

  [[nodiscard]] py::array seconds_to_tick(const py::array& seconds) const {
    const auto in = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(seconds);
    if (!in) throw py::error_already_set();
    py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
    const double* src = in.data();
    double* dst = out.mutable_data();
    const auto size = static_cast<std::size_t>(in.size());
    const auto& tempo = perf().tempo;
    py::gil_scoped_release release;
    for (std::size_t i = 0; i < size; ++i) dst[i] = tempo.to_ticks(src[i]);
    return out;
  }

  [[nodiscard]] py::bytes write(std::uint16_t format, std::uint16_t ppq, bool running_status,
                                std::string_view pairing_name) const {
    midi::write_options options;
    options.format = format;
    options.ticks_per_quarter = ppq;
    options.running_status = running_status;
    options.pairing = pairing_name.empty() ? h_->pairing : parse_pairing(pairing_name);
    std::vector<std::uint8_t> bytes;
    {
      py::gil_scoped_release release;
      bytes = midi::write_performance(perf(), options);
    }
    return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  /// Returns the (128, columns) piano roll sampled `fs` times a second: pretty_midi's
  /// get_piano_roll without pedal, so note i covers columns int(onset * fs) to int(offset * fs).
  [[nodiscard]] py::array piano_roll(double fs, double end_s, bool binary) const {
    const auto& n = perf().notes;
    if (end_s < 0) end_s = n.empty() ? 0.0 : *std::max_element(n.offset_s.begin(), n.offset_s.end());
    const double width = std::floor(end_s * fs);
    if (!(width >= 0 && width < double{1U << 30})) {
      throw py::value_error("a piano roll of " + std::to_string(width) + " columns is too large; lower fs or end_s");
    }
    const auto columns = static_cast<std::size_t>(width);
    py::array_t<float> out({py::ssize_t{128}, static_cast<py::ssize_t>(columns)});
    float* roll = out.mutable_data();
    {
      py::gil_scoped_release release;
      std::fill(roll, roll + 128 * columns, 0.0F);
      for (std::size_t i = 0; i < n.size(); ++i) {
        const auto begin = std::min(static_cast<std::size_t>(std::max(n.onset_s[i] * fs, 0.0)), columns);
        const auto end = std::min(static_cast<std::size_t>(std::max(n.offset_s[i] * fs, 0.0)), columns);
        float* row = roll + std::size_t{n.pitch[i]} * columns;
        const float v = binary ? 1.0F : static_cast<float>(n.velocity[i]);
        for (std::size_t c = begin; c < end; ++c) row[c] = binary ? v : row[c] + v;
      }
    }
    return out;
  }

  [[nodiscard]] bool equals(const py_performance& other) const {
    if (h_ == other.h_) return true;
    py::gil_scoped_release release;
    return perf() == other.perf();
  }

 private:
  holder_ptr h_;
};

/// Reads every buffer with the C++ core alone and returns the seconds it took: the baseline of
/// the binding-overhead benchmark (bench/python), measured on the very same bytes.
double time_core_read(const py::list& buffers, std::string_view pairing, int repeat) {
  std::vector<std::unique_ptr<buffer_view>> views;
  for (const auto& b : buffers) views.push_back(std::make_unique<buffer_view>(b));
  performance_options options;
  options.pairing = parse_pairing(pairing);
  py::gil_scoped_release release;
  std::size_t notes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeat; ++r) {
    for (const auto& v : views) notes += read_performance(v->bytes(), options).notes.size();
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return notes == std::numeric_limits<std::size_t>::max() ? 0.0 : elapsed.count();
}

// ---- practice: sessions, attempts, features -----------------------------------------------------

template <class T>
py::array_t<T> column(std::size_t n) {
  return py::array_t<T>(static_cast<py::ssize_t>(n));
}

/// Splits a performance into sessions and attempts: (sessions, attempts, diagnostics), the first two
/// as dicts of columns.
py::tuple split_practice_py(const py_performance& p, double attempt_gap_s, double restart_gap_s, double session_gap_s,
                            double stuck_s) {
  practice_split split;
  {
    py::gil_scoped_release release;
    sessionizer_options options;
    options.attempt_gap_s = attempt_gap_s;
    options.restart_gap_s = restart_gap_s;
    options.session_gap_s = session_gap_s;
    options.stuck_s = stuck_s;
    split = split_practice(p.perf(), options);
  }
  const auto na = split.attempts.size();
  auto a_start = column<double>(na), a_end = column<double>(na);
  auto a_first = column<std::int64_t>(na), a_count = column<std::int64_t>(na), a_session = column<std::int64_t>(na);
  for (std::size_t i = 0; i < na; ++i) {
    const auto& a = split.attempts[i];
    a_start.mutable_at(i) = a.start_s();
    a_end.mutable_at(i) = a.end_s();
    a_first.mutable_at(i) = static_cast<std::int64_t>(a.first_note);
    a_count.mutable_at(i) = static_cast<std::int64_t>(a.note_count);
    a_session.mutable_at(i) = a.session;
  }
  const auto ns = split.sessions.size();
  auto s_start = column<double>(ns), s_end = column<double>(ns), s_playing = column<double>(ns);
  auto s_first = column<std::int64_t>(ns), s_count = column<std::int64_t>(ns), s_notes = column<std::int64_t>(ns);
  for (std::size_t i = 0; i < ns; ++i) {
    const auto& s = split.sessions[i];
    s_start.mutable_at(i) = s.start_s();
    s_end.mutable_at(i) = s.end_s();
    s_playing.mutable_at(i) = s.playing_s();
    s_first.mutable_at(i) = s.first_attempt;
    s_count.mutable_at(i) = s.attempt_count;
    s_notes.mutable_at(i) = static_cast<std::int64_t>(s.note_count);
  }
  py::dict attempts;
  attempts["start_s"] = a_start;
  attempts["end_s"] = a_end;
  attempts["first_note"] = a_first;
  attempts["note_count"] = a_count;
  attempts["session"] = a_session;
  py::dict sessions;
  sessions["start_s"] = s_start;
  sessions["end_s"] = s_end;
  sessions["playing_s"] = s_playing;
  sessions["first_attempt"] = s_first;
  sessions["attempt_count"] = s_count;
  sessions["note_count"] = s_notes;
  py::list diagnostics;
  for (const auto& d : split.diagnostics) {
    diagnostics.append(py::make_tuple(std::string(name(d.id)), static_cast<double>(d.time_ns) / 1e9, d.message));
  }
  return py::make_tuple(sessions, attempts, diagnostics);
}

/// Returns the features of each stretch [first_note, first_note + note_count) from start_s to end_s
/// as a (stretches, features) array ordered as feature_names().
py::array_t<double> features_py(const py_performance& p, const py::array_t<std::int64_t>& first_note,
                                const py::array_t<std::int64_t>& note_count, const py::array_t<double>& start_s,
                                const py::array_t<double>& end_s) {
  const auto n = static_cast<std::size_t>(first_note.size());
  if (static_cast<std::size_t>(note_count.size()) != n || static_cast<std::size_t>(start_s.size()) != n ||
      static_cast<std::size_t>(end_s.size()) != n) {
    throw std::invalid_argument("first_note, note_count, start_s and end_s must have the same length");
  }
  const auto width = feature_names().size();
  py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)});
  auto rows = out.mutable_unchecked<2>();
  const auto first = first_note.unchecked<1>();
  const auto count = note_count.unchecked<1>();
  const auto from = start_s.unchecked<1>();
  const auto to = end_s.unchecked<1>();
  for (py::ssize_t k = 0; k < static_cast<py::ssize_t>(n); ++k) {
    if (first(k) < 0 || count(k) < 0) throw std::invalid_argument("note ranges must not be negative");
  }
  py::gil_scoped_release release;
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = static_cast<py::ssize_t>(i);
    const auto values = to_vector(compute_features(p.perf(), static_cast<std::size_t>(first(k)),
                                                   static_cast<std::size_t>(count(k)), from(k), to(k)));
    for (std::size_t j = 0; j < width; ++j) rows(k, static_cast<py::ssize_t>(j)) = values[j];
  }
  return out;
}

/// Returns notes [first, last) clamped to the performance, refusing negative bounds.
std::pair<std::size_t, std::size_t> note_range(const py_performance& p, std::int64_t first, std::int64_t last) {
  if (first < 0 || last < 0) throw std::invalid_argument("note ranges must not be negative");
  const auto n = p.perf().notes.size();
  const auto to = std::min(static_cast<std::size_t>(last), n);
  return {std::min(static_cast<std::size_t>(first), to), to};
}

py::tuple estimate_tempo_py(const py_performance& p, std::int64_t first, std::int64_t last) {
  const auto [from, to] = note_range(p, first, last);
  tempo_estimate t;
  {
    py::gil_scoped_release release;
    t = estimate_tempo(p.perf().notes, from, to);
  }
  return py::make_tuple(t.bpm, t.beat_period_s, t.confidence, t.tempo_spread, t.beat_count, t.event_count);
}

key_profile key_profile_named(std::string_view wanted) {
  for (const auto profile :
       {key_profile::krumhansl_kessler, key_profile::temperley_kostka_payne, key_profile::albrecht_shanahan,
        key_profile::bellman_budge, key_profile::aarden_essen, key_profile::sapp, key_profile::ensemble}) {
    if (name(profile) == wanted) return profile;
  }
  throw std::invalid_argument("unknown key profile '" + std::string(wanted) +
                              "': use krumhansl_kessler, temperley_kostka_payne, albrecht_shanahan, bellman_budge, "
                              "aarden_essen, sapp or ensemble");
}

py::tuple estimate_key_py(const py_performance& p, std::int64_t first, std::int64_t last, const std::string& profile) {
  const auto [from, to] = note_range(p, first, last);
  key_options options;
  options.profile = key_profile_named(profile);
  key_estimate k;
  {
    py::gil_scoped_release release;
    k = estimate_key(p.perf().notes, from, to, options);
  }
  return py::make_tuple(k.sharps, k.tonic_pc, k.minor, k.confidence, k.correlation, k.note_count);
}

py::list attempt_tuples(std::vector<attempt_span> attempts) {
  py::list out;
  for (const auto& a : attempts)
    out.append(py::make_tuple(a.start_ns, a.end_ns, a.first_note, a.note_count, a.session));
  return out;
}

py::list session_tuples(std::vector<session_span> sessions) {
  py::list out;
  for (const auto& s : sessions) {
    out.append(py::make_tuple(s.start_ns, s.end_ns, s.first_attempt, s.attempt_count, s.note_count, s.playing_ns));
  }
  return out;
}

void register_practice(py::module_& m) {
  m.def("split_practice", &split_practice_py, py::arg("performance"), py::arg("attempt_gap_s"),
        py::arg("restart_gap_s"), py::arg("session_gap_s"), py::arg("stuck_s"));
  m.def("features", &features_py, py::arg("performance"), py::arg("first_note"), py::arg("note_count"),
        py::arg("start_s"), py::arg("end_s"));
  m.def("estimate_tempo", &estimate_tempo_py, py::arg("performance"), py::arg("first_note"), py::arg("last_note"));
  m.def("estimate_key", &estimate_key_py, py::arg("performance"), py::arg("first_note"), py::arg("last_note"),
        py::arg("profile"));
  m.def(
      "key_name", [](int sharps, bool minor) { return std::string(key_name(sharps, minor)); }, py::arg("sharps"),
      py::arg("minor"));
  m.def("feature_names", [] {
    py::list names;
    for (const auto name : feature_names()) names.append(std::string(name));
    return names;
  });
  py::class_<sessionizer>(m, "Sessionizer")
      .def(py::init([](double attempt_gap_s, double restart_gap_s, double session_gap_s, double stuck_s) {
             sessionizer_options options;
             options.attempt_gap_s = attempt_gap_s;
             options.restart_gap_s = restart_gap_s;
             options.session_gap_s = session_gap_s;
             options.stuck_s = stuck_s;
             return sessionizer(options);
           }),
           py::arg("attempt_gap_s"), py::arg("restart_gap_s"), py::arg("session_gap_s"), py::arg("stuck_s"))
      .def("note_on", &sessionizer::note_on, py::arg("time_ns"), py::arg("channel"), py::arg("pitch"))
      .def("note_off", &sessionizer::note_off, py::arg("time_ns"), py::arg("channel"), py::arg("pitch"))
      .def("sustain", &sessionizer::sustain, py::arg("time_ns"), py::arg("channel"), py::arg("down"))
      .def("advance", &sessionizer::advance, py::arg("time_ns"))
      .def("finish", &sessionizer::finish)
      .def("take_attempts", [](sessionizer& s) { return attempt_tuples(s.take_attempts()); })
      .def("take_sessions", [](sessionizer& s) { return session_tuples(s.take_sessions()); })
      .def("take_diagnostics",
           [](sessionizer& s) {
             py::list out;
             for (const auto& d : s.take_diagnostics())
               out.append(py::make_tuple(std::string(name(d.id)), d.time_ns, d.message));
             return out;
           })
      .def_property_readonly("in_attempt", &sessionizer::in_attempt)
      .def_property_readonly("in_session", &sessionizer::in_session)
      .def_property_readonly("keys_down", &sessionizer::keys_down)
      .def("copy", [](const sessionizer& s) { return sessionizer(s); });
}

}  // namespace
}  // namespace continuo::python

PYBIND11_MODULE(_core, m) {
  using continuo::python::py_performance;
  m.doc() = "The private extension of the continuo package; use `import continuo` instead.";
  m.attr("__version__") = CONTINUO_PYTHON_VERSION;
  m.attr("library_version") = continuo::version();

  static py::exception<continuo::error> core_error(m, "CoreError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const continuo::error& e) {
      py::set_error(core_error, e.what());
    }
  });

  m.attr("DEFAULT_MAX_FILE_BYTES") = continuo::default_max_file_bytes;
  const continuo::midi::read_limits defaults;
  m.attr("DEFAULT_LIMITS") = py::make_tuple(defaults.max_events, defaults.max_tick, defaults.max_tracks,
                                            defaults.max_diagnostics);

  py::class_<py_performance>(m, "Performance")
      .def_static("read", &py_performance::read, py::arg("source"), py::arg("strict"), py::arg("pairing"),
                  py::arg("sustain"), py::arg("pedal_threshold"), py::arg("max_events"), py::arg("max_tick"),
                  py::arg("max_tracks"), py::arg("max_diagnostics"))
      .def_static("from_parts", &py_performance::from_parts, py::arg("notes"), py::arg("ppq"), py::arg("tempo"),
                  py::arg("controls"), py::arg("programs"), py::arg("pitch_bends"), py::arg("time_signatures"),
                  py::arg("key_signatures"), py::arg("pairing"))
      .def_static("from_state", &py_performance::from_state, py::arg("state"))
      .def("state", &py_performance::state)
      .def("notes", &py_performance::notes)
      .def("note_array", &py_performance::note_array)
      .def("pedals", &py_performance::pedals)
      .def("controls", &py_performance::controls)
      .def("programs", &py_performance::programs)
      .def("pitch_bends", &py_performance::pitch_bends)
      .def("time_signatures", &py_performance::time_signatures)
      .def("key_signatures", &py_performance::key_signatures)
      .def("tempo_changes", &py_performance::tempo_changes)
      .def("diagnostics", &py_performance::diagnostics)
      .def("tick_to_seconds", &py_performance::tick_to_seconds, py::arg("ticks"))
      .def("seconds_to_tick", &py_performance::seconds_to_tick, py::arg("seconds"))
      .def("write", &py_performance::write, py::arg("format"), py::arg("ppq"), py::arg("running_status"),
           py::arg("pairing"))
      .def("piano_roll", &py_performance::piano_roll, py::arg("fs"), py::arg("end_s"), py::arg("binary"))
      .def("equals", &py_performance::equals, py::arg("other"))
      .def_property_readonly("pairing", &py_performance::pairing)
      .def_property_readonly("format", [](const py_performance& p) { return p.perf().format; })
      .def_property_readonly("track_count", [](const py_performance& p) { return p.perf().track_count; })
      .def_property_readonly("event_count", [](const py_performance& p) { return p.perf().event_count; })
      .def_property_readonly("note_count", [](const py_performance& p) { return p.perf().notes.size(); })
      .def_property_readonly("duration_tick", [](const py_performance& p) { return p.perf().duration_tick; })
      .def_property_readonly("duration_s", [](const py_performance& p) { return p.perf().duration_s; })
      .def_property_readonly("status", [](const py_performance& p) { return std::string(name(p.perf().status)); })
      .def_property_readonly("division", [](const py_performance& p) { return p.perf().tempo.division().raw; });

  m.def("time_core_read", &continuo::python::time_core_read, py::arg("buffers"), py::arg("pairing"), py::arg("repeat"));
  continuo::python::register_practice(m);
  continuo::python::register_index(m);
  continuo::python::register_embedding(m);
  continuo::python::register_repertoire(m);
}

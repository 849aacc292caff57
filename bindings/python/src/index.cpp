// continuo._core.VectorIndex: the similarity index (continuo/index.hpp) for continuo.Index. Every
// call that touches vectors releases the GIL; a shared mutex lets searches from several Python
// threads run at once while add and remove wait for them (the C++ index itself leaves that to its
// caller). Argument conversion and checking live in continuo/_index.py.

#include "buffer_view.hpp"

#include <continuo/index.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace continuo::python {
namespace {

/// The Python exception raised for a continuo::error: args are (name, id, offset, message).
py::handle index_error_type() {
  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> storage;
  return storage
      .call_once_and_store_result([] {
        return py::reinterpret_steal<py::object>(
            PyErr_NewException("continuo._core.IndexCoreError", PyExc_ValueError, nullptr));
      })
      .get_stored();
}

/// Runs `work` without the GIL; a continuo::error comes back as an IndexCoreError that keeps the
/// diagnostic's name, id and offset for continuo.IndexDataError.
template <class F>
decltype(auto) without_gil(F&& work) {
  std::optional<continuo::error> failure;
  {
    py::gil_scoped_release release;
    try {
      return work();
    } catch (const continuo::error& e) {
      failure = e;
    }
  }
  const diagnostic& d = failure->where();
  const py::tuple args = py::make_tuple(std::string(name(d.id)), static_cast<int>(d.id), d.offset, failure->what());
  PyErr_SetObject(index_error_type().ptr(), args.ptr());
  throw py::error_already_set();
}

vector_storage storage_of(const std::string& text) {
  if (text == "float32") return vector_storage::float32;
  if (text == "int8") return vector_storage::int8;
  throw py::value_error("storage must be 'float32' or 'int8', not '" + text + "'");
}

using f32_matrix = py::array_t<float, py::array::c_style>;
using u64_column = py::array_t<std::uint64_t, py::array::c_style>;
using i64_column = py::array_t<std::int64_t, py::array::c_style>;

/// A vector_index behind a reader-writer lock.
class py_index {
 public:
  py_index(std::size_t dimension, const std::string& storage)
      : index_(without_gil(
            [&, kind = storage_of(storage)] { return vector_index({.dimension = dimension, .storage = kind}); })) {}
  explicit py_index(vector_index index) : index_(std::move(index)) {}

  /// Adds rows of `vectors` under `ids`: arrays of equal length, checked by the caller.
  void add(const u64_column& ids, const f32_matrix& vectors, const i64_column& groups, const i64_column& times) {
    const auto n = static_cast<std::size_t>(ids.size());
    check_columns(vectors, "vectors");
    if (static_cast<std::size_t>(vectors.shape(0)) != n || static_cast<std::size_t>(groups.size()) != n ||
        static_cast<std::size_t>(times.size()) != n) {
      throw py::value_error("ids, vectors, groups and times must have one row per vector");
    }
    const std::uint64_t* id = ids.data();
    const float* values = vectors.data();
    const std::size_t columns = index_.dimension();
    const std::int64_t* group = groups.data();
    const std::int64_t* time = times.data();
    without_gil([&] {
      const std::unique_lock lock(mutex_);
      for (std::size_t i = 0; i < n; ++i) {
        index_.add(id[i], {values + i * columns, columns}, {.group = group[i], .unix_time_ns = time[i]});
      }
    });
  }

  std::size_t remove(const u64_column& ids) {
    const std::uint64_t* id = ids.data();
    const auto n = static_cast<std::size_t>(ids.size());
    return without_gil([&] {
      const std::unique_lock lock(mutex_);
      std::size_t removed = 0;
      for (std::size_t i = 0; i < n; ++i) removed += index_.remove(id[i]) ? 1 : 0;
      return removed;
    });
  }

  /// Returns (ids, scores) of shape (queries, k), padded with -1 and -inf.
  py::tuple search(const f32_matrix& queries, std::size_t k, std::optional<std::int64_t> group,
                   std::optional<std::vector<std::int64_t>> groups, std::optional<std::int64_t> from_ns,
                   std::optional<std::int64_t> to_ns) const {
    check_columns(queries, "queries");
    const auto n = static_cast<std::size_t>(queries.shape(0));
    const search_filter filter{.group = group,
                               .groups = std::move(groups),
                               .unix_time_from_ns = from_ns,
                               .unix_time_to_ns = to_ns};
    py::array_t<std::int64_t> ids({n, k});
    py::array_t<float> scores({n, k});
    std::int64_t* id_out = ids.mutable_data();
    float* score_out = scores.mutable_data();
    const float* values = queries.data();
    without_gil([&] {
      const std::shared_lock lock(mutex_);
      const std::span<const float> all(values, n * index_.dimension());
      const auto results = n == 1 ? std::vector<std::vector<search_hit>>{index_.search(all, k, filter)}
                                  : index_.search_batch(all, k, filter);
      for (std::size_t q = 0; q < n; ++q) {
        const auto& hits = results[q];
        for (std::size_t j = 0; j < k; ++j) {
          id_out[q * k + j] = j < hits.size() ? static_cast<std::int64_t>(hits[j].id) : -1;
          score_out[q * k + j] = j < hits.size() ? hits[j].score : -std::numeric_limits<float>::infinity();
        }
      }
    });
    return py::make_tuple(ids, scores);
  }

  [[nodiscard]] bool contains(std::uint64_t id) const {
    const std::shared_lock lock(mutex_);
    return index_.contains(id);
  }
  [[nodiscard]] std::size_t size() const {
    const std::shared_lock lock(mutex_);
    return index_.size();
  }
  [[nodiscard]] std::size_t dimension() const { return index_.dimension(); }
  [[nodiscard]] std::string storage() const { return std::string(name(index_.storage())); }
  [[nodiscard]] double bytes_per_vector() const {
    const std::shared_lock lock(mutex_);
    return index_.bytes_per_vector();
  }
  [[nodiscard]] py::array_t<std::uint64_t> ids() const {
    const std::shared_lock lock(mutex_);
    const auto stored = index_.ids();
    py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(stored.size()));
    std::copy(stored.begin(), stored.end(), out.mutable_data());
    return out;
  }
  [[nodiscard]] py::tuple metadata(std::uint64_t id) const {
    const std::shared_lock lock(mutex_);
    const auto found = index_.metadata(id);
    if (!found) throw py::key_error(std::to_string(id));
    return py::make_tuple(found->group, found->unix_time_ns);
  }

  [[nodiscard]] py::array_t<float> vector(std::uint64_t id) const {
    const std::shared_lock lock(mutex_);
    const auto found = index_.vector(id);
    if (!found) throw py::key_error(std::to_string(id));
    py::array_t<float> out(static_cast<py::ssize_t>(found->size()));
    std::copy(found->begin(), found->end(), out.mutable_data());
    return out;
  }

  [[nodiscard]] py::bytes to_bytes() const {
    const std::vector<std::uint8_t> bytes = without_gil([&] {
      const std::shared_lock lock(mutex_);
      return index_.to_bytes();
    });
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  static std::unique_ptr<py_index> from_bytes(const py::handle& data) {
    const buffer_view view(data);
    return std::make_unique<py_index>(without_gil([&] { return vector_index::from_bytes(view.bytes()); }));
  }
  void save(const std::filesystem::path& path) const {
    without_gil([&] {
      const std::shared_lock lock(mutex_);
      index_.save(path);
    });
  }
  static std::unique_ptr<py_index> load(const std::filesystem::path& path) {
    return std::make_unique<py_index>(without_gil([&] { return vector_index::load(path); }));
  }

 private:
  /// Throws ValueError unless `a` is a matrix with one column per dimension.
  void check_columns(const f32_matrix& a, const char* what) const {
    if (a.ndim() != 2 || static_cast<std::size_t>(a.shape(1)) != index_.dimension()) {
      throw py::value_error(std::string(what) + " must be a 2-D array of " + std::to_string(index_.dimension()) +
                            " columns");
    }
  }

  vector_index index_;
  mutable std::shared_mutex mutex_;
};

}  // namespace

void register_index(py::module_& m) {
  m.attr("IndexCoreError") = index_error_type();
  py::class_<py_index>(m, "VectorIndex")
      .def(py::init<std::size_t, const std::string&>(), py::arg("dimension"), py::arg("storage"))
      .def("add", &py_index::add, py::arg("ids"), py::arg("vectors"), py::arg("groups"), py::arg("times"))
      .def("remove", &py_index::remove, py::arg("ids"))
      .def("search", &py_index::search, py::arg("queries"), py::arg("k"), py::arg("group"), py::arg("groups"),
           py::arg("time_from_ns"), py::arg("time_to_ns"))
      .def("contains", &py_index::contains, py::arg("id"))
      .def("size", &py_index::size)
      .def("ids", &py_index::ids)
      .def("metadata", &py_index::metadata, py::arg("id"))
      .def("vector", &py_index::vector, py::arg("id"))
      .def("to_bytes", &py_index::to_bytes)
      .def_static("from_bytes", &py_index::from_bytes, py::arg("data"))
      .def("save", &py_index::save, py::arg("path"))
      .def_static("load", &py_index::load, py::arg("path"))
      .def_property_readonly("dimension", &py_index::dimension)
      .def_property_readonly("storage", &py_index::storage)
      .def_property_readonly("bytes_per_vector", &py_index::bytes_per_vector);
}

}  // namespace continuo::python

#pragma once
// The bytes of a Python object, read in place.

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace continuo::python {

/// The bytes of any object that exports a contiguous buffer, pinned until destruction (a
/// bytearray cannot be resized while this holds it, so the GIL can be released over the bytes).
/// An object whose buffer is not contiguous raises what its exporter raises (numpy: ValueError).
class buffer_view {
 public:
  explicit buffer_view(pybind11::handle object) {
    if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_SIMPLE) != 0) throw pybind11::error_already_set();
  }
  ~buffer_view() { PyBuffer_Release(&view_); }
  buffer_view(const buffer_view&) = delete;
  buffer_view& operator=(const buffer_view&) = delete;
  buffer_view(buffer_view&&) = delete;
  buffer_view& operator=(buffer_view&&) = delete;

  [[nodiscard]] std::span<const std::uint8_t> bytes() const {
    return {static_cast<const std::uint8_t*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

}  // namespace continuo::python

#pragma once
// The C++ side of a continuo.Performance: an immutable performance behind a shared pointer, so
// that every numpy array handed to Python can keep it alive through a capsule of its own.

#include <continuo/performance.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace continuo::python {

/// A performance and the pairing policy it was read with (the default for writing it back).
struct holder {
  performance perf;
  pairing_policy pairing = pairing_policy::fifo;
};

/// Never mutated once built: arrays over its vectors stay valid for as long as they hold it.
using holder_ptr = std::shared_ptr<const holder>;

/// Returns the pickled form of `h`: a versioned, little-endian, field-by-field encoding.
[[nodiscard]] std::string serialize(const holder& h);

/// Rebuilds what serialize() wrote; throws std::invalid_argument on any malformed input.
[[nodiscard]] holder deserialize(std::span<const std::uint8_t> bytes);

}  // namespace continuo::python

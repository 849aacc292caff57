#pragma once
// Helpers shared by the C++ tests: Standard MIDI Files built byte by byte, and the shared corpus.

#include <continuo/performance.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace continuo::test {

using bytes = std::vector<std::uint8_t>;

/// Returns the variable-length quantity encoding of `value`.
inline bytes vlq(std::uint32_t value) {
  bytes out{static_cast<std::uint8_t>(value & 0x7FU)};
  while ((value >>= 7U) != 0) out.insert(out.begin(), static_cast<std::uint8_t>((value & 0x7FU) | 0x80U));
  return out;
}

/// Builds a file chunk by chunk: smf().header(0, 1, 96).track({0x00, 0x90, 60, 100, ...}).bytes.
struct smf {
  bytes data;

  smf& raw(const bytes& b) {
    data.insert(data.end(), b.begin(), b.end());
    return *this;
  }
  smf& be(std::uint32_t value, int count) {
    for (int i = count - 1; i >= 0; --i) data.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    return *this;
  }
  smf& header(std::uint16_t format, std::uint16_t tracks, std::uint16_t division) {
    raw({'M', 'T', 'h', 'd'});
    return be(6, 4).be(format, 2).be(tracks, 2).be(division, 2);
  }
  /// An MTrk chunk whose declared length is the body's.
  smf& track(const bytes& body) { return track(body, static_cast<std::uint32_t>(body.size())); }
  /// An MTrk chunk declaring `length` bytes, whatever the body holds.
  smf& track(const bytes& body, std::uint32_t length) {
    raw({'M', 'T', 'r', 'k'});
    be(length, 4);
    return raw(body);
  }
  // Implicit on purpose: a built file reads as the bytes it holds.
  operator bytes() const { return data; }                          // NOLINT(google-explicit-constructor)
  operator std::span<const std::uint8_t>() const { return data; }  // NOLINT(google-explicit-constructor)
};

/// The end-of-track event with delta 0.
inline const bytes end_of_track{0x00, 0xFF, 0x2F, 0x00};

/// Concatenates byte strings.
inline bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// Returns the shared corpus folder from CONTINUO_CORPUS, or nothing when it is unset.
/// With CONTINUO_REQUIRE_CORPUS=1 (CI) a missing corpus is a failure, not a skip.
inline std::optional<std::filesystem::path> corpus() {
  const char* dir = std::getenv("CONTINUO_CORPUS");
  if (dir == nullptr || !std::filesystem::is_directory(dir)) return std::nullopt;
  return std::filesystem::path(dir);
}

inline bool corpus_required() {
  const char* v = std::getenv("CONTINUO_REQUIRE_CORPUS");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace continuo::test

namespace continuo {
// Readable failure messages for the model's types (found by gtest through argument-dependent lookup).
inline void PrintTo(const note_columns& n, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  for (std::size_t i = 0; i < n.size(); ++i) {
    *os << "\n  [" << n.onset_tick[i] << ", " << n.offset_tick[i] << "] pitch " << int{n.pitch[i]} << " vel "
        << int{n.velocity[i]} << "/" << int{n.release_velocity[i]} << " ch " << int{n.channel[i]} << " track "
        << n.track[i];
  }
}
inline void PrintTo(const pedal_span& p, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << "pedal " << int(p.kind) << " [" << p.onset_tick << ", " << p.offset_tick << "] ch " << int{p.channel}
      << " track " << p.track;
}
}  // namespace continuo

/// Binds `var` to the corpus folder, or skips the test (fails it in CI) when there is none.
#define CONTINUO_CORPUS_OR_SKIP(var)                                                                   \
  const auto var##_opt = ::continuo::test::corpus();                                                   \
  if (!var##_opt) {                                                                                    \
    if (::continuo::test::corpus_required()) FAIL() << "CONTINUO_CORPUS is required but not a folder"; \
    GTEST_SKIP() << "set CONTINUO_CORPUS=../shared/corpus to run the corpus tests";                    \
  }                                                                                                    \
  const std::filesystem::path& var = *var##_opt

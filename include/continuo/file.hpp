#pragma once
/// \file Loading and saving whole files.

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace continuo {

/// The most bytes load_file reads by default: 1 GiB, ten times the largest MIDI file we know of, and
/// a bound on what a device that never ends (/dev/zero) or a wrong path can make it hold.
inline constexpr std::uint64_t default_max_file_bytes = std::uint64_t{1} << 30U;

/// Returns the bytes of the file at `path` (a regular file, a pipe or a device); throws
/// continuo::error naming the path and the reason, also when it holds more than `max_bytes`.
[[nodiscard]] std::vector<std::uint8_t> load_file(const std::filesystem::path& path,
                                                  std::uint64_t max_bytes = default_max_file_bytes);

/// Writes `bytes` to `path` through a new temporary file beside it and a rename, so a crash never
/// leaves half a file and a failure leaves none. A file replaced keeps its permissions; a symbolic
/// link stays a link (the file it points to is replaced); a FIFO or a device is written to, as it
/// cannot be replaced. Throws continuo::error naming the path and the reason.
void save_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace continuo

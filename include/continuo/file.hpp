#pragma once
/// \file Loading and saving whole files.

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace continuo {

/// Returns the bytes of the file at `path`; throws continuo::error naming the path and the reason.
[[nodiscard]] std::vector<std::uint8_t> load_file(const std::filesystem::path& path);

/// Writes `bytes` to `path` through a new temporary file beside it and a rename, so a crash never
/// leaves half a file and a failure leaves none; throws continuo::error naming the path and the reason.
void save_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace continuo

#pragma once
/// \file A group of MIDI files loaded into memory before anything is timed.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace continuo_bench {

/// One file's path and bytes.
struct midi_file {
  std::string path;
  std::vector<std::uint8_t> bytes;
};

/// The files of one corpus group, in a stable (sorted) order.
struct corpus {
  std::vector<midi_file> files;

  [[nodiscard]] std::uint64_t total_bytes() const noexcept;
};

/// Loads `sources` into memory: a file, a folder (every *.mid and *.midi below it, any case), or
/// `@list.txt` (one path per line). Throws std::runtime_error on a path that cannot be read.
[[nodiscard]] corpus load_corpus(std::span<const std::string> sources);

/// Returns the bytes of the file at `path`; throws std::runtime_error when it cannot be read.
[[nodiscard]] std::vector<std::uint8_t> read_bytes(const std::string& path);

/// Writes `bytes` to `path` through a temporary file and a rename, so a cut-off run never leaves a
/// partial file that a later run would take for a finished one.
void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace continuo_bench

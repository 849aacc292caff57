#pragma once
/// \file libsmf (Debian's libsmf0), the C peer: its parse of the same in-memory bytes.

#include <cstdint>
#include <span>
#include <vector>

namespace continuo_bench::libsmf {

/// Silences libsmf's GLib warnings (it logs every damaged file), which would otherwise flood stderr
/// and be timed along with the parse.
void silence_warnings();

/// A parsed file, freed with smf_delete when it goes out of scope.
class loaded {
 public:
  loaded() = default;
  explicit loaded(void* smf) noexcept : smf_(smf) {}
  loaded(loaded&& other) noexcept : smf_(other.smf_) { other.smf_ = nullptr; }
  loaded& operator=(loaded&& other) noexcept;
  loaded(const loaded&) = delete;
  loaded& operator=(const loaded&) = delete;
  ~loaded();

  [[nodiscard]] bool ok() const noexcept { return smf_ != nullptr; }
  /// Returns the number of events over all tracks.
  [[nodiscard]] std::uint64_t event_count() const noexcept;
  [[nodiscard]] void* get() const noexcept { return smf_; }

 private:
  void* smf_ = nullptr;
};

/// Runs smf_load_from_memory: every event of every track, with libsmf's own times in seconds.
[[nodiscard]] loaded load(std::span<const std::uint8_t> bytes);

/// Notes paired the way a libsmf user would: note-on and note-off matched first in, first out per
/// channel and key within a track, then sorted by onset; times in ticks and libsmf's seconds.
struct notes {
  loaded file;
  std::vector<std::int64_t> onset_tick;
  std::vector<std::int64_t> offset_tick;
  std::vector<double> onset_s;
  std::vector<double> offset_s;
  std::vector<std::uint8_t> pitch;
  std::vector<std::uint8_t> velocity;
};

/// Loads `bytes` and pairs the notes (see notes).
[[nodiscard]] notes load_notes(std::span<const std::uint8_t> bytes);

}  // namespace continuo_bench::libsmf

#include <continuo/fingerprint.hpp>

#include <algorithm>
#include <cmath>

namespace continuo {
namespace {

// Hash layout (docs/embeddings.md): bits 0-3 ratio bin + 7, bit 4 line (0 melody, 1 bass), then either
// three 7-bit pitches (bits 5-25) or two 8-bit intervals + 127 (bits 5-20) with bit 30 set, so the two
// kinds never collide.
constexpr int max_ratio_bin = 7;
constexpr std::uint32_t invariant_bit = 1U << 30U;

std::uint32_t triple_hash(int p1, int p2, int p3, std::uint32_t line, int ratio_bin, bool invariant) noexcept {
  const auto bin = static_cast<std::uint32_t>(ratio_bin + max_ratio_bin);
  std::uint32_t pitches = 0;
  if (invariant) {
    pitches = static_cast<std::uint32_t>(p2 - p1 + 127) | (static_cast<std::uint32_t>(p3 - p2 + 127) << 8U);
    pitches |= invariant_bit >> 5U;
  } else {
    pitches = static_cast<std::uint32_t>(p1) | (static_cast<std::uint32_t>(p2) << 7U) |
              (static_cast<std::uint32_t>(p3) << 14U);
  }
  return bin | (line << 4U) | (pitches << 5U);
}

}  // namespace

std::vector<onset_event> onset_events(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                                      seconds_t merge_window_s) {
  const std::size_t n = std::min(onset_s.size(), pitch.size());
  std::vector<onset_event> events;
  events.reserve(n / 2 + 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (events.empty() || onset_s[i] - events.back().onset_s > merge_window_s) {
      events.push_back({onset_s[i], static_cast<std::uint32_t>(i), 0, pitch[i], pitch[i]});
    }
    auto& e = events.back();
    ++e.count;
    e.lowest = std::min(e.lowest, pitch[i]);
    e.highest = std::max(e.highest, pitch[i]);
  }
  return events;
}

std::vector<fingerprint> fingerprints(std::span<const onset_event> events, const fingerprint_options& options) {
  std::vector<fingerprint> out;
  const std::size_t n = events.size();
  const std::size_t fan = std::max<std::size_t>(options.fan_out, 1);
  out.reserve(n * fan * fan * 2);
  const double bin_width = options.ratio_bin_log2 > 0 ? options.ratio_bin_log2 : 0.5;
  auto emit = [&](std::size_t i, std::size_t j, std::size_t k, int bin) {
    const auto& a = events[i];
    const auto& b = events[j];
    const auto& c = events[k];
    const auto onset = static_cast<float>(a.onset_s);
    const auto span = static_cast<float>(c.onset_s - a.onset_s);
    const auto event = static_cast<std::uint32_t>(i);
    const bool invariant = options.transposition_invariant;
    out.push_back({triple_hash(a.highest, b.highest, c.highest, 0, bin, invariant), event, onset, span});
    // A line of single notes has one pitch per event: the bass line would repeat the melody's hash.
    if (a.count > 1 || b.count > 1 || c.count > 1) {
      out.push_back({triple_hash(a.lowest, b.lowest, c.lowest, 1, bin, invariant), event, onset, span});
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n && j <= i + fan; ++j) {
      const double gap1 = events[j].onset_s - events[i].onset_s;
      if (gap1 > options.max_gap_s) break;
      for (std::size_t k = j + 1; k < n && k <= j + fan; ++k) {
        const double gap2 = events[k].onset_s - events[j].onset_s;
        if (gap2 > options.max_gap_s) break;
        // Events are at least merge_window_s apart, so both gaps are positive.
        const double scaled = std::log2(gap1 / gap2) / bin_width;
        const double rounded = std::clamp(std::round(scaled), double{-max_ratio_bin}, double{max_ratio_bin});
        const int bin = static_cast<int>(rounded);
        emit(i, j, k, bin);
        const double offset = scaled - rounded;
        if (options.edge_probe > 0 && 0.5 - std::abs(offset) < options.edge_probe) {
          const int neighbour = bin + (offset > 0 ? 1 : -1);
          if (std::abs(neighbour) <= max_ratio_bin) emit(i, j, k, neighbour);
        }
      }
    }
  }
  return out;
}

std::vector<fingerprint> fingerprints(const note_columns& notes, std::size_t first, std::size_t last,
                                      const fingerprint_options& options) {
  last = std::min(last, notes.size());
  first = std::min(first, last);
  const auto events = onset_events(std::span(notes.onset_s).subspan(first, last - first),
                                   std::span(notes.pitch).subspan(first, last - first), options.merge_window_s);
  return fingerprints(events, options);
}

}  // namespace continuo

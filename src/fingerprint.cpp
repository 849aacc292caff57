#include <continuo/fingerprint.hpp>

#include <algorithm>
#include <cmath>

namespace continuo {
namespace detail {

// Hash layout (docs/embeddings.md): bits 0-3 ratio bin + 7, bit 4 line (0 melody, 1 bass), then either
// three 7-bit pitches (bits 5-25) or two 8-bit intervals + 127 (bits 5-20) with bit 30 set, so the two
// kinds never collide.
std::uint32_t triple_hash(int p1, int p2, int p3, std::uint32_t line, int ratio_bin, bool invariant) noexcept {
  constexpr std::uint32_t invariant_bit = 1U << 30U;
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

std::vector<float> log2_gaps(std::span<const onset_event> events, std::size_t fan_out) {
  const std::size_t n = events.size();
  std::vector<float> out(n * fan_out, 0.0F);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t d = 1; d <= fan_out && i + d < n; ++d) {
      out[i * fan_out + d - 1] = static_cast<float>(std::log2(events[i + d].onset_s - events[i].onset_s));
    }
  }
  return out;
}

}  // namespace detail

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
  const std::size_t fan = std::max<std::size_t>(options.fan_out, 1);
  out.reserve(events.size() * fan * fan * 2);
  for_each_fingerprint(events, options, [&out](const fingerprint& f) { out.push_back(f); });
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

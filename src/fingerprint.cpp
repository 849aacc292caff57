#include <continuo/fingerprint.hpp>

#include <algorithm>
#include <cmath>

namespace continuo {
namespace detail {

void write_gaps(std::span<const onset_event> events, const fingerprint_options& options, float* scaled_log2,
                std::size_t event_stride, std::size_t distance_stride, std::uint8_t* reach) {
  const std::size_t n = events.size();
  const std::size_t fan = fan_out_of(options);
  const double per_bin = 1.0 / (options.ratio_bin_log2 > 0 ? options.ratio_bin_log2 : 0.5);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t d = 1;
    // Events are at least merge_window_s apart, so every gap is positive.
    for (; d <= fan && i + d < n && events[i + d].onset_s - events[i].onset_s <= options.max_gap_s; ++d) {
      scaled_log2[i * event_stride + (d - 1) * distance_stride] = static_cast<float>(
          std::log2(events[i + d].onset_s - events[i].onset_s) * per_bin);
    }
    reach[i] = static_cast<std::uint8_t>(d - 1);
  }
}

event_gaps gaps_of(std::span<const onset_event> events, const fingerprint_options& options) {
  const std::size_t n = events.size();
  const std::size_t fan = fan_out_of(options);
  event_gaps gaps{fan, std::vector<float>(n * fan, 0.0F), std::vector<std::uint8_t>(n, 0)};
  write_gaps(events, options, gaps.scaled_log2.data(), fan, 1, gaps.reach.data());
  return gaps;
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
  detail::require_note_seconds(notes, "continuo::fingerprints", /*offsets=*/false);
  last = std::min(last, notes.size());
  first = std::min(first, last);
  const auto events = onset_events(std::span(notes.onset_s).subspan(first, last - first),
                                   std::span(notes.pitch).subspan(first, last - first), options.merge_window_s);
  return fingerprints(events, options);
}

}  // namespace continuo

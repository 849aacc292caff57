#include "libsmf_peer.hpp"

// smf.h includes glib.h inside its extern "C" block, where glib pulls in C++ templates under C++:
// glib.h first, so that its include guards make that a no-op.
#include <glib.h>
#include <smf.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace continuo_bench::libsmf {
namespace {

void drop_message(const gchar* /*domain*/, GLogLevelFlags /*level*/, const gchar* /*message*/, gpointer /*data*/) {}

template <class T>
void permute(std::vector<T>& column, const std::vector<std::uint32_t>& order) {
  std::vector<T> sorted(column.size());
  for (std::size_t i = 0; i < order.size(); ++i) sorted[i] = column[order[i]];
  column.swap(sorted);
}

/// Frees a loaded file in linear time. smf_delete removes events one at a time with
/// g_ptr_array_remove, a linear search, so it takes time quadratic in the events of a track:
/// 11 s for the 2-hour take's 150,000 events, some 20 minutes for the 24-hour take's 1.6 million.
/// libsmf 1.3 allocates every event and its MIDI buffer with malloc (smf_event_new), so freeing
/// them here and emptying the arrays first leaves smf_delete only the tracks and the tempo map.
void free_smf(smf_t* smf) {
  for (int t = 1; t <= smf->number_of_tracks; ++t) {
    smf_track_t* track = smf_get_track_by_number(smf, t);
    if (track == nullptr) continue;
    for (guint i = 0; i < track->events_array->len; ++i) {
      auto* e = static_cast<smf_event_t*>(g_ptr_array_index(track->events_array, i));
      std::free(e->midi_buffer);  // NOLINT(cppcoreguidelines-no-malloc): libsmf's own malloc'd memory
      std::free(e);               // NOLINT(cppcoreguidelines-no-malloc)
    }
    g_ptr_array_set_size(track->events_array, 0);
    track->number_of_events = 0;
    track->next_event_number = 0;
  }
  smf_delete(smf);
}

}  // namespace

void silence_warnings() { g_log_set_default_handler(drop_message, nullptr); }

loaded& loaded::operator=(loaded&& other) noexcept {
  if (this != &other) {
    if (smf_ != nullptr) free_smf(static_cast<smf_t*>(smf_));
    smf_ = other.smf_;
    other.smf_ = nullptr;
  }
  return *this;
}

loaded::~loaded() {
  if (smf_ != nullptr) free_smf(static_cast<smf_t*>(smf_));
}

std::uint64_t loaded::event_count() const noexcept {
  if (smf_ == nullptr) return 0;
  auto* smf = static_cast<smf_t*>(smf_);
  std::uint64_t sum = 0;
  for (int t = 1; t <= smf->number_of_tracks; ++t) {
    if (const smf_track_t* track = smf_get_track_by_number(smf, t); track != nullptr) {
      sum += static_cast<std::uint64_t>(track->number_of_events);
    }
  }
  return sum;
}

loaded load(std::span<const std::uint8_t> bytes) {
  // libsmf takes an int length; every file of the corpora is far below 2 GiB.
  return loaded(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
}

notes load_notes(std::span<const std::uint8_t> bytes) {
  notes out;
  out.file = load(bytes);
  if (!out.file.ok()) return out;
  auto* smf = static_cast<smf_t*>(out.file.get());
  constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  // Open notes per channel and key: a FIFO through `next`, as in any straightforward pairing.
  std::array<std::uint32_t, std::size_t{16} * 128> head{};
  std::array<std::uint32_t, std::size_t{16} * 128> tail{};
  std::vector<std::uint32_t> next;
  for (int t = 1; t <= smf->number_of_tracks; ++t) {
    smf_track_t* track = smf_get_track_by_number(smf, t);
    if (track == nullptr) continue;
    head.fill(none);
    tail.fill(none);
    smf_event_t* last = nullptr;
    for (int i = 1; i <= track->number_of_events; ++i) {
      smf_event_t* e = smf_track_get_event_by_number(track, i);
      if (e == nullptr || e->midi_buffer_length < 3) continue;
      last = e;
      const unsigned status = e->midi_buffer[0];
      const unsigned kind = status & 0xF0U;
      if (kind != 0x80U && kind != 0x90U) continue;
      const std::size_t key = (status & 0x0FU) * 128U + (e->midi_buffer[1] & 0x7FU);
      const std::uint8_t velocity = e->midi_buffer[2];
      if (kind == 0x90U && velocity != 0) {
        const auto index = static_cast<std::uint32_t>(out.pitch.size());
        out.onset_tick.push_back(e->time_pulses);
        out.offset_tick.push_back(e->time_pulses);
        out.onset_s.push_back(e->time_seconds);
        out.offset_s.push_back(e->time_seconds);
        out.pitch.push_back(e->midi_buffer[1]);
        out.velocity.push_back(velocity);
        next.push_back(none);
        if (head[key] == none) {
          head[key] = index;
        } else {
          next[tail[key]] = index;
        }
        tail[key] = index;
        continue;
      }
      const std::uint32_t open = head[key];
      if (open == none) continue;
      head[key] = next[open];
      out.offset_tick[open] = e->time_pulses;
      out.offset_s[open] = e->time_seconds;
    }
    // Notes still open at the end of the track end with its last event.
    if (last != nullptr) {
      for (std::uint32_t h : head) {
        for (std::uint32_t i = h; i != none; i = next[i]) {
          out.offset_tick[i] = last->time_pulses;
          out.offset_s[i] = last->time_seconds;
        }
      }
    }
  }
  std::vector<std::uint32_t> order(out.pitch.size());
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return out.onset_tick[a] < out.onset_tick[b] ||
           (out.onset_tick[a] == out.onset_tick[b] && out.pitch[a] < out.pitch[b]);
  });
  permute(out.onset_tick, order);
  permute(out.offset_tick, order);
  permute(out.onset_s, order);
  permute(out.offset_s, order);
  permute(out.pitch, order);
  permute(out.velocity, order);
  return out;
}

}  // namespace continuo_bench::libsmf

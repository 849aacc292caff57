#include "midi/decoder.hpp"

#include <continuo/performance.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>
#include <string>
#include <tuple>

namespace continuo {
namespace {

constexpr std::uint32_t no_note = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t key_count = std::size_t{16} * 128;  // (channel, pitch) pairs

/// The total order of notes: onset, pitch, channel, track, offset, velocity, release velocity.
auto note_key(const note_columns& n, std::uint32_t i) {
  return std::tie(n.onset_tick[i], n.pitch[i], n.channel[i], n.track[i], n.offset_tick[i], n.velocity[i],
                  n.release_velocity[i]);
}

template <class T>
void permute(std::vector<T>& column, const std::vector<std::uint32_t>& order) {
  std::vector<T> sorted;
  sorted.reserve(column.size());
  for (const auto i : order) sorted.push_back(column[i]);
  column.swap(sorted);
}

/// Reorders rows [first, first + order.size()) of a column as `order` (absolute row indices) says.
template <class T>
void permute_rows(std::vector<T>& column, std::size_t first, const std::vector<std::uint32_t>& order,
                  std::vector<T>& scratch) {
  scratch.clear();
  for (const auto i : order) scratch.push_back(column[i]);
  std::copy(scratch.begin(), scratch.end(), column.begin() + static_cast<std::ptrdiff_t>(first));
}

/// Sorts the note columns into their total order. Each run (a track's notes) is already sorted by
/// onset, so only notes struck together can be out of order: each such chord is sorted in place,
/// O(n log g) for chords of g notes. Only files with notes in several tracks pay for a merge of
/// the runs, O(n log runs). Hostile input (100k notes on one tick) cannot make this quadratic.
void sort_notes(note_columns& notes, std::vector<std::size_t> runs) {
  const auto n = static_cast<std::uint32_t>(notes.size());
  const auto less = [&notes](std::uint32_t a, std::uint32_t b) { return note_key(notes, a) < note_key(notes, b); };
  runs.push_back(n);
  std::vector<std::uint32_t> chord;
  std::vector<tick_t> ticks;
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint16_t> tracks;
  std::size_t filled_runs = 0;
  for (std::size_t r = 0; r + 1 < runs.size(); ++r) {
    filled_runs += runs[r + 1] > runs[r] ? 1 : 0;
    for (auto first = static_cast<std::uint32_t>(runs[r]); first < runs[r + 1];) {
      auto last = first + 1;
      while (last < runs[r + 1] && notes.onset_tick[last] == notes.onset_tick[first]) ++last;
      bool in_order = true;
      for (auto i = first + 1; i < last && in_order; ++i) in_order = !less(i, i - 1);
      if (!in_order) {
        chord.resize(last - first);
        std::iota(chord.begin(), chord.end(), first);
        std::sort(chord.begin(), chord.end(), less);
        permute_rows(notes.offset_tick, first, chord, ticks);
        permute_rows(notes.pitch, first, chord, bytes);
        permute_rows(notes.velocity, first, chord, bytes);
        permute_rows(notes.release_velocity, first, chord, bytes);
        permute_rows(notes.channel, first, chord, bytes);
        permute_rows(notes.track, first, chord, tracks);
      }
      first = last;
    }
  }
  if (filled_runs < 2) return;
  bool sorted = true;
  for (std::uint32_t i = 1; i < n && sorted; ++i) sorted = !less(i, i - 1);
  if (sorted) return;

  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0U);
  for (std::size_t width = 1; width + 1 < runs.size(); width *= 2) {
    for (std::size_t r = 0; r + width < runs.size() - 1; r += 2 * width) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(runs[r]);
      const auto middle = order.begin() + static_cast<std::ptrdiff_t>(runs[r + width]);
      const auto last = order.begin() + static_cast<std::ptrdiff_t>(runs[std::min(r + 2 * width, runs.size() - 1)]);
      std::inplace_merge(first, middle, last, less);
    }
  }
  permute(notes.onset_tick, order);
  permute(notes.offset_tick, order);
  permute(notes.pitch, order);
  permute(notes.velocity, order);
  permute(notes.release_velocity, order);
  permute(notes.channel, order);
  permute(notes.track, order);
}

void update_note_seconds(note_columns& notes, const tempo_map& tempo) {
  notes.onset_s.clear();  // filled by push_back: no zeroing pass over fresh memory
  notes.offset_s.clear();
  notes.onset_s.reserve(notes.size());
  notes.offset_s.reserve(notes.size());
  tempo_map::cursor onsets(tempo);
  tempo_map::cursor offsets(tempo);
  for (std::size_t i = 0; i < notes.size(); ++i) {
    notes.onset_s.push_back(onsets.to_seconds(notes.onset_tick[i]));
    notes.offset_s.push_back(offsets.to_seconds(notes.offset_tick[i]));
  }
}

/// Builds a performance from the decoder's events, one track at a time.
class performance_builder {
 public:
  performance_builder(performance& out, const performance_options& options) : out_(out), options_(options) {
    head_.fill(no_note);
    tail_.fill(no_note);
  }

  void header(const midi::detail::header& h) {
    out_.format = h.format;
    division_ = h.time_division;
  }

  void begin_track(std::int32_t track) {
    track_ = static_cast<std::uint16_t>(track);
    runs_.push_back(out_.notes.size());
    for (auto& d : pedal_down_) d.fill(not_down);
    ++out_.track_count;
  }

  void channel(tick_t tick, std::uint8_t status, std::uint8_t data1, std::uint8_t data2) {
    ++out_.event_count;
    const auto ch = static_cast<std::uint8_t>(status & 0x0FU);
    switch (status >> 4U) {
      case 0x9:
        if (data2 != 0) {
          note_on(tick, ch, data1, data2);
          break;
        }
        note_off(tick, ch, data1, 64);  // velocity-0 note-on: a note-off of the default velocity
        break;
      case 0x8: note_off(tick, ch, data1, data2); break;
      case 0xB: control(tick, ch, data1, data2); break;
      case 0xC: out_.programs.push_back({tick, ch, data1, track_}); break;
      case 0xE:
        out_.pitch_bends.push_back({tick, static_cast<std::int16_t>(((data2 << 7U) | data1) - 8192), ch, track_});
        break;
      default:  // aftertouch: counted, not modelled
        break;
    }
  }

  void meta(tick_t tick, std::uint8_t type, std::span<const std::uint8_t> data) {
    ++out_.event_count;
    switch (type) {
      case midi::meta::tempo:
        tempo_changes_.push_back({tick, (std::uint32_t{data[0]} << 16U) | (std::uint32_t{data[1]} << 8U) | data[2]});
        break;
      case midi::meta::time_signature:
        out_.time_signatures.push_back({tick, 0, data[0], static_cast<std::uint8_t>(1U << data[1]), data[2], data[3]});
        break;
      case midi::meta::key_signature:
        out_.key_signatures.push_back({tick, 0, static_cast<std::int8_t>(data[0]), data[1] == 1});
        break;
      default: break;
    }
  }

  void sysex(tick_t /*tick*/, std::uint8_t /*status*/, std::span<const std::uint8_t> /*data*/) { ++out_.event_count; }

  void end_track(tick_t tick, std::uint64_t offset) {
    out_.duration_tick = std::max(out_.duration_tick, tick);
    std::size_t still_open = 0;
    std::uint32_t first = no_note;
    for (const std::uint16_t key : touched_) {
      for (std::uint32_t i = head_[key]; i != no_note;) {
        const std::uint32_t next = next_of(i);
        close(i, tick, 64);
        ++still_open;
        if (first == no_note) first = i;
        i = next;
      }
      head_[key] = tail_[key] = no_note;
    }
    touched_.clear();
    if (still_open > 0) {
      auto& n = out_.notes;
      model_diagnostics_.push_back(
          {diagnostic_id::notes_not_closed, offset, track_,
           std::to_string(still_open) + " note(s) still sounding at the end of the track were closed there (tick " +
               std::to_string(tick) + "), e.g. pitch " + std::to_string(n.pitch[first]) + " on channel " +
               std::to_string(n.channel[first]) + " from tick " + std::to_string(n.onset_tick[first])});
    }
    // A pedal still down at the end of its track is held to the end of the performance, which is
    // known only after the last track: keep it open until finish().
    for (std::size_t ch = 0; ch < 16; ++ch) {
      for (std::size_t k = 0; k < pedal_down_[ch].size(); ++k) {
        if (pedal_down_[ch][k] == not_down) continue;
        held_pedals_.push_back(out_.pedals.size());
        add_pedal(ch, k, pedal_down_[ch][k]);
      }
    }
  }

  /// Completes the performance after the last track: time model, order, seconds.
  void finish(read_status status) {
    auto& out = out_;
    std::stable_sort(tempo_changes_.begin(), tempo_changes_.end(),
                     [](const tempo_change& a, const tempo_change& b) { return a.tick < b.tick; });
    out.tempo = tempo_map(division_, tempo_changes_);
    for (const std::size_t i : held_pedals_) out.pedals[i].offset_tick = out.duration_tick;
    sort_notes(out.notes, std::move(runs_));
    if (options_.sustain) {
      extend_by_sustain(out);  // also computes the seconds
    } else {
      update_note_seconds(out.notes, out.tempo);
    }
    std::sort(out.pedals.begin(), out.pedals.end(), [](const pedal_span& a, const pedal_span& b) {
      return std::tie(a.onset_tick, a.kind, a.channel, a.track, a.offset_tick) <
             std::tie(b.onset_tick, b.kind, b.channel, b.track, b.offset_tick);
    });
    for (auto& p : out.pedals) {
      p.onset_s = out.tempo.to_seconds(p.onset_tick);
      p.offset_s = out.tempo.to_seconds(p.offset_tick);
    }
    const auto by_tick = [](const auto& a, const auto& b) { return a.tick < b.tick; };
    std::stable_sort(out.time_signatures.begin(), out.time_signatures.end(), by_tick);
    std::stable_sort(out.key_signatures.begin(), out.key_signatures.end(), by_tick);
    for (auto& t : out.time_signatures) t.time_s = out.tempo.to_seconds(t.tick);
    for (auto& k : out.key_signatures) k.time_s = out.tempo.to_seconds(k.tick);
    out.duration_s = out.tempo.to_seconds(out.duration_tick);

    // After a strict violation, notes cut off by the abort are not news.
    if (status == read_status::invalid) model_diagnostics_.clear();
    const std::size_t room = options_.read.limits.max_diagnostics;
    for (auto& d : model_diagnostics_) {
      if (out.diagnostics.size() >= room) break;
      out.diagnostics.push_back(std::move(d));
    }
    out.status = status == read_status::ok && !model_diagnostics_.empty() ? read_status::repaired : status;
  }

 private:
  static constexpr tick_t not_down = -1;

  static std::uint16_t key_of(std::uint8_t channel, std::uint8_t pitch) {
    return static_cast<std::uint16_t>(channel * 128U + pitch);
  }

  void note_on(tick_t tick, std::uint8_t ch, std::uint8_t pitch, std::uint8_t velocity) {
    auto& n = out_.notes;
    const auto index = static_cast<std::uint32_t>(n.size());
    n.onset_tick.push_back(tick);
    n.offset_tick.push_back(no_note);  // the open-note link until the note is closed
    n.pitch.push_back(pitch);
    n.velocity.push_back(velocity);
    n.release_velocity.push_back(0);
    n.channel.push_back(ch);
    n.track.push_back(track_);
    const auto key = key_of(ch, pitch);
    if (head_[key] == no_note) {
      head_[key] = tail_[key] = index;
      touched_.push_back(key);
    } else if (options_.pairing == pairing_policy::lifo) {
      link(index, head_[key]);  // a stack: the newest note is closed first
      head_[key] = index;
    } else {
      link(tail_[key], index);  // a queue: the oldest note is closed first
      tail_[key] = index;
    }
  }

  void note_off(tick_t tick, std::uint8_t ch, std::uint8_t pitch, std::uint8_t release) {
    const auto key = key_of(ch, pitch);
    std::uint32_t i = head_[key];
    if (i == no_note) return;  // a note-off with no sounding note: common and harmless
    if (options_.pairing != pairing_policy::close_all) {
      head_[key] = next_of(i);
      close(i, tick, release);
      return;
    }
    // close_all: every open note that began before this tick; notes struck on this very tick stay
    // open (as in pretty_midi) ... unless every open note was struck on this tick: then nothing else
    // could end them, and they are zero-length notes (pretty_midi drops them; docs/model.md).
    bool any_earlier = false;
    for (std::uint32_t j = i; j != no_note && !any_earlier; j = next_of(j))
      any_earlier = out_.notes.onset_tick[j] != tick;
    if (!any_earlier) {
      while (i != no_note) {
        const std::uint32_t next = next_of(i);
        close(i, tick, release);
        i = next;
      }
      head_[key] = tail_[key] = no_note;
      return;
    }
    std::uint32_t kept_head = no_note;
    std::uint32_t kept_tail = no_note;
    while (i != no_note) {
      const std::uint32_t next = next_of(i);
      if (out_.notes.onset_tick[i] != tick) {
        close(i, tick, release);
      } else {
        if (kept_head == no_note) {
          kept_head = i;
        } else {
          link(kept_tail, i);
        }
        kept_tail = i;
      }
      i = next;
    }
    if (kept_tail != no_note) link(kept_tail, no_note);
    head_[key] = kept_head;
    tail_[key] = kept_tail;
  }

  // While a note is open, its offset_tick holds the index of the next open note of its key (or
  // no_note): the lists cost no memory of their own.
  [[nodiscard]] std::uint32_t next_of(std::uint32_t i) const {
    return static_cast<std::uint32_t>(out_.notes.offset_tick[i]);
  }
  void link(std::uint32_t from, std::uint32_t to) { out_.notes.offset_tick[from] = to; }

  void close(std::uint32_t i, tick_t tick, std::uint8_t release) {
    out_.notes.offset_tick[i] = tick;
    out_.notes.release_velocity[i] = release;
  }

  void control(tick_t tick, std::uint8_t ch, std::uint8_t number, std::uint8_t value) {
    if (options_.keep_controls) out_.controls.push_back({tick, ch, number, value, track_});
    std::size_t k = 0;
    switch (number) {
      case 64: k = 0; break;
      case 66: k = 1; break;
      case 67: k = 2; break;
      default: return;
    }
    auto& since = pedal_down_[ch][k];
    const bool down = value >= options_.pedal_threshold;
    if (down && since == not_down) {
      since = tick;
    } else if (!down && since != not_down) {
      add_pedal(ch, k, tick);
    }
  }

  void add_pedal(std::size_t ch, std::size_t k, tick_t until) {
    static constexpr pedal_kind kinds[] = {pedal_kind::sustain, pedal_kind::sostenuto, pedal_kind::soft};
    out_.pedals.push_back({pedal_down_[ch][k], until, 0, 0, kinds[k], static_cast<std::uint8_t>(ch), track_});
    pedal_down_[ch][k] = not_down;
  }

  performance& out_;
  const performance_options& options_;
  midi::division division_{};
  std::uint16_t track_ = 0;
  std::vector<tempo_change> tempo_changes_;
  std::vector<std::size_t> runs_;  // first note of each track: each run is sorted by onset
  // Open notes of each (channel, pitch): singly linked lists through offset_tick (see next_of).
  std::array<std::uint32_t, key_count> head_{};
  std::array<std::uint32_t, key_count> tail_{};
  std::vector<std::uint16_t> touched_;  // keys with open notes in this track
  std::array<std::array<tick_t, 3>, 16> pedal_down_{};
  std::vector<std::size_t> held_pedals_;  // pedals down at the end of their track
  std::vector<diagnostic> model_diagnostics_;
};

}  // namespace

performance read_performance(std::span<const std::uint8_t> bytes, const performance_options& options) {
  performance perf;
  performance_builder builder(perf, options);
  const read_status status = midi::detail::decode(bytes, options.read, perf.diagnostics, builder);
  if (status == read_status::invalid && perf.track_count == 0) {
    perf.status = status;
    return perf;
  }
  builder.finish(status);
  return perf;
}

void extend_by_sustain(performance& perf) {
  auto& notes = perf.notes;
  // Sustain held on each channel, as disjoint spans (touching or overlapping spans of several
  // tracks merged), sorted by onset.
  std::array<std::vector<std::pair<tick_t, tick_t>>, 16> held;
  for (const auto& p : perf.pedals) {
    if (p.kind == pedal_kind::sustain) held[p.channel].emplace_back(p.onset_tick, p.offset_tick);
  }
  for (auto& spans : held) {
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<tick_t, tick_t>> merged;
    for (const auto& s : spans) {
      if (!merged.empty() && s.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, s.second);
      } else {
        merged.push_back(s);
      }
    }
    spans.swap(merged);
  }
  // Walking backwards, next_onset holds the next onset of the same key on the same channel.
  std::vector<tick_t> next_onset(key_count, std::numeric_limits<tick_t>::max());
  for (std::size_t i = notes.size(); i-- > 0;) {
    const std::size_t key = notes.channel[i] * 128U + notes.pitch[i];
    const auto& spans = held[notes.channel[i]];
    const tick_t released = notes.offset_tick[i];
    auto it = std::upper_bound(spans.begin(), spans.end(), released,
                               [](tick_t t, const std::pair<tick_t, tick_t>& s) { return t < s.first; });
    if (it != spans.begin() && released < std::prev(it)->second) {
      notes.offset_tick[i] = std::max(released, std::min(std::prev(it)->second, next_onset[key]));
    }
    next_onset[key] = notes.onset_tick[i];
  }
  sort_notes(notes, {0});  // a changed offset can reorder notes that tie on everything before it
  update_note_seconds(notes, perf.tempo);
}

}  // namespace continuo

#include "huge_pages.hpp"
#include "midi/decoder.hpp"

#include <continuo/performance.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace continuo {
namespace {

constexpr std::uint32_t no_note = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t key_count = std::size_t{16} * 128;  // (channel, pitch) pairs

/// A note as a row of 16 bytes, for sorting: the builder writes notes straight into the columns of
/// note_columns in file order, which within a track is the order of onsets, and rows sort what is
/// left: the chords out of order (copied out as rows) and the notes of several tracks (packed into
/// their own two 8-byte columns, merge_runs). The fields are packed into two words so that rows
/// compare as words: `where` holds the onset (40 bits, as midi::event's ticks), pitch, channel and
/// the track's high 13 bits; `what` the track's low 3 bits, the offset (40 bits), velocity and
/// release velocity, in that order from the top. Comparing `where`, then `what`, is the notes' total
/// order (note_columns).
struct note_row {
  std::uint64_t where = 0;
  std::uint64_t what = 0;

  static constexpr std::uint64_t tick_mask = midi::event::max_tick;  // 40 bits
  static constexpr unsigned onset_shift = 24;
  static constexpr unsigned offset_shift = 21;

  /// A row whose fields all fit: ticks within [0, midi::event::max_tick], pitch and velocities
  /// within 0-127, channel within 0-15.
  static note_row make(tick_t onset_tick, tick_t offset_tick, std::uint8_t pitch, std::uint8_t velocity,
                       std::uint8_t release_velocity, std::uint8_t channel, std::uint16_t track) {
    return {(static_cast<std::uint64_t>(onset_tick) << onset_shift) | (std::uint64_t{pitch} << 17U) |
                (std::uint64_t{channel} << 13U) | (track >> 3U),
            (std::uint64_t{track} << 61U) | (static_cast<std::uint64_t>(offset_tick) << offset_shift) |
                (std::uint64_t{velocity} << 14U) | (std::uint64_t{release_velocity} << 7U)};
  }

  [[nodiscard]] tick_t onset_tick() const { return static_cast<tick_t>(where >> onset_shift); }
  [[nodiscard]] std::uint8_t pitch() const { return static_cast<std::uint8_t>((where >> 17U) & 0x7FU); }
  [[nodiscard]] std::uint8_t channel() const { return static_cast<std::uint8_t>((where >> 13U) & 0xFU); }
  [[nodiscard]] std::uint16_t track() const {
    return static_cast<std::uint16_t>(((where & 0x1FFFU) << 3U) | (what >> 61U));
  }
  [[nodiscard]] tick_t offset_tick() const { return static_cast<tick_t>((what >> offset_shift) & tick_mask); }
  [[nodiscard]] std::uint8_t velocity() const { return static_cast<std::uint8_t>((what >> 14U) & 0x7FU); }
  [[nodiscard]] std::uint8_t release_velocity() const { return static_cast<std::uint8_t>((what >> 7U) & 0x7FU); }
};

/// The total order of notes: onset, pitch, channel, track, offset, velocity, release velocity.
inline bool operator<(const note_row& a, const note_row& b) {
  return a.where != b.where ? a.where < b.where : a.what < b.what;
}

/// operator<(right, left) for a row of a later track (`right`) and one of an earlier track
/// (`left`): these never tie on (onset, pitch, channel, track), and where they tie on onset, pitch,
/// channel and the track's high bits, the earlier track comes first. One comparison without a
/// branch, for the merges of tracks' runs, which always merge earlier tracks with later ones.
inline bool precedes_earlier_track(const note_row& right, const note_row& left) { return right.where < left.where; }

/// The tick columns of note_columns as raw pointers, for stores in a loop: through the vectors,
/// every byte store would reload every vector's data pointer (a uint8_t store may alias anything).
/// Filling each column by push_back instead was 5 % slower.
struct column_pointers {
  tick_t* __restrict onset_tick;
  tick_t* __restrict offset_tick;
  std::uint8_t* __restrict pitch;
  std::uint8_t* __restrict velocity;
  std::uint8_t* __restrict release_velocity;
  std::uint8_t* __restrict channel;
  std::uint16_t* __restrict track;

  static column_pointers of(note_columns& notes) {
    return {notes.onset_tick.data(),       notes.offset_tick.data(), notes.pitch.data(), notes.velocity.data(),
            notes.release_velocity.data(), notes.channel.data(),     notes.track.data()};
  }
  /// Note i as a row; its fields must fit one (see note_row::make).
  [[nodiscard]] note_row row(std::size_t i) const {
    return note_row::make(onset_tick[i], offset_tick[i], pitch[i], velocity[i], release_velocity[i], channel[i],
                          track[i]);
  }
  [[nodiscard]] tick_t onset(std::size_t i) const { return onset_tick[i]; }
  void prefetch(std::size_t i) const {
    __builtin_prefetch(onset_tick + i);
    __builtin_prefetch(offset_tick + i);
    __builtin_prefetch(pitch + i);
    __builtin_prefetch(velocity + i);
    __builtin_prefetch(release_velocity + i);
    __builtin_prefetch(channel + i);
    __builtin_prefetch(track + i);
  }
  // Inlined into each loop that stores: as a call, ASAP seconds -11 %.
  [[gnu::always_inline]] void store(std::size_t i, const note_row& row) const {
    onset_tick[i] = row.onset_tick();
    offset_tick[i] = row.offset_tick();
    pitch[i] = row.pitch();
    velocity[i] = row.velocity();
    release_velocity[i] = row.release_velocity();
    channel[i] = row.channel();
    track[i] = row.track();
  }
};

/// Calls visit(column) for each tick column of `notes` (all but the seconds).
template <class Visit>
void for_each_tick_column(note_columns& notes, Visit&& visit) {
  visit(notes.onset_tick);
  visit(notes.offset_tick);
  visit(notes.pitch);
  visit(notes.velocity);
  visit(notes.release_velocity);
  visit(notes.channel);
  visit(notes.track);
}

/// Sizes the tick columns to `n` notes.
void resize_tick_columns(note_columns& notes, std::size_t n) {
  for_each_tick_column(notes, [n](auto& column) { column.resize(n); });
}

/// Rows kept as two arrays of words, `where[i]` and `what[i]` for row i. The merge of several
/// tracks' notes packs each note into the two 8-byte columns of its own place (onset_tick holds its
/// `where`, offset_tick its `what`, bit for bit), so that no copy of the notes sits beside the
/// columns, only the merge's buffer, which is rows of this kind too.
struct packed_rows {
  std::uint64_t* where;
  std::uint64_t* what;

  /// The two 8-byte columns of `columns` as rows (tick_t is int64_t, which uint64_t may alias).
  static packed_rows in(const column_pointers& columns) {
    return {reinterpret_cast<std::uint64_t*>(columns.onset_tick),
            reinterpret_cast<std::uint64_t*>(columns.offset_tick)};
  }
  [[nodiscard]] note_row row(std::size_t i) const { return {where[i], what[i]}; }
  [[nodiscard]] tick_t onset(std::size_t i) const { return static_cast<tick_t>(where[i] >> note_row::onset_shift); }
  void store(std::size_t i, const note_row& row) const {
    where[i] = row.where;
    what[i] = row.what;
  }
  void prefetch(std::size_t i) const {
    __builtin_prefetch(where + i);
    __builtin_prefetch(what + i);
  }
  [[nodiscard]] packed_rows operator+(std::size_t k) const { return {where + k, what + k}; }
  [[nodiscard]] packed_rows operator-(std::size_t k) const { return {where - k, what - k}; }
};

/// Copies rows [0, n) of `from` to `to`, which do not overlap.
void copy_rows(packed_rows from, std::size_t n, packed_rows to) {
  std::copy_n(from.where, n, to.where);
  std::copy_n(from.what, n, to.what);
}

/// Where a merge writes its rows, one after the other from `at` on (`forward`) or down from it:
/// into rows.
template <bool forward>
struct rows_out {
  packed_rows at;

  void put(const note_row& row) {
    if constexpr (forward) {
      at.store(0, row);
      at = at + 1;
    } else {
      at = at - 1;
      at.store(0, row);
    }
  }
  /// Puts rows [0, n) of `from`, which does not overlap the output.
  void put_all(packed_rows from, std::size_t n) {
    if constexpr (!forward) at = at - n;
    copy_rows(from, n, at);
    if constexpr (forward) at = at + n;
  }
};

/// The same into the columns, from note `at` on or down from it: the last merge writes the notes
/// back. A row is put at most where it was read from, after the reading.
template <bool forward>
struct columns_out {
  const column_pointers& columns;
  std::size_t at;

  void put(const note_row& row) {
    if constexpr (forward) {
      columns.store(at++, row);
    } else {
      columns.store(--at, row);
    }
  }
  void put_all(packed_rows from, std::size_t n) {
    if constexpr (forward) {
      for (std::size_t k = 0; k < n; ++k) put(from.row(k));
    } else {
      for (std::size_t k = n; k > 0; --k) put(from.row(k - 1));
    }
  }
};

/// Merges the sorted rows a[0, a_size) and b[0, b_size), those of later tracks, putting them into
/// `out` (rows_out or columns_out) front to back. `a` lies apart from the output; `b` lies apart
/// too, or in the output's place for rows a_size and on: then, with `b_in_place`, the rows of `b`
/// left once `a` is used up are not put again.
template <class Out>
void merge_forward(packed_rows a, std::size_t a_size, packed_rows b, std::size_t b_size, Out out, bool b_in_place) {
  const std::uint64_t* const a_end = a.where + a_size;
  const std::uint64_t* const b_end = b.where + b_size;
  while (a.where != a_end && b.where != b_end) {
    if (precedes_earlier_track(b.row(0), a.row(0))) {
      out.put(b.row(0));
      b = b + 1;
    } else {
      out.put(a.row(0));
      a = a + 1;
    }
  }
  out.put_all(a, static_cast<std::size_t>(a_end - a.where));
  if (!b_in_place) out.put_all(b, static_cast<std::size_t>(b_end - b.where));
}

/// The same back to front, into `out` set one past the output's last row. `b` lies apart from the
/// output; `a` lies apart too, or in the output's place for rows below a_size: then, with
/// `a_in_place`, the head of `a` left once `b` is used up is not put again.
template <class Out>
void merge_backward(packed_rows a, std::size_t a_size, packed_rows b, std::size_t b_size, Out out, bool a_in_place) {
  packed_rows a_end = a + a_size;  // one past the last row of each left to merge
  packed_rows b_end = b + b_size;
  while (a_end.where != a.where && b_end.where != b.where) {
    if (precedes_earlier_track((b_end - 1).row(0), (a_end - 1).row(0))) {
      a_end = a_end - 1;
      out.put(a_end.row(0));
    } else {
      b_end = b_end - 1;
      out.put(b_end.row(0));
    }
  }
  out.put_all(b, static_cast<std::size_t>(b_end.where - b.where));
  if (!a_in_place) out.put_all(a, static_cast<std::size_t>(a_end.where - a.where));
}

/// Where a merged range of rows lies: in the rows themselves or in the merge buffer.
enum class place : std::uint8_t { rows = 1, buffer = 2 };

constexpr place other_than(place p) noexcept { return p == place::rows ? place::buffer : place::rows; }

/// A node of the merge tree: rows [first, middle) and [middle, last) merged, each the result of a
/// node of its own (`left`, `right`), or a single run of rows as the tracks left them (a leaf:
/// middle == last).
struct merge_node {
  std::size_t first = 0;
  std::size_t middle = 0;
  std::size_t last = 0;
  std::uint32_t left = 0;
  std::uint32_t right = 0;
  /// The places (bits of `place`) this node's rows can be merged into without copying a child
  /// first. A leaf lies in the rows; a merge writes to the place where at least one child is not.
  std::uint8_t reachable = static_cast<std::uint8_t>(place::rows);

  [[nodiscard]] bool is_run() const noexcept { return middle == last; }
  [[nodiscard]] bool reaches(place p) const noexcept { return (reachable & static_cast<std::uint8_t>(p)) != 0; }
};

/// Where the merge tree splits the runs [lo, hi) (hi - lo > 1; `bounds`: the first row of each run,
/// then the end): at the run boundary nearest the rows' half, so that each side holds a run.
std::size_t split_runs(std::span<const std::size_t> bounds, std::size_t lo, std::size_t hi) {
  const std::size_t half = bounds[lo] + (bounds[hi] - bounds[lo]) / 2;
  const auto split = std::lower_bound(bounds.begin() + static_cast<std::ptrdiff_t>(lo) + 1,
                                      bounds.begin() + static_cast<std::ptrdiff_t>(hi), half);
  auto mid = static_cast<std::size_t>(split - bounds.begin());  // in (lo, hi]: move to the nearer bound
  if (mid == hi || (mid > lo + 1 && half - bounds[mid - 1] < bounds[mid] - half)) --mid;
  return mid;
}

/// Appends the merge tree of the runs [lo, hi) (`bounds`: the first row of each run, then the end)
/// to `tree`, children before their parent, and returns its root. Each node splits its runs where
/// the rows come nearest to halves, so that a long track is moved by fewer merges than a short one
/// (a weight-balanced tree: its moves are within 2 % of those of the cheapest order of adjacent
/// merges on corpus/symusic and mahler.mid). Its depth is O(log rows): every two levels halve the
/// rows or split off a run holding more than half of them.
std::uint32_t plan_merge(std::span<const std::size_t> bounds, std::size_t lo, std::size_t hi,
                         std::vector<merge_node>& tree) {
  merge_node node{.first = bounds[lo], .middle = bounds[hi], .last = bounds[hi]};
  if (hi - lo > 1) {
    const std::size_t mid = split_runs(bounds, lo, hi);
    node.middle = bounds[mid];
    node.left = plan_merge(bounds, lo, mid, tree);
    node.right = plan_merge(bounds, mid, hi, tree);
    const unsigned children = tree[node.left].reachable | tree[node.right].reachable;
    node.reachable = static_cast<std::uint8_t>(((children & 1U) << 1U) | ((children & 2U) >> 1U));
  }
  tree.push_back(node);
  return static_cast<std::uint32_t>(tree.size() - 1);
}

/// Merges the runs of tree[index] into `to`, each row moved once per level. The buffer holds row r
/// at buffer[r - base]; this merge uses the buffer's rows [first - base, last - base) only.
void merge_into(std::span<const merge_node> tree, std::uint32_t index, place to, packed_rows rows, packed_rows buffer,
                std::size_t base) {
  const merge_node& node = tree[index];
  if (node.is_run()) return;  // in the rows, and asked for there only (see `reachable`)
  const merge_node& left = tree[node.left];
  const merge_node& right = tree[node.right];
  const place other = other_than(to);
  const auto at = [&](place p, std::size_t row) { return p == place::rows ? rows + row : buffer + (row - base); };
  const auto merge_children = [&](place left_to, place right_to) {
    merge_into(tree, node.left, left_to, rows, buffer, base);
    merge_into(tree, node.right, right_to, rows, buffer, base);
  };
  const std::size_t left_size = node.middle - node.first;
  const std::size_t right_size = node.last - node.middle;
  if (left.reaches(other) && right.reaches(to)) {  // the right run's tail may stay in place
    merge_children(other, to);
    merge_forward(at(other, node.first), left_size, at(to, node.middle), right_size, rows_out<true>{at(to, node.first)},
                  true);
  } else if (left.reaches(to) && right.reaches(other)) {  // the left run's head may stay in place
    merge_children(to, other);
    merge_backward(at(to, node.first), left_size, at(other, node.middle), right_size,
                   rows_out<false>{at(to, node.last)}, true);
  } else if (left.reaches(other)) {  // the right run reaches `other` only
    merge_children(other, other);
    merge_forward(at(other, node.first), left_size, at(other, node.middle), right_size,
                  rows_out<true>{at(to, node.first)}, false);
  } else {  // both reach `to` only: the left one is moved out of the way
    merge_children(to, to);
    copy_rows(at(to, node.first), left_size, at(other, node.first));
    merge_forward(at(other, node.first), left_size, at(to, node.middle), right_size, rows_out<true>{at(to, node.first)},
                  true);
  }
}

/// The memory a read sorts its notes with, kept from read to read by a performance_reader.
struct sort_buffers {
  std::vector<note_row> chord;       // a chord's notes out of order, as rows (sort_chord)
  std::vector<std::uint64_t> merge;  // the merge of several tracks' notes (merge_runs)
};

// The chords' sort works on notes as columns (column_pointers) or packed in place (packed_rows),
// which both give row(i), onset(i), store(i, row) and prefetch(i).

/// The chord of note i: the notes in [lo, hi) around it struck on its tick, as [first, last).
template <class Rows>
std::pair<std::size_t, std::size_t> chord_of(const Rows& rows, std::size_t i, std::size_t lo, std::size_t hi) {
  const tick_t onset = rows.onset(i);
  std::size_t first = i;
  while (first > lo && rows.onset(first - 1) == onset) --first;
  std::size_t last = i + 1;
  while (last < hi && rows.onset(last) == onset) ++last;
  return {first, last};
}

/// Sorts the notes [first, last) into their total order, as rows in `chord` (a buffer).
template <class Rows>
void sort_chord(const Rows& rows, std::pair<std::size_t, std::size_t> range, std::vector<note_row>& chord) {
  const auto [first, last] = range;
  chord.clear();
  for (std::size_t j = first; j < last; ++j) chord.push_back(rows.row(j));
  std::sort(chord.begin(), chord.end());
  for (std::size_t j = first; j < last; ++j) rows.store(j, chord[j - first]);
}

/// Sorts runs of notes sorted by onset (`runs`: the first note of each run, then the end) into
/// their total order: only notes struck together can be out of order, and only where the builder
/// found that a note may sort before the one before it (`suspects`, ascending; ASAP 0.3 % of the
/// notes, corpus/symusic 3 %). Each chord out of order is sorted as rows in `chord` (a buffer).
/// O(n + s log g) for s suspects in chords of g notes: hostile input (100k notes on one tick)
/// cannot make this quadratic.
template <class Rows>
void sort_chords(const Rows& rows, std::span<const std::size_t> runs, std::span<const std::uint32_t> suspects,
                 std::vector<note_row>& chord) {
  constexpr std::size_t prefetch_distance = 8;
  std::size_t run = 0;
  std::size_t sorted_until = 0;  // the end of the last chord sorted
  for (std::size_t k = 0; k < suspects.size(); ++k) {
    // The notes have left the cache by now: ask for the suspects ahead while this one is looked at
    // (the 24 h take, 3,172 suspects: ticks +2-3 %).
    if (k + prefetch_distance < suspects.size()) rows.prefetch(suspects[k + prefetch_distance]);
    const std::uint32_t i = suspects[k];
    while (runs[run + 1] <= i) ++run;
    // A run's first note, or one in order.
    if (i == runs[run] || i < sorted_until || !(rows.row(i) < rows.row(i - 1))) continue;
    const auto chord_range = chord_of(rows, i - 1, std::max(sorted_until, runs[run]), runs[run + 1]);
    sort_chord(rows, chord_range, chord);
    sorted_until = chord_range.second;
  }
}

/// Merges the notes of several tracks into their total order, in the columns. `runs` holds the first
/// note of each run (a track's notes in their order, none empty; more than one), then the end. The
/// notes are packed in place into their two 8-byte columns (packed_rows) and merged along a
/// weight-balanced tree (plan_merge), each merge writing to the columns or the buffer, where its
/// children are not; the last merge reads one half from the buffer and the other where it lies,
/// and writes the notes back as columns. Beside the columns this takes `buffer` (16 bytes a row) for
/// about half the notes, or for the smaller half of two tracks, and nothing else: the notes copied
/// out as rows for the merge took 16 bytes a note and the buffer half as much again.
void merge_runs(note_columns& notes, std::span<const std::size_t> runs, std::span<const std::uint32_t> chord_suspects,
                sort_buffers& buffers) {
  const auto columns = column_pointers::of(notes);
  const std::size_t n = runs.back();
  const packed_rows rows = packed_rows::in(columns);
  for (std::size_t i = 0; i < n; ++i) rows.store(i, columns.row(i));
  sort_chords(rows, runs, chord_suspects, buffers.chord);
  // Each run is in order: all are unless a run's first note sorts before the last of the run before.
  bool in_order = true;
  for (std::size_t k = 1; k + 1 < runs.size(); ++k) in_order &= !(rows.row(runs[k]) < rows.row(runs[k] - 1));
  if (in_order) {
    columns_out<true>{columns, 0}.put_all(rows, n);
    return;
  }
  std::vector<merge_node> tree;
  tree.reserve(2 * runs.size());
  const merge_node root = tree[plan_merge(runs, 0, runs.size() - 1, tree)];
  const merge_node& left = tree[root.left];
  const merge_node& right = tree[root.right];
  const std::size_t middle = root.middle;
  // The last merge reads one half from the buffer and the other where it lies. The half that ends
  // in the buffer is merged after the other, as both use the buffer's first rows while they merge
  // (as many as the half holds; none for a single run): the left or the right half, where its
  // merges can end there (merge_node::reachable), or else the smaller half, copied there once both
  // are merged in the columns. Of these, the way that needs the least buffer.
  const auto own_room = [](const merge_node& half, std::size_t size) { return half.is_run() ? 0 : size; };
  const std::size_t left_room = own_room(left, middle);
  const std::size_t right_room = own_room(right, n - middle);
  bool left_in_buffer = middle <= n - middle;  // the half the last merge reads from the buffer
  bool copied = true;                          // whether that half gets there by a copy
  std::size_t room = std::max({left_room, right_room, std::min(middle, n - middle)});
  if (right.reaches(place::buffer) && std::max(left_room, n - middle) <= room) {
    left_in_buffer = false;
    copied = false;
    room = std::max(left_room, n - middle);
  }
  if (left.reaches(place::buffer) && std::max(right_room, middle) <= room) {
    left_in_buffer = true;
    copied = false;
    room = std::max(right_room, middle);
  }
  buffers.merge.resize(2 * room);
  const packed_rows buffer{buffers.merge.data(), buffers.merge.data() + room};
  const auto half_to = [&](bool left_half, place to) {
    merge_into(tree, left_half ? root.left : root.right, to, rows, buffer, left_half ? 0 : middle);
  };
  half_to(!left_in_buffer, place::rows);
  half_to(left_in_buffer, copied ? place::rows : place::buffer);
  if (copied) {
    if (left_in_buffer) {
      copy_rows(rows, middle, buffer);
    } else {
      copy_rows(rows + middle, n - middle, buffer);
    }
  }
  if (left_in_buffer) {
    merge_forward(buffer, middle, rows + middle, n - middle, columns_out<true>{columns, 0}, false);
  } else {
    merge_backward(rows, middle, buffer, n - middle, columns_out<false>{columns, n}, false);
  }
}

/// Gives every note its onset and offset in seconds.
void store_seconds(const tempo_map& tempo, note_columns& notes) {
  detail::reserve_in_huge_pages(notes.onset_s, notes.size());
  detail::reserve_in_huge_pages(notes.offset_s, notes.size());
  notes.onset_s.resize(notes.size());
  notes.offset_s.resize(notes.size());
  tempo.to_seconds(notes.onset_tick, notes.onset_s);
  tempo.to_seconds(notes.offset_tick, notes.offset_s);
}

/// store_seconds if `with_seconds`, else leaves the seconds columns empty (note_seconds = false).
void store_or_clear_seconds(const tempo_map& tempo, bool with_seconds, note_columns& notes) {
  if (with_seconds) {
    store_seconds(tempo, notes);
  } else {
    notes.onset_s.clear();
    notes.offset_s.clear();
  }
}

/// Extends the offsets of notes in their total order while the sustain pedal of their channel is
/// down (see performance_options::sustain), and restores the order (`chord`: a buffer).
void extend_offsets_by_sustain(note_columns& notes, std::span<const pedal_span> pedals, std::vector<note_row>& chord) {
  // Sustain held on each channel, as disjoint spans (touching or overlapping spans of several
  // tracks merged), sorted by onset.
  std::array<std::vector<std::pair<tick_t, tick_t>>, 16> held;
  for (const auto& p : pedals) {
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
    const std::uint8_t channel = notes.channel[i];
    const std::size_t key = channel * 128U + notes.pitch[i];
    const auto& spans = held[channel];
    const tick_t released = notes.offset_tick[i];
    auto it = std::upper_bound(spans.begin(), spans.end(), released,
                               [](tick_t t, const std::pair<tick_t, tick_t>& s) { return t < s.first; });
    if (it != spans.begin() && released < std::prev(it)->second) {
      notes.offset_tick[i] = std::max(released, std::min(std::prev(it)->second, next_onset[key]));
    }
    next_onset[key] = notes.onset_tick[i];
  }
  // A changed offset can reorder notes that tie on everything before it.
  const auto columns = column_pointers::of(notes);
  for (std::size_t i = 1; i < notes.size(); ++i) {
    if (columns.onset(i) == columns.onset(i - 1) && columns.pitch[i] <= columns.pitch[i - 1] &&
        columns.row(i) < columns.row(i - 1)) {
      const auto chord_range = chord_of(columns, i, 0, notes.size());
      sort_chord(columns, chord_range, chord);
      i = chord_range.second;
    }
  }
}

/// Throws continuo::error unless note i fits a note_row, as every note read from a file does:
/// ticks within [0, midi::event::max_tick], pitch and velocities 0-127, channel 0-15.
void check_packs(const note_columns& notes, std::size_t i) {
  const auto tick_fits = [](tick_t tick) { return tick >= 0 && tick <= midi::event::max_tick; };
  if (tick_fits(notes.onset_tick[i]) && tick_fits(notes.offset_tick[i]) &&
      ((notes.pitch[i] | notes.velocity[i] | notes.release_velocity[i]) & 0x80U) == 0 && notes.channel[i] < 16) {
    return;
  }
  throw error("[performance.note_out_of_range] extend_by_sustain: note " + std::to_string(i) + " (onset tick " +
              std::to_string(notes.onset_tick[i]) + ", offset tick " + std::to_string(notes.offset_tick[i]) +
              ", pitch " + std::to_string(notes.pitch[i]) + ", velocity " + std::to_string(notes.velocity[i]) +
              ", release velocity " + std::to_string(notes.release_velocity[i]) + ", channel " +
              std::to_string(notes.channel[i]) + ") is out of range: ticks lie in 0 to 2^40 - 1, pitches and " +
              "velocities in 0-127, channels in 0-15");
}

/// Builds a performance from the decoder's events, one track at a time.
class performance_builder {
 public:
  performance_builder(performance& out, const performance_options& options, std::span<const std::uint8_t> input,
                      sort_buffers& buffers)
      : out_(out), options_(options), input_(input.data()), input_size_(input.size()), buffers_(buffers) {
    // Piano recordings hold about a note per 12 bytes (ASAP: 12.0 is the median): room for that many
    // notes spares most files a reallocation, files with fewer notes waste at most 1.83 times their
    // size, and the reserve stops at 4 Mi notes (92 MiB, ten 24-hour takes): a huge file of anything
    // but notes does not claim memory in advance. A reused performance keeps the room it has.
    size_columns(std::max(std::min(input.size() / bytes_per_note_estimate, max_reserved_notes),
                          out_.notes.onset_tick.capacity()));
    head_.fill(no_note);
    tail_.fill(no_note);
  }

  void header(const midi::detail::header& h) {
    out_.format = h.format;
    division_ = h.time_division;
  }

  void begin_track(std::int32_t track) {
    track_ = static_cast<std::uint16_t>(track);
    runs_.push_back(count_);
    for (auto& d : open_pedal_) d.fill(no_pedal);
    ++out_.track_count;
  }

  // Inlined into both of the decoder's loops, which GCC would otherwise call it from: +2-3 %.
  // `end`: the byte after the message, which tells how much of the file has been read.
  [[gnu::always_inline]] void channel(tick_t tick, std::uint8_t status, std::uint8_t data1, std::uint8_t data2,
                                      const std::uint8_t* end) {
    const auto ch = static_cast<std::uint8_t>(status & 0x0FU);
    const unsigned kind = status >> 4U;
    // Tests in order of frequency rather than a switch: notes and pedal changes interleave
    // irregularly, and conditional branches predict them better than a switch's indirect jump
    // (ASAP, ticks level: 289 -> 310 MB/s).
    if (kind == 0x9 && data2 != 0) {
      note_on(tick, ch, data1, data2, end);
    } else if (kind == 0xB) {
      control(tick, ch, data1, data2, end);
    } else if (kind <= 0x9) {
      note_off(tick, ch, data1, kind == 0x9 ? 64 : data2);  // a velocity-0 note-on: release velocity 64
    } else if (kind == 0xC) {
      out_.programs.push_back({tick, ch, data1, track_});
    } else if (kind == 0xE) {
      out_.pitch_bends.push_back({tick, static_cast<std::int16_t>(((data2 << 7U) | data1) - 8192), ch, track_});
    }  // aftertouch (A0, D0): counted, not modelled
  }

  void meta(tick_t tick, std::uint8_t type, std::span<const std::uint8_t> data) {
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

  void sysex(tick_t /*tick*/, std::uint8_t /*status*/, std::span<const std::uint8_t> /*data*/) {}

  // The events are counted here, once a track, rather than at every event: a count in the
  // performance, which the rows' stores might alias, was loaded and stored at each one (+2-3 %).
  void end_track(tick_t tick, std::uint64_t offset, std::uint64_t events) {
    out_.event_count += events;
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
      listed_[key] = false;
    }
    touched_.clear();
    if (still_open > 0) {
      const auto& n = out_.notes;
      model_diagnostics_.push_back(
          {diagnostic_id::notes_not_closed, offset, track_,
           std::to_string(still_open) + " note(s) still sounding at the end of the track were closed there (tick " +
               std::to_string(tick) + "), e.g. pitch " + std::to_string(n.pitch[first]) + " on channel " +
               std::to_string(n.channel[first]) + " from tick " + std::to_string(n.onset_tick[first])});
    }
    // A pedal still down at the end of its track is held to the end of the performance, which is
    // known only after the last track: keep it open until finish().
    for (auto& open : open_pedal_) {
      for (std::uint32_t& pedal : open) {
        if (pedal != no_pedal) held_pedals_.push_back(pedal);
        pedal = no_pedal;
      }
    }
  }

  /// Completes the performance after the last track: time model, order, seconds. With
  /// `release_buffers` (a one-shot read, whose buffers nobody reuses) the buffer that merged the
  /// notes of several tracks is freed before the seconds columns are allocated: the read's peak
  /// memory is then the buffer and the tick columns, or all the columns, never more.
  void finish(read_status status, bool release_buffers) {
    auto& out = out_;
    std::stable_sort(tempo_changes_.begin(), tempo_changes_.end(),
                     [](const tempo_change& a, const tempo_change& b) { return a.tick < b.tick; });
    out.tempo = tempo_map(division_, tempo_changes_);
    for (const std::size_t i : held_pedals_) out.pedals[i].offset_tick = out.duration_tick;
    resize_tick_columns(out.notes, count_);
    runs_.push_back(count_);
    runs_.erase(std::unique(runs_.begin(), runs_.end()), runs_.end());  // the tracks without notes
    // Each track's notes are in order of onset already, in a run of their own.
    if (runs_.size() > 2) {
      merge_runs(out.notes, runs_, chord_suspects_, buffers_);
    } else {
      sort_chords(column_pointers::of(out.notes), runs_, chord_suspects_, buffers_.chord);
    }
    if (options_.sustain) extend_offsets_by_sustain(out.notes, out.pedals, buffers_.chord);
    if (release_buffers) {
      std::vector<std::uint64_t>().swap(buffers_.merge);
      // The room reserved but not filled would stay with the performance for as long as it lives
      // (a file of 24 bytes a note: half its tick columns). Past half the notes, the columns are
      // copied to their size, one at a time, before the seconds columns are allocated; a smaller
      // slack (a denser file's growth) is kept, as the copy would raise the read's peak memory.
      if (out.notes.onset_tick.capacity() - count_ > count_ / 2) {
        for_each_tick_column(out.notes, [](auto& column) { column.shrink_to_fit(); });
      }
    }
    store_or_clear_seconds(out.tempo, options_.note_seconds, out.notes);
    // In order already unless pedals went down on one tick or in several tracks (sorting sorted
    // spans cost 1-2 % of reading corpus/symusic).
    const auto pedal_order = [](const pedal_span& a, const pedal_span& b) {
      return std::tie(a.onset_tick, a.kind, a.channel, a.track, a.offset_tick) <
             std::tie(b.onset_tick, b.kind, b.channel, b.track, b.offset_tick);
    };
    if (!std::is_sorted(out.pedals.begin(), out.pedals.end(), pedal_order)) {
      std::sort(out.pedals.begin(), out.pedals.end(), pedal_order);
    }
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
  static constexpr std::size_t bytes_per_note_estimate = 12;
  static constexpr std::size_t max_reserved_notes = std::size_t{1} << 22U;
  static constexpr std::size_t min_notes = 64;

  static std::uint16_t key_of(std::uint8_t channel, std::uint8_t pitch) {
    return static_cast<std::uint16_t>(channel * 128U + pitch);
  }

  // Inlined by force: with the chord check GCC calls it instead (corpus/symusic -5 %).
  [[gnu::always_inline]] void note_on(tick_t tick, std::uint8_t ch, std::uint8_t pitch, std::uint8_t velocity,
                                      const std::uint8_t* end) {
    if (count_ == capacity_) [[unlikely]]
      grow_notes(end);
    const std::uint32_t index = count_++;
    // Within a track onsets never decrease: a note may sort before the one before it only when
    // struck with it at no higher pitch (a tie on the pitch is settled by the full order).
    const std::uint64_t onset_pitch = (static_cast<std::uint64_t>(tick) << 7U) | pitch;
    if (onset_pitch <= last_onset_pitch_) [[unlikely]]
      chord_suspects_.push_back(index);
    last_onset_pitch_ = onset_pitch;
    // Every pointer is loaded before the first byte store, which could alias them.
    const column_pointers columns = columns_;
    columns.onset_tick[index] = tick;
    columns.offset_tick[index] = no_note;  // the open-note link: no note yet
    columns.track[index] = track_;
    columns.pitch[index] = pitch;
    columns.velocity[index] = velocity;
    columns.release_velocity[index] = 0;
    columns.channel[index] = ch;
    const auto key = key_of(ch, pitch);
    if (head_[key] == no_note) {
      head_[key] = tail_[key] = index;
      if (!listed_[key]) {
        listed_[key] = true;
        touched_.push_back(key);
      }
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
      any_earlier = columns_.onset_tick[j] != tick;
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
      if (columns_.onset_tick[i] != tick) {
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
    return static_cast<std::uint32_t>(columns_.offset_tick[i]);
  }
  void link(std::uint32_t from, std::uint32_t to) const { columns_.offset_tick[from] = to; }

  void close(std::uint32_t i, tick_t tick, std::uint8_t release) const {
    columns_.offset_tick[i] = tick;
    columns_.release_velocity[i] = release;
  }

  /// Gives the tick columns room for `capacity` notes, all of them constructed: the builder
  /// writes at any index below capacity_, and finish() trims the columns to the notes read.
  void size_columns(std::size_t capacity) {
    auto& notes = out_.notes;
    for_each_tick_column(notes, [capacity](auto& column) {
      detail::reserve_in_huge_pages(column, capacity);  // exactly: resize alone would at least double
      column.resize(capacity);
    });
    columns_ = column_pointers::of(notes);
    capacity_ = static_cast<std::uint32_t>(capacity);
  }

  // Notes are written straight into the columns, so that no staging copy sits beside them (a
  // one-shot read's peak memory at the ticks level: ASAP's median 3.8 times the file with 16-byte
  // staging rows). Past the reserve the count is extrapolated from the share of the file read so
  // far (`end`: the byte after the current message), with an eighth to spare and at least a
  // quarter again, but never more than the file's bytes could hold (3 a note-on). Out of line: it
  // runs once a read, if at all.
  [[gnu::noinline]] void grow_notes(const std::uint8_t* end) {
    const std::size_t size = count_;
    const auto read = static_cast<double>(end - input_);
    const auto expected = static_cast<std::size_t>(1.125 * static_cast<double>(size) *
                                                   static_cast<double>(input_size_) / read);
    const std::size_t most = std::min<std::size_t>(input_size_ / min_message_bytes, no_note - 1);
    size_columns(std::max(size + 1, std::min(std::max({size + size / 4, expected, min_notes}), most)));
  }

  // Inlined by force: with grow_controls in it, GCC called it instead (the 24 h take's seconds -8 %).
  [[gnu::always_inline]] void control(tick_t tick, std::uint8_t ch, std::uint8_t number, std::uint8_t value,
                                      const std::uint8_t* end) {
    if (options_.keep_controls) {
      if (out_.controls.size() == out_.controls.capacity()) [[unlikely]]
        grow_controls(end);
      out_.controls.push_back({tick, ch, number, value, track_});
    }
    std::size_t k = 0;
    switch (number) {
      case 64: k = 0; break;
      case 66: k = 1; break;
      case 67: k = 2; break;
      default: return;
    }
    // A span is added as its pedal goes down, so that a track's spans come in the order of their
    // onsets, and its offset written as the pedal comes up.
    static constexpr pedal_kind kinds[] = {pedal_kind::sustain, pedal_kind::sostenuto, pedal_kind::soft};
    std::uint32_t& open = open_pedal_[ch][k];
    const bool down = value >= options_.pedal_threshold;
    if (down && open == no_pedal) {
      open = static_cast<std::uint32_t>(out_.pedals.size());
      out_.pedals.push_back({tick, tick, 0, 0, kinds[k], ch, track_});
    } else if (!down && open != no_pedal) {
      out_.pedals[open].offset_tick = tick;
      open = no_pedal;
    }
  }

  // A pedal's control changes run as long as the music: a 24-hour take holds 790,000, a
  // Disklavier performance of 40 KB 8,000. Grown by doubling, their vector was copied over and over
  // (7 % of reading that take at the seconds level), and its last doubling held old and new at
  // once: 24 bytes a control change, 11 times the size of that 40 KB file. Past 1,024 the count is
  // extrapolated from the share of the file read so far (`end`: the byte after the current
  // message), with an eighth to spare and at least half again, but never more than the file's bytes
  // could hold (3 a message). Before that, push_back doubles as usual. (The rows grown the same
  // way: the test before each note's push_back cost the notes levels 7-9 %.) Out of line: it runs
  // a few times a read.
  [[gnu::noinline]] void grow_controls(const std::uint8_t* end) {
    auto& controls = out_.controls;
    const std::size_t size = controls.size();
    if (size < extrapolate_from) return;
    const auto read = static_cast<double>(end - input_);
    const auto expected = static_cast<std::size_t>(1.125 * static_cast<double>(size) *
                                                   static_cast<double>(input_size_) / read);
    const std::size_t most = input_size_ / min_message_bytes;
    detail::reserve_in_huge_pages(controls, std::max(size + 1, std::min(std::max(size + size / 2, expected), most)));
  }

  static constexpr std::size_t extrapolate_from = 1024;
  static constexpr std::size_t min_message_bytes = 3;  // a delta byte and two data bytes

  performance& out_;
  const performance_options& options_;
  const std::uint8_t* input_;  // the file's first byte
  std::size_t input_size_;
  midi::division division_{};
  std::uint16_t track_ = 0;
  std::vector<tempo_change> tempo_changes_;
  // The notes in file order, track after track, in the columns of out_.notes: count_ of them, room
  // for capacity_ (every column sized to it until finish()).
  column_pointers columns_{};
  std::uint32_t count_ = 0;
  std::uint32_t capacity_ = 0;
  std::uint64_t last_onset_pitch_ = 0;         // the last note's onset tick << 7 | pitch
  std::vector<std::size_t> runs_;              // first note of each track: each run is sorted by onset
  std::vector<std::uint32_t> chord_suspects_;  // notes that may sort before the note before them
  sort_buffers& buffers_;                      // the caller's
  // Open notes of each (channel, pitch): singly linked lists through offset_tick (see next_of).
  std::array<std::uint32_t, key_count> head_{};
  std::array<std::uint32_t, key_count> tail_{};
  std::vector<std::uint16_t> touched_;    // keys that had open notes in this track, each once
  std::array<bool, key_count> listed_{};  // whether a key is in touched_
  static constexpr std::uint32_t no_pedal = std::numeric_limits<std::uint32_t>::max();
  std::array<std::array<std::uint32_t, 3>, 16> open_pedal_{};  // the span of each pedal down, or no_pedal
  std::vector<std::uint32_t> held_pedals_;                     // pedals down at the end of their track
  std::vector<diagnostic> model_diagnostics_;
};

/// Empties `perf` but keeps the memory of its large vectors: every field as in a new performance.
void clear_keeping_memory(performance& perf) {
  performance fresh;
  const auto keep = [](auto& from, auto& to) {
    from.clear();
    to.swap(from);
  };
  fresh.notes = std::move(perf.notes);  // resized to the new count when they are written
  keep(perf.pedals, fresh.pedals);
  keep(perf.controls, fresh.controls);
  keep(perf.programs, fresh.programs);
  keep(perf.pitch_bends, fresh.pitch_bends);
  perf = std::move(fresh);
}

/// Reads `bytes` into an empty `out`, sorting notes with `buffers` (the merge's freed at the end
/// unless `keep_buffers`).
void read_into(std::span<const std::uint8_t> bytes, const performance_options& options, sort_buffers& buffers,
               bool keep_buffers, performance& out) {
  performance_builder builder(out, options, bytes, buffers);
  const read_status status = midi::detail::decode(bytes, options.read, out.diagnostics, builder);
  if (status == read_status::invalid && out.track_count == 0) {
    // A reused performance still holds the last file's notes.
    resize_tick_columns(out.notes, 0);
    store_or_clear_seconds(out.tempo, options.note_seconds, out.notes);
    out.status = status;
    return;
  }
  builder.finish(status, !keep_buffers);
}

}  // namespace

performance read_performance(std::span<const std::uint8_t> bytes, const performance_options& options) {
  performance perf;
  sort_buffers buffers;
  read_into(bytes, options, buffers, /*keep_buffers=*/false, perf);
  return perf;
}

struct performance_reader::staging : sort_buffers {};

performance_reader::performance_reader(performance_options options)
    : options_(options), staging_(std::make_unique<staging>()) {}
performance_reader::~performance_reader() = default;
performance_reader::performance_reader(performance_reader&&) noexcept = default;
performance_reader& performance_reader::operator=(performance_reader&&) noexcept = default;

void performance_reader::read(std::span<const std::uint8_t> bytes, performance& out) {
  if (!staging_) staging_ = std::make_unique<staging>();  // after a move
  clear_keeping_memory(out);
  read_into(bytes, options_, *staging_, /*keep_buffers=*/true, out);
}

void extend_by_sustain(performance& perf) {
  auto& n = perf.notes;
  for (std::size_t i = 0; i < n.size(); ++i) check_packs(n, i);
  std::vector<note_row> chord;
  extend_offsets_by_sustain(n, perf.pedals, chord);
  store_or_clear_seconds(perf.tempo, n.has_seconds(), n);
}

void add_note_seconds(performance& perf) { store_seconds(perf.tempo, perf.notes); }

namespace detail {
void require_note_seconds(const note_columns& notes, std::string_view function, bool offsets) {
  if (offsets ? notes.has_seconds() : notes.onset_s.size() == notes.size()) return;
  throw error("[performance.no_note_seconds] " + std::string(function) + ": the notes have no times in seconds (" +
              (offsets ? "onset_s and offset_s need" : "onset_s needs") +
              " one value per note; a read with performance_options::note_seconds = false leaves them empty): call "
              "continuo::add_note_seconds(perf) first");
}
}  // namespace detail

}  // namespace continuo

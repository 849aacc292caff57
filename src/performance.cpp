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
/// left: the chords out of order, the notes of several tracks (merged as rows, then written back),
/// the offsets extended by the sustain pedal. The fields are packed into two words so that rows
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
    return {place(onset_tick, pitch, channel, track), kind(track, velocity) | timing(offset_tick, release_velocity)};
  }
  /// The `where` of a note.
  static std::uint64_t place(tick_t onset_tick, std::uint8_t pitch, std::uint8_t channel, std::uint16_t track) {
    return (static_cast<std::uint64_t>(onset_tick) << onset_shift) | (std::uint64_t{pitch} << 17U) |
           (std::uint64_t{channel} << 13U) | (track >> 3U);
  }
  /// The bits of `what` that a note-on writes.
  static std::uint64_t kind(std::uint16_t track, std::uint8_t velocity) {
    return (std::uint64_t{track} << 61U) | (std::uint64_t{velocity} << 14U);
  }
  /// The bits of `what` that a note-off writes.
  static std::uint64_t timing(tick_t offset_tick, std::uint8_t release_velocity) {
    return (static_cast<std::uint64_t>(offset_tick) << offset_shift) | (std::uint64_t{release_velocity} << 7U);
  }
  static constexpr std::uint64_t timing_mask = (tick_mask << offset_shift) | (0x7FU << 7U);

  [[nodiscard]] tick_t onset_tick() const { return static_cast<tick_t>(where >> onset_shift); }
  [[nodiscard]] std::uint8_t pitch() const { return static_cast<std::uint8_t>((where >> 17U) & 0x7FU); }
  [[nodiscard]] std::uint8_t channel() const { return static_cast<std::uint8_t>((where >> 13U) & 0xFU); }
  [[nodiscard]] std::uint16_t track() const {
    return static_cast<std::uint16_t>(((where & 0x1FFFU) << 3U) | (what >> 61U));
  }
  [[nodiscard]] tick_t offset_tick() const { return static_cast<tick_t>((what >> offset_shift) & tick_mask); }
  [[nodiscard]] std::uint8_t velocity() const { return static_cast<std::uint8_t>((what >> 14U) & 0x7FU); }
  [[nodiscard]] std::uint8_t release_velocity() const { return static_cast<std::uint8_t>((what >> 7U) & 0x7FU); }
  void set_timing(tick_t offset_tick, std::uint8_t release_velocity) {
    what = (what & ~timing_mask) | timing(offset_tick, release_velocity);
  }
  void set_offset_tick(tick_t offset_tick) { set_timing(offset_tick, release_velocity()); }
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

/// Calls store(i, row) for every i in [0, a.size() + b.size()) with the rows of `a` and `b` merged:
/// two sorted runs, neither empty, those of `b` from later tracks than those of `a`. The merge runs
/// from both ends at once and without a branch on which row comes next, as two independent chains
/// of loads and comparisons: a chain of branches mispredicts whenever the tracks take turns
/// irregularly. The last merge of a multi-track file (store_columns): corpus/symusic's multi-track
/// files +5 % at the ticks level, mahler.mid +1 %; in the merge tree's other merges, which write
/// rows, it gained nothing.
template <class Store>
void merge_from_both_ends(std::span<const note_row> a, std::span<const note_row> b, Store&& store) {
  const note_row* a_first = a.data();
  const note_row* b_first = b.data();
  const note_row* a_last = a_first + a.size() - 1;
  const note_row* b_last = b_first + b.size() - 1;
  std::size_t front = 0;
  std::size_t back = a.size() + b.size() - 1;
  while (a_first < a_last && b_first < b_last) {  // two rows or more left in each: the ends take different rows
    const bool from_b = precedes_earlier_track(*b_first, *a_first);
    store(front++, *(from_b ? b_first : a_first));
    b_first += static_cast<std::ptrdiff_t>(from_b);
    a_first += static_cast<std::ptrdiff_t>(!from_b);
    const bool from_a = precedes_earlier_track(*b_last, *a_last);
    store(back--, *(from_a ? a_last : b_last));
    a_last -= static_cast<std::ptrdiff_t>(from_a);
    b_last -= static_cast<std::ptrdiff_t>(!from_a);
  }
  while (a_first <= a_last && b_first <= b_last) {
    store(front++, precedes_earlier_track(*b_first, *a_first) ? *b_first++ : *a_first++);
  }
  for (; a_first <= a_last; ++a_first) store(front++, *a_first);
  for (; b_first <= b_last; ++b_first) store(front++, *b_first);
}

/// Whether a row placed at `b_where` (note_row::where), after the row `a` in a run sorted by onset,
/// may sort before it: only when struck together with it at no higher pitch (a tie on the pitch is
/// settled by the full comparison). As onsets do not decrease along the run, one comparison of
/// the words' onset and pitch bits says it, without a branch on each test.
inline bool may_precede(const note_row& a, std::uint64_t b_where) { return (b_where >> 17U) <= (a.where >> 17U); }

/// Sorts the chord of rows[i] (the rows around it with its onset, within [begin, end)) in place
/// and returns its end.
std::size_t sort_chord(std::span<note_row> rows, std::size_t begin, std::size_t end, std::size_t i) {
  const tick_t onset = rows[i].onset_tick();
  std::size_t first = i;
  while (first > begin && rows[first - 1].onset_tick() == onset) --first;
  std::size_t last = i + 1;
  while (last < end && rows[last].onset_tick() == onset) ++last;
  std::sort(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.begin() + static_cast<std::ptrdiff_t>(last));
  return last;
}

/// Sorts rows sorted by onset into their total order: only notes struck together can be out of
/// order, and each chord that is gets sorted in place. O(n log g) for chords of g notes: hostile
/// input (100k notes on one tick) cannot make this quadratic.
void sort_chords(std::span<note_row> rows) {
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (may_precede(rows[i - 1], rows[i].where) && rows[i] < rows[i - 1]) i = sort_chord(rows, 0, rows.size(), i);
  }
}

/// The same for runs of rows (`bounds`: the first row of each run, then the end), looking only at
/// the rows that the builder found may_precede the row before them (`suspects`, ascending). These
/// are few (corpus/symusic 3 % of the rows, ASAP 0.3 %), and a pass over all the rows, which have
/// left the cache by then, took 4-6 % of reading corpus/symusic.
void sort_chords(std::span<note_row> rows, std::span<const std::size_t> bounds,
                 std::span<const std::uint32_t> suspects) {
  std::size_t run = 0;
  std::size_t sorted_until = 0;  // the end of the last chord sorted
  for (const std::size_t i : suspects) {
    while (bounds[run + 1] <= i) ++run;
    if (i == bounds[run] || i < sorted_until || !(rows[i] < rows[i - 1])) continue;  // a run's first row, or in order
    sorted_until = sort_chord(rows, bounds[run], bounds[run + 1], i);
  }
}

/// Rows in their total order: `first`, or `first` and `second` merged.
struct sorted_rows {
  std::span<note_row> first;
  std::span<note_row> second;
};

/// Merges the sorted rows a[0, a_size) and b[0, b_size), those of later tracks, into
/// out[0, a_size + b_size), front to back. `a` lies apart from `out`; `b` lies apart too, or at
/// out + a_size: then, once `a` is used up, the rest of `b` is already in place.
void merge_forward(const note_row* a, std::size_t a_size, const note_row* b, std::size_t b_size, note_row* out) {
  const note_row* const a_end = a + a_size;
  const note_row* const b_end = b + b_size;
  while (a != a_end && b != b_end) {
    if (precedes_earlier_track(*b, *a)) {
      *out++ = *b++;
    } else {
      *out++ = *a++;
    }
  }
  out = std::copy(a, a_end, out);
  if (out != b) std::copy(b, b_end, out);
}

/// Merges the sorted rows out[0, a_size) and b[0, b_size), those of later tracks, into
/// out[0, a_size + b_size), back to front, so that the head of the first run stays in place once
/// `b` is used up. `b` lies apart.
void merge_backward(note_row* out, std::size_t a_size, const note_row* b, std::size_t b_size) {
  note_row* a_end = out + a_size;
  const note_row* b_end = b + b_size;
  note_row* to = a_end + b_size;
  while (a_end != out && b_end != b) {
    if (precedes_earlier_track(*(b_end - 1), *(a_end - 1))) {
      *--to = *--a_end;
    } else {
      *--to = *--b_end;
    }
  }
  std::copy_backward(b, b_end, to);
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

/// The rows sort_rows uses beyond the rows themselves, as a buffer, for the runs `bounds` (the
/// first row of each non-empty run, then the end; more than one run): half the rows or more.
std::size_t merge_room(std::span<const std::size_t> bounds, bool whole) {
  if (bounds.size() == 3 && !whole) return 0;  // two runs: store_columns merges them
  const std::size_t middle = bounds[split_runs(bounds, 0, bounds.size() - 1)];
  return std::max(middle, bounds.back() - middle);
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
void merge_into(std::span<const merge_node> tree, std::uint32_t index, place to, note_row* rows, note_row* buffer,
                std::size_t base) {
  const merge_node& node = tree[index];
  if (node.is_run()) return;  // staged in the rows, and asked for there only (see `reachable`)
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
    merge_forward(at(other, node.first), left_size, at(to, node.middle), right_size, at(to, node.first));
  } else if (left.reaches(to) && right.reaches(other)) {  // the left run's head may stay in place
    merge_children(to, other);
    merge_backward(at(to, node.first), left_size, at(other, node.middle), right_size);
  } else if (left.reaches(other)) {  // the right run reaches `other` only
    merge_children(other, other);
    merge_forward(at(other, node.first), left_size, at(other, node.middle), right_size, at(to, node.first));
  } else {  // both reach `to` only: the left one is moved out of the way
    merge_children(to, to);
    std::copy(at(to, node.first), at(to, node.middle), at(other, node.first));
    merge_forward(at(other, node.first), left_size, at(to, node.middle), right_size, at(to, node.first));
  }
}

/// Sorts rows (sort_chords, then a merge of the runs) and returns them in place: as one sorted run,
/// or, for a file with notes in two tracks, as two sorted runs left for store_columns to merge
/// (unless `whole`). `runs` holds the first row of each run (a track's notes, none empty; more than
/// one), then the end; `chord_suspects` the rows that may be out of order in their chord (see
/// sort_chords). `staged` has room for merge_room(runs, whole) more rows. The runs are merged
/// along a weight-balanced tree (plan_merge), each merge writing to the rows or the buffer, where
/// its children are not: on corpus/symusic's multi-track files a row now moves 1.9 times against
/// 3.4 for merges in passes of pairs, which copied the odd run and often the result back (mahler.mid
/// 3.6 against 4.0). The time follows less than the work (ticks level: +2 % on those files, none
/// on mahler.mid; bench/README.md).
sorted_rows sort_rows(std::vector<note_row>& staged, std::span<const std::size_t> runs,
                      std::span<const std::uint32_t> chord_suspects, bool whole) {
  sort_chords(staged, runs, chord_suspects);
  const std::size_t n = staged.size();
  if (std::is_sorted(staged.begin(), staged.end())) return {staged, {}};
  std::vector<merge_node> tree;
  tree.reserve(2 * runs.size());
  const merge_node root = tree[plan_merge(runs, 0, runs.size() - 1, tree)];
  const std::size_t middle = root.middle;
  if (runs.size() == 3 && !whole) return {std::span(staged).first(middle), std::span(staged).subspan(middle)};
  // The buffer is the rows' spare capacity, which the builder reserves with them (rows_of): a
  // buffer of its own for every multi-track file changed the heap's pattern enough for glibc to
  // return the memory to the kernel after every read (mahler.mid: 256,000 page faults against
  // 2,000), and growing the rows now would hold old and new rows at once.
  staged.resize(n + merge_room(runs, whole));  // within the capacity the rows do not move
  note_row* const buffer = staged.data() + n;
  const std::span<note_row> rows = std::span(staged).first(n);
  // The two halves end in the rows, one after the other, each with the buffer to itself.
  merge_into(tree, root.left, place::rows, rows.data(), buffer, 0);
  merge_into(tree, root.right, place::rows, rows.data(), buffer, middle);
  if (!whole) return {rows.first(middle), rows.subspan(middle)};
  // The last merge as merge_into's copy case, which keeps the buffer at half the rows or so.
  std::copy(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(middle), buffer);
  merge_forward(buffer, middle, rows.data() + middle, n - middle, rows.data());
  return {rows, {}};
}

/// Gives every note its onset and offset in seconds.
void store_seconds(const tempo_map& tempo, note_columns& notes) {
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

/// Note i of the columns as a row; its fields must fit one (see note_row::make).
note_row row_of(const note_columns& notes, std::size_t i) {
  return note_row::make(notes.onset_tick[i], notes.offset_tick[i], notes.pitch[i], notes.velocity[i],
                        notes.release_velocity[i], notes.channel[i], notes.track[i]);
}

/// The notes of the columns as rows, in the same order, with room for `spare` more.
void rows_of(const note_columns& notes, std::vector<note_row>& rows, std::size_t spare = 0) {
  rows.reserve(notes.size() + spare);
  rows.resize(notes.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = row_of(notes, i);
}

/// Writes rows into the note columns, with their times in seconds if `with_seconds`: the sorted
/// runs `rows.first` and `rows.second` merged (the final pass of sort_rows's merge, spared a pass
/// over memory).
void store_columns(sorted_rows rows, const tempo_map& tempo, bool with_seconds, note_columns& notes) {
  const std::size_t n = rows.first.size() + rows.second.size();
  resize_tick_columns(notes, n);
  const auto columns = column_pointers::of(notes);
  const auto store = [&](std::size_t i, const note_row& row) __attribute__((always_inline)) { columns.store(i, row); };
  if (rows.first.empty() || rows.second.empty()) {  // the common case, notes in one track: a loop of its own
    const std::span<const note_row> only = rows.second.empty() ? rows.first : rows.second;
    for (std::size_t i = 0; i < n; ++i) store(i, only[i]);
  } else {
    merge_from_both_ends(rows.first, rows.second, store);
  }
  store_or_clear_seconds(tempo, with_seconds, notes);
}

/// Sorts notes sorted by onset into their total order, in the columns: only notes struck together
/// can be out of order, and only where the builder found that a note may sort before the one
/// before it (`suspects`, ascending; ASAP 0.3 % of the notes, corpus/symusic 3 %). Each chord out of
/// order is sorted as rows in `chord` (a buffer). O(n + s log g) for s suspects in chords of g notes:
/// hostile input (100k notes on one tick) cannot make this quadratic.
void sort_chords(note_columns& notes, std::span<const std::uint32_t> suspects, std::vector<note_row>& chord) {
  constexpr std::size_t prefetch_distance = 8;
  const std::size_t n = notes.size();
  std::size_t sorted_until = 0;  // the end of the last chord sorted
  for (std::size_t k = 0; k < suspects.size(); ++k) {
    // The columns have left the cache by now, and each suspect reads seven of them: ask for the
    // suspects ahead while this one is looked at (the 24 h take, 3,172 suspects: ticks +2-3 %).
    if (k + prefetch_distance < suspects.size()) {
      const std::size_t ahead = suspects[k + prefetch_distance];
      for_each_tick_column(notes, [ahead](const auto& column) { __builtin_prefetch(column.data() + ahead); });
    }
    const std::uint32_t i = suspects[k];
    if (i == 0 || i < sorted_until || !(row_of(notes, i) < row_of(notes, i - 1))) continue;
    const tick_t onset = notes.onset_tick[i];
    std::size_t first = i - 1;
    while (first > sorted_until && notes.onset_tick[first - 1] == onset) --first;
    std::size_t last = i + 1;
    while (last < n && notes.onset_tick[last] == onset) ++last;
    chord.clear();
    for (std::size_t j = first; j < last; ++j) chord.push_back(row_of(notes, j));
    std::sort(chord.begin(), chord.end());
    const auto columns = column_pointers::of(notes);
    for (std::size_t j = first; j < last; ++j) columns.store(j, chord[j - first]);
    sorted_until = last;
  }
}

/// Extends the offsets of rows in their total order while the sustain pedal of their channel is
/// down (see performance_options::sustain), and restores the order.
void extend_rows_by_sustain(std::span<note_row> rows, std::span<const pedal_span> pedals) {
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
  for (std::size_t i = rows.size(); i-- > 0;) {
    note_row& row = rows[i];
    const std::size_t key = row.channel() * 128U + row.pitch();
    const auto& spans = held[row.channel()];
    const tick_t released = row.offset_tick();
    auto it = std::upper_bound(spans.begin(), spans.end(), released,
                               [](tick_t t, const std::pair<tick_t, tick_t>& s) { return t < s.first; });
    if (it != spans.begin() && released < std::prev(it)->second) {
      row.set_offset_tick(std::max(released, std::min(std::prev(it)->second, next_onset[key])));
    }
    next_onset[key] = row.onset_tick();
  }
  sort_chords(rows);  // a changed offset can reorder notes that tie on everything before it
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
                      std::vector<note_row>& rows)
      : out_(out), options_(options), input_(input.data()), input_size_(input.size()), rows_(rows) {
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
  /// `release_rows` (a one-shot read, whose buffers nobody reuses) the rows that sorted the notes of
  /// several tracks are freed before the seconds columns are allocated: the read's peak memory is
  /// then the rows and the tick columns, or all the columns, never more.
  void finish(read_status status, bool release_rows) {
    auto& out = out_;
    std::stable_sort(tempo_changes_.begin(), tempo_changes_.end(),
                     [](const tempo_change& a, const tempo_change& b) { return a.tick < b.tick; });
    out.tempo = tempo_map(division_, tempo_changes_);
    for (const std::size_t i : held_pedals_) out.pedals[i].offset_tick = out.duration_tick;
    resize_tick_columns(out.notes, count_);
    runs_.push_back(count_);
    runs_.erase(std::unique(runs_.begin(), runs_.end()), runs_.end());  // the tracks without notes
    if (runs_.size() <= 2) {  // notes in one track at most: in order of onset already
      sort_chords(out.notes, chord_suspects_, rows_);
      if (options_.sustain) {
        rows_of(out.notes, rows_);
        extend_rows_by_sustain(rows_, out.pedals);
        store_columns({rows_, {}}, out.tempo, false, out.notes);
      }
    } else {  // the tracks' notes merged as rows, with room for the merge's buffer (sort_rows)
      rows_of(out.notes, rows_, merge_room(runs_, options_.sustain));
      const sorted_rows sorted = sort_rows(rows_, runs_, chord_suspects_, options_.sustain);
      if (options_.sustain) extend_rows_by_sustain(sorted.first, out.pedals);
      store_columns(sorted, out.tempo, false, out.notes);
    }
    if (release_rows) {
      std::vector<note_row>().swap(rows_);
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
      column.reserve(capacity);  // exactly: resize alone would at least double
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
    controls.reserve(std::max(size + 1, std::min(std::max(size + size / 2, expected), most)));
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
  std::vector<note_row>& rows_;                // to sort and extend notes as rows (the caller's buffer)
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

/// Reads `bytes` into an empty `out`, staging notes in `rows` (freed at the end unless `keep_rows`).
void read_into(std::span<const std::uint8_t> bytes, const performance_options& options, std::vector<note_row>& rows,
               bool keep_rows, performance& out) {
  performance_builder builder(out, options, bytes, rows);
  const read_status status = midi::detail::decode(bytes, options.read, out.diagnostics, builder);
  if (status == read_status::invalid && out.track_count == 0) {
    // A reused performance still holds the last file's notes.
    store_columns({}, out.tempo, options.note_seconds, out.notes);
    out.status = status;
    return;
  }
  builder.finish(status, !keep_rows);
}

}  // namespace

performance read_performance(std::span<const std::uint8_t> bytes, const performance_options& options) {
  performance perf;
  std::vector<note_row> rows;
  read_into(bytes, options, rows, /*keep_rows=*/false, perf);
  return perf;
}

struct performance_reader::staging {
  std::vector<note_row> rows;
};

performance_reader::performance_reader(performance_options options)
    : options_(options), staging_(std::make_unique<staging>()) {}
performance_reader::~performance_reader() = default;
performance_reader::performance_reader(performance_reader&&) noexcept = default;
performance_reader& performance_reader::operator=(performance_reader&&) noexcept = default;

void performance_reader::read(std::span<const std::uint8_t> bytes, performance& out) {
  if (!staging_) staging_ = std::make_unique<staging>();  // after a move
  clear_keeping_memory(out);
  read_into(bytes, options_, staging_->rows, /*keep_rows=*/true, out);
}

void extend_by_sustain(performance& perf) {
  const auto& n = perf.notes;
  for (std::size_t i = 0; i < n.size(); ++i) check_packs(n, i);
  std::vector<note_row> rows;
  rows_of(n, rows);
  extend_rows_by_sustain(rows, perf.pedals);
  store_columns({rows, {}}, perf.tempo, n.has_seconds(), perf.notes);
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

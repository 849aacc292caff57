#include <continuo/repertoire.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>
#include <numeric>
#include <utility>

namespace continuo {
namespace {

/// Caps bar_grid on a hostile file (a day of 1/64 bars at 1 PPQ): far beyond any real piece.
constexpr std::size_t max_bars = std::size_t{1} << 22U;
/// Refinement by DTW is skipped above this many cells (query events × reference events).
constexpr std::size_t max_dtw_cells = std::size_t{1} << 24U;
/// A passage's range may reach this far past its first and last consistent match (seconds), so that
/// the notes before the first matched triple are still placed.
constexpr seconds_t max_extension_s = 4.0;
/// The strongest passage of a query in the piece it is located in needs this many consistent
/// matches (densest() needs three matches to vote at all).
constexpr double min_first_score = 3.0;

std::uint32_t mix(std::uint32_t hash) noexcept { return hash * 0x9E3779B1U; }

[[noreturn]] void fail(const std::string& message) { throw error("[repertoire] " + message); }

/// Returns the 12-bit pitch-class set of each event.
std::vector<std::uint16_t> chroma_of(std::span<const onset_event> events, std::span<const std::uint8_t> pitch) {
  std::vector<std::uint16_t> out(events.size(), 0);
  for (std::size_t e = 0; e < events.size(); ++e) {
    for (std::uint32_t k = 0; k < events[e].count; ++k) {
      out[e] = static_cast<std::uint16_t>(out[e] | (1U << (pitch[events[e].first + k] % 12U)));
    }
  }
  return out;
}

/// Rotates a pitch-class set up by `shift` semitones.
std::uint16_t rotate(std::uint16_t set, int shift) noexcept {
  const auto s = static_cast<unsigned>(((shift % 12) + 12) % 12);
  const unsigned wide = (static_cast<unsigned>(set) << s) | (static_cast<unsigned>(set) >> (12U - s));
  return static_cast<std::uint16_t>(wide & 0xFFFU);
}

}  // namespace

// ---- bars ------------------------------------------------------------------------------------------

std::vector<seconds_t> bar_grid(const performance& perf) {
  const auto division = perf.tempo.division();
  if (division.is_smpte() || division.ticks_per_quarter() == 0) return {};
  const tick_t ppq = division.ticks_per_quarter();
  tick_t end = perf.duration_tick;
  for (const tick_t t : perf.notes.offset_tick) end = std::max(end, t);
  std::vector<time_signature> signatures(perf.time_signatures.begin(), perf.time_signatures.end());
  std::stable_sort(signatures.begin(), signatures.end(),
                   [](const time_signature& a, const time_signature& b) { return a.tick < b.tick; });
  if (signatures.empty() || signatures.front().tick > 0) signatures.insert(signatures.begin(), time_signature{});
  std::vector<tick_t> ticks;
  for (std::size_t k = 0; k < signatures.size() && ticks.size() < max_bars; ++k) {
    const auto& sig = signatures[k];
    const tick_t until = k + 1 < signatures.size() ? signatures[k + 1].tick : std::max(end, sig.tick + 1);
    const tick_t denominator = std::max<tick_t>(sig.denominator, 1);
    const tick_t bar = std::max<tick_t>(1, tick_t{sig.numerator} * ppq * 4 / denominator);
    for (tick_t t = sig.tick; t < until && ticks.size() < max_bars; t += bar) ticks.push_back(t);
  }
  std::vector<seconds_t> out(ticks.size());
  perf.tempo.to_seconds(ticks, out);
  return out;
}

// ---- the index -------------------------------------------------------------------------------------

/// A query triple matched with a reference triple.
struct repertoire::match {
  std::uint32_t piece = 0;
  std::uint32_t query_event = 0;
  std::uint32_t reference_event = 0;
  float log_ratio = 0;  ///< ln(reference span / query span): ln(query tempo / reference tempo).
  /// 1 / the number of triples of the piece this query triple matched: a query triple that meets a
  /// trill or a repeated chord matched many times casts one vote, not many.
  float weight = 1;
};

/// A query, fingerprinted.
struct repertoire::query {
  std::vector<seconds_t> onset_s;  // sorted, finite
  std::vector<std::uint8_t> pitch;
  std::vector<onset_event> events;
  std::vector<std::uint16_t> chroma;
  std::vector<fingerprint> prints;
};

repertoire::repertoire(const repertoire_options& options)
    : options_(options),
      windows_(index_options{.dimension = embedding_dimension(options.fusion.embedding),
                             .storage = options.fusion.storage}) {
  options_.fingerprint.edge_probe = 0;  // references are hashed once, queries probe both bins
  if (!(options_.min_tempo_ratio > 0) || !(options_.max_tempo_ratio > options_.min_tempo_ratio)) {
    fail("min_tempo_ratio must be over 0 and below max_tempo_ratio");
  }
  if (!(options_.tempo_bin > 0) || !(options_.offset_window_s > 0) || !(options_.tempo_tolerance > 0)) {
    fail("tempo_bin, tempo_tolerance and offset_window_s must be over 0");
  }
  if (options_.fusion.enabled && (!(options_.fusion.window_s > 0) || !(options_.fusion.hop_s > 0))) {
    fail("fusion.window_s and fusion.hop_s must be over 0");
  }
}

embedding_options repertoire::window_embedding() const {
  auto eo = options_.fusion.embedding;
  eo.transposition_invariant = options_.fingerprint.transposition_invariant;
  return eo;
}

std::uint32_t repertoire::add(std::string_view name, const performance& perf) {
  return add(name, perf.notes, bar_grid(perf));
}

std::uint32_t repertoire::add(std::string_view name, const note_columns& notes,
                              std::span<const seconds_t> downbeats_s) {
  detail::require_note_seconds(notes, "continuo::repertoire::add", /*offsets=*/false);
  return add(name, notes.onset_s, notes.pitch, downbeats_s);
}

std::uint32_t repertoire::add(std::string_view name, std::span<const seconds_t> onset_s,
                              std::span<const std::uint8_t> pitch, std::span<const seconds_t> downbeats_s) {
  if (onset_s.size() != pitch.size()) {
    fail("onset_s has " + std::to_string(onset_s.size()) + " values but pitch " + std::to_string(pitch.size()));
  }
  if (pieces_.size() >= unknown_piece - 1U) fail("too many pieces");
  for (std::size_t i = 0; i < onset_s.size(); ++i) {
    if (!std::isfinite(onset_s[i]) || (i > 0 && onset_s[i] < onset_s[i - 1])) {
      fail("onset " + std::to_string(i) + " of '" + std::string(name) + "' is not finite or not sorted");
    }
    if (pitch[i] > 127) fail("pitch " + std::to_string(i) + " of '" + std::string(name) + "' is over 127");
  }
  for (std::size_t i = 0; i < downbeats_s.size(); ++i) {
    if (!std::isfinite(downbeats_s[i]) || (i > 0 && downbeats_s[i] <= downbeats_s[i - 1])) {
      fail("downbeat " + std::to_string(i) + " of '" + std::string(name) + "' is not finite or not increasing");
    }
  }
  piece_data piece;
  piece.name = std::string(name);
  const auto known = std::find(names_.begin(), names_.end(), piece.name);
  piece.name_id = static_cast<std::uint32_t>(known - names_.begin());
  if (known == names_.end()) names_.push_back(piece.name);
  piece.events = onset_events(onset_s, pitch, options_.fingerprint.merge_window_s);
  piece.pitch.assign(pitch.begin(), pitch.end());
  piece.chroma = chroma_of(piece.events, piece.pitch);
  piece.downbeats_s.assign(downbeats_s.begin(), downbeats_s.end());
  piece.end_s = onset_s.empty() ? 0.0 : onset_s.back();
  if (!piece.downbeats_s.empty()) piece.end_s = std::max(piece.end_s, piece.downbeats_s.back());

  const auto id = static_cast<std::uint32_t>(pieces_.size());
  const auto prints = fingerprints(piece.events, options_.fingerprint);
  std::vector<posting> postings;
  postings.reserve(prints.size());
  for (const auto& p : prints) postings.push_back({p.hash, id, p.event, p.span_s});
  if (posting_count() + postings.size() > std::numeric_limits<std::uint32_t>::max()) fail("the index is full");
  if (options_.fusion.enabled && !onset_s.empty()) {
    // Each window is added to the vector index as it stands (no rebuild): adding costs the piece's
    // own windows only.
    const auto w = embed_windows(onset_s, pitch, {.length_s = options_.fusion.window_s, .hop_s = options_.fusion.hop_s},
                                 window_embedding());
    for (std::size_t k = 0; k < w.windows.size(); ++k) {
      const std::span<const float> v(w.vectors.data() + k * w.dimension, w.dimension);
      if (std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0F; })) continue;
      windows_.add(window_piece_.size(), v, {.group = id});
      window_piece_.push_back(id);
    }
  }
  pieces_.push_back(std::move(piece));
  insert(postings);
  return id;
}

void repertoire::insert(const std::vector<posting>& postings) {
  const auto build = [](const std::vector<posting>& items) {
    segment s;
    const std::size_t buckets = std::max<std::size_t>(1024, std::bit_ceil(items.size() / 4 + 1));
    s.shift = 32U - static_cast<unsigned>(std::countr_zero(buckets));
    s.bucket_start.assign(buckets + 1, 0);
    for (const auto& p : items) ++s.bucket_start[(mix(p.hash) >> s.shift) + 1];
    std::partial_sum(s.bucket_start.begin(), s.bucket_start.end(), s.bucket_start.begin());
    s.postings.resize(items.size());
    std::vector<std::uint32_t> next(s.bucket_start.begin(), s.bucket_start.end() - 1);
    for (const auto& p : items) s.postings[next[mix(p.hash) >> s.shift]++] = p;
    return s;
  };
  segments_.push_back(build(postings));
  // Merge while the newest segment is at least half the size of the one before: log(total) segments.
  while (segments_.size() >= 2 &&
         segments_[segments_.size() - 2].postings.size() <= 2 * segments_.back().postings.size()) {
    auto last = std::move(segments_.back());
    segments_.pop_back();
    auto& before = segments_.back().postings;
    before.insert(before.end(), last.postings.begin(), last.postings.end());
    segments_.back() = build(before);
  }
}

std::size_t repertoire::posting_count() const noexcept {
  std::size_t n = 0;
  for (const auto& s : segments_) n += s.postings.size();
  return n;
}

const std::string& repertoire::name(std::uint32_t piece) const {
  if (piece >= pieces_.size()) fail("no piece " + std::to_string(piece));
  return pieces_[piece].name;
}

std::span<const seconds_t> repertoire::downbeats(std::uint32_t piece) const {
  if (piece >= pieces_.size()) fail("no piece " + std::to_string(piece));
  return pieces_[piece].downbeats_s;
}

double repertoire::bar_at(std::uint32_t piece, seconds_t t) const {
  if (piece >= pieces_.size()) fail("no piece " + std::to_string(piece));
  const auto& db = pieces_[piece].downbeats_s;
  if (db.empty()) return 0;
  const auto k = static_cast<std::size_t>(std::upper_bound(db.begin(), db.end(), t) - db.begin());
  if (k == 0) return db.front() > 0 ? std::clamp(t / db.front(), 0.0, 0.999) : 0.0;
  // The last bar lasts as long as the one before it (or to the end of the notes, if later).
  seconds_t next = 0;
  if (k < db.size()) {
    next = db[k];
  } else {
    const seconds_t length = db.size() >= 2 ? db[k - 1] - db[k - 2] : pieces_[piece].end_s - db[k - 1];
    next = db[k - 1] + std::max(length, 1e-3);
  }
  return static_cast<double>(k) + std::clamp((t - db[k - 1]) / (next - db[k - 1]), 0.0, 0.999);
}

// ---- queries ---------------------------------------------------------------------------------------

repertoire::query repertoire::make_query(std::span<const seconds_t> onset_s,
                                         std::span<const std::uint8_t> pitch) const {
  if (onset_s.size() != pitch.size()) {
    fail("onset_s has " + std::to_string(onset_s.size()) + " values but pitch " + std::to_string(pitch.size()));
  }
  query q;
  // Hostile input is cleaned rather than refused: non-finite onsets are dropped, and unsorted ones sorted.
  q.onset_s.reserve(onset_s.size());
  q.pitch.reserve(onset_s.size());
  for (std::size_t i = 0; i < onset_s.size(); ++i) {
    if (std::isfinite(onset_s[i])) {
      q.onset_s.push_back(onset_s[i]);
      q.pitch.push_back(static_cast<std::uint8_t>(pitch[i] & 0x7FU));
    }
  }
  if (!std::is_sorted(q.onset_s.begin(), q.onset_s.end())) {
    std::vector<std::size_t> order(q.onset_s.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return q.onset_s[a] < q.onset_s[b]; });
    std::vector<seconds_t> onset(order.size());
    std::vector<std::uint8_t> pitches(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      onset[i] = q.onset_s[order[i]];
      pitches[i] = q.pitch[order[i]];
    }
    q.onset_s = std::move(onset);
    q.pitch = std::move(pitches);
  }
  q.events = onset_events(q.onset_s, q.pitch, options_.fingerprint.merge_window_s);
  if (q.events.size() > options_.max_query_events) q.events.resize(options_.max_query_events);
  q.chroma = chroma_of(q.events, q.pitch);
  auto fo = options_.fingerprint;
  fo.edge_probe = options_.query_edge_probe;
  q.prints = fingerprints(q.events, fo);
  return q;
}

std::vector<repertoire::match> repertoire::matches(const query& q) const {
  std::vector<match> out;
  const double lo = std::log(options_.min_tempo_ratio);
  const double hi = std::log(options_.max_tempo_ratio);
  for (const auto& f : q.prints) {
    const std::size_t block = out.size();
    const std::uint32_t key = mix(f.hash);
    std::size_t count = 0;
    for (const auto& s : segments_) {
      const std::uint32_t b = key >> s.shift;
      for (std::uint32_t i = s.bucket_start[b]; i < s.bucket_start[b + 1]; ++i) count += s.postings[i].hash == f.hash;
    }
    if (count == 0 || count > options_.max_postings) continue;
    for (const auto& s : segments_) {
      const std::uint32_t b = key >> s.shift;
      for (std::uint32_t i = s.bucket_start[b]; i < s.bucket_start[b + 1]; ++i) {
        const auto& p = s.postings[i];
        if (p.hash != f.hash) continue;
        const double log_ratio = std::log(static_cast<double>(p.span_s) / f.span_s);
        if (log_ratio < lo || log_ratio > hi) continue;
        out.push_back({p.piece, f.event, p.event, static_cast<float>(log_ratio), 1.0F});
      }
    }
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(block), out.end(),
              [](const match& a, const match& b) { return a.piece < b.piece; });
    for (std::size_t i = block; i < out.size();) {
      std::size_t j = i;
      while (j < out.size() && out[j].piece == out[i].piece) ++j;
      for (std::size_t k = i; k < j; ++k) out[k].weight = 1.0F / static_cast<float>(j - i);
      i = j;
    }
  }
  // Group by piece (counting sort: stable, so each piece's matches stay in query order).
  std::vector<std::size_t> start(pieces_.size() + 1, 0);
  for (const auto& m : out) ++start[m.piece + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<match> grouped(out.size());
  for (const auto& m : out) grouped[start[m.piece]++] = m;
  return grouped;
}

namespace {

/// The densest (tempo ratio, reference offset) cell of one piece's matches.
struct hough {
  double score = 0;        ///< Matches in it.
  double log_ratio = 0;    ///< Median ln(query tempo / reference tempo) of those matches.
  seconds_t offset_s = 0;  ///< Reference time of the query's origin: the window's start.
};

/// Finds the densest (tempo ratio, reference offset) cell of one piece's matches, skipping those not
/// `usable` (all when it is empty): the tempo first (a histogram of ln ratio, smoothed, since single
/// triples scatter widely), then among the matches of about that tempo the reference time of the
/// query's origin, in a sliding window. Returns the inliers' indices (into `ms`), sorted.
template <class Match, class QueryOnset, class ReferenceOnset>
std::pair<hough, std::vector<std::uint32_t>> densest(std::span<const Match> ms, const std::vector<bool>& usable,
                                                     const QueryOnset& query_onset,
                                                     const ReferenceOnset& reference_onset, const repertoire_options& o,
                                                     seconds_t origin_s) {
  hough best;
  std::vector<std::uint32_t> inliers;
  const double lo = std::log(o.min_tempo_ratio);
  const auto bins = static_cast<std::size_t>(std::ceil((std::log(o.max_tempo_ratio) - lo) / o.tempo_bin)) + 1;
  std::vector<double> histogram(bins + 2, 0);
  std::size_t used = 0;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (!usable.empty() && !usable[i]) continue;
    const auto b = static_cast<std::size_t>(std::clamp((ms[i].log_ratio - lo) / o.tempo_bin, 0.0, double(bins - 1)));
    histogram[b + 1] += ms[i].weight;
    ++used;
  }
  if (used < 3) return {best, inliers};
  std::size_t top = 1;
  double top_value = -1;
  for (std::size_t b = 1; b <= bins; ++b) {
    const double v = histogram[b - 1] + 2 * histogram[b] + histogram[b + 1];
    if (v > top_value) {
      top_value = v;
      top = b;
    }
  }
  const double log_ratio = lo + (static_cast<double>(top - 1) + 0.5) * o.tempo_bin;
  const double ratio = std::exp(log_ratio);
  std::vector<std::pair<double, std::uint32_t>> offsets;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (!usable.empty() && !usable[i]) continue;
    if (std::abs(ms[i].log_ratio - log_ratio) > o.tempo_tolerance) continue;
    const double offset = reference_onset(ms[i]) - ratio * (query_onset(ms[i]) - origin_s);
    offsets.emplace_back(offset, static_cast<std::uint32_t>(i));
  }
  std::sort(offsets.begin(), offsets.end());
  std::size_t first = 0;
  std::size_t best_first = 0;
  std::size_t best_count = 0;
  double sum = 0;
  double best_sum = 0;
  for (std::size_t last = 0; last < offsets.size(); ++last) {
    sum += ms[offsets[last].second].weight;
    while (offsets[last].first - offsets[first].first > o.offset_window_s) sum -= ms[offsets[first++].second].weight;
    if (sum > best_sum + 1e-9) {
      best_sum = sum;
      best_count = last + 1 - first;
      best_first = first;
    }
  }
  if (best_count == 0) return {best, inliers};
  std::vector<float> ratios;
  for (std::size_t k = best_first; k < best_first + best_count; ++k) {
    inliers.push_back(offsets[k].second);
    ratios.push_back(ms[offsets[k].second].log_ratio);
  }
  std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
  double exact = 0;  // summed afresh: the sliding sum above gathers rounding errors
  for (std::size_t k = best_first; k < best_first + best_count; ++k) exact += ms[offsets[k].second].weight;
  best.score = std::round(exact * 1000) / 1000;
  best.log_ratio = ratios[ratios.size() / 2];
  best.offset_s = offsets[best_first].first;
  std::sort(inliers.begin(), inliers.end());
  return {best, inliers};
}

/// A match as a point: where it lies on the query's clock and on the reference's.
struct clock_pair {
  seconds_t query_s = 0;
  seconds_t reference_s = 0;
  double weight = 1;
  bool operator<(const clock_pair& other) const noexcept { return query_s < other.query_s; }
};

/// The reference's clock as a line of the query's: reference_s at query_s, and its slope (the
/// query's tempo over the reference's).
struct clock_line {
  seconds_t reference_s = 0;
  double slope = 1;
  seconds_t query_s = 0;
  [[nodiscard]] seconds_t at(seconds_t t) const noexcept { return reference_s + slope * (t - query_s); }
};

/// Matches this far from the fitted line (seconds on the reference's clock) still place a passage's
/// ends: rubato bends the clock away from a straight line by about this much over a passage.
constexpr seconds_t line_band_s = 1.0;

/// Returns the median of the reference times of `pairs` carried to query time `at` with `slope`.
seconds_t median_reference(std::span<const clock_pair> pairs, double slope, seconds_t at) {
  std::vector<seconds_t> guesses;
  guesses.reserve(pairs.size());
  for (const auto& x : pairs) guesses.push_back(x.reference_s + slope * (at - x.query_s));
  if (guesses.empty()) return 0;
  std::nth_element(guesses.begin(), guesses.begin() + static_cast<std::ptrdiff_t>(guesses.size() / 2), guesses.end());
  return guesses[guesses.size() / 2];
}

/// Fits the line of `points` by weighted least squares, starting from `line` and keeping the points
/// within a band around it that narrows as the line settles (chance matches lie outside). The slope
/// stays within 20 % of the starting one, and is kept when the points span too little query time to
/// measure it.
clock_line fit_line(std::span<const clock_pair> points, clock_line line) {
  const double lowest = line.slope / 1.2;
  const double highest = line.slope * 1.2;
  for (const double band : {3.0, 1.5, line_band_s}) {
    double w = 0;
    double q = 0;
    double r = 0;
    for (const auto& p : points) {
      if (std::abs(p.reference_s - line.at(p.query_s)) > band) continue;
      w += p.weight;
      q += p.weight * p.query_s;
      r += p.weight * p.reference_s;
    }
    if (w < 3) break;
    q /= w;
    r /= w;
    double qq = 0;
    double qr = 0;
    for (const auto& p : points) {
      if (std::abs(p.reference_s - line.at(p.query_s)) > band) continue;
      qq += p.weight * (p.query_s - q) * (p.query_s - q);
      qr += p.weight * (p.query_s - q) * (p.reference_s - r);
    }
    double slope = line.slope;
    // Over 2 s of query time spread (standard deviation), the slope is worth measuring.
    if (qq > 4.0 * w && qr / qq >= lowest && qr / qq <= highest) slope = qr / qq;
    line = {r, slope, q};
  }
  return line;
}
}  // namespace

identification repertoire::identify(const note_columns& notes, std::size_t first, std::size_t last) const {
  detail::require_note_seconds(notes, "continuo::repertoire::identify", /*offsets=*/false);
  last = std::min(last, notes.size());
  first = std::min(first, last);
  return identify(std::span(notes.onset_s).subspan(first, last - first),
                  std::span(notes.pitch).subspan(first, last - first));
}

identification repertoire::identify(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch) const {
  return identify(make_query(onset_s, pitch));
}

identification repertoire::identify(const query& q) const {
  identification result;
  result.query_events = q.events.size();
  if (q.events.empty() || pieces_.empty()) return result;
  const auto ms = matches(q);
  std::vector<std::size_t> start(pieces_.size() + 1, 0);
  for (const auto& m : ms) ++start[m.piece + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  // Pieces by raw votes, most first: a piece's score cannot exceed its votes, so the verification
  // stops once no remaining piece could enter the ranking.
  std::vector<std::uint32_t> order(pieces_.size());
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return start[a + 1] - start[a] > start[b + 1] - start[b]; });
  const seconds_t origin = q.events.front().onset_s;
  const auto query_onset = [&](const match& m) { return q.events[m.query_event].onset_s; };
  struct scored {
    std::uint32_t piece = 0;
    hough h;
  };
  std::vector<scored> ranked;
  const std::size_t keep = options_.alternatives + 2;
  const std::vector<bool> all;
  for (const std::uint32_t piece : order) {
    const auto votes = static_cast<double>(start[piece + 1] - start[piece]);
    if (votes < 3) break;
    if (ranked.size() >= keep && votes < ranked[keep - 1].h.score) break;
    const auto& events = pieces_[piece].events;
    const auto reference_onset = [&](const match& m) { return events[m.reference_event].onset_s; };
    const std::span<const match> mine(ms.data() + start[piece], start[piece + 1] - start[piece]);
    auto [h, inliers] = densest(mine, all, query_onset, reference_onset, options_, origin);
    if (h.score <= 0) continue;
    ranked.push_back(scored{piece, h});
    std::stable_sort(ranked.begin(), ranked.end(), [](const scored& a, const scored& b) {
      return a.h.score > b.h.score || (a.h.score == b.h.score && a.piece < b.piece);
    });
  }
  // One entry per name: a piece registered twice (with and without repeats) is one piece.
  std::vector<scored> distinct;
  for (const auto& s : ranked) {
    const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const scored& d) {
      return pieces_[d.piece].name_id == pieces_[s.piece].name_id;
    });
    if (!seen) distinct.push_back(s);
  }
  if (distinct.empty()) return result;
  const double best = distinct[0].h.score;
  const double other = distinct.size() > 1 ? distinct[1].h.score : 0.0;
  bool known = best >= options_.min_score && best >= options_.min_score_ratio * other;
  if (!known && options_.min_score_per_event > 0) {
    const double scaled = options_.min_score_per_event * static_cast<double>(q.events.size());
    known = best >= std::max(options_.min_scaled_score, scaled) && best >= options_.min_scaled_score_ratio * other;
  }
  const auto& fusion = options_.fusion;
  if (!known && fusion.enabled && !windows_.empty()) {
    search_windows(q, pieces_[distinct[0].piece].name_id, result);
    result.by_fusion = best >= fusion.min_score && best >= fusion.min_score_ratio * other &&
                       result.similarity_margin >= fusion.min_margin;
    known = result.by_fusion;
  }
  for (std::size_t k = known ? 1 : 0; k < distinct.size() && result.alternatives.size() < options_.alternatives; ++k) {
    const auto& s = distinct[k];
    result.alternatives.push_back({s.piece, pieces_[s.piece].name, s.h.score, std::exp(s.h.log_ratio)});
  }
  if (!known) return result;
  const auto& top = distinct[0];
  result.piece = top.piece;
  result.name = pieces_[top.piece].name;
  result.score = best;
  result.confidence = std::clamp(1.0 - (other + 1.0) / (best + 1.0), 0.0, 1.0);
  result.tempo_ratio = std::exp(top.h.log_ratio);
  const std::vector<match> mine(ms.begin() + static_cast<std::ptrdiff_t>(start[top.piece]),
                                ms.begin() + static_cast<std::ptrdiff_t>(start[top.piece + 1]));
  const auto loc = locate(q, top.piece, mine);
  if (!loc.placements.empty()) {
    result.where = *std::max_element(loc.placements.begin(), loc.placements.end(),
                                     [](const placement& a, const placement& b) { return a.score < b.score; });
  }
  return result;
}

void repertoire::search_windows(const query& q, std::uint32_t guess, identification& result) const {
  // The notes of the events voted with (a query over max_query_events is cut there).
  const auto& last = q.events.back();
  const std::size_t notes = std::min<std::size_t>(q.onset_s.size(), std::size_t{last.first} + last.count);
  const auto v = embed(std::span(q.onset_s).first(notes), std::span(q.pitch).first(notes), window_embedding());
  if (std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0F; })) return;
  const auto hits = windows_.search(v, options_.fusion.neighbours);
  const auto name_of = [&](const search_hit& h) { return pieces_[window_piece_[h.id]].name_id; };
  const auto mine = std::find_if(hits.begin(), hits.end(), [&](const search_hit& h) { return name_of(h) == guess; });
  const auto other = std::find_if(hits.begin(), hits.end(), [&](const search_hit& h) { return name_of(h) != guess; });
  // Beyond the neighbours examined, a piece is at most as similar as the last of them.
  const double floor = hits.empty() ? 0.0 : static_cast<double>(hits.back().score);
  result.similarity = mine != hits.end() ? static_cast<double>(mine->score) : floor;
  result.similarity_margin = result.similarity - (other != hits.end() ? static_cast<double>(other->score) : floor);
}

location repertoire::locate(const note_columns& notes, std::size_t first, std::size_t last, std::uint32_t piece) const {
  detail::require_note_seconds(notes, "continuo::repertoire::locate", /*offsets=*/false);
  last = std::min(last, notes.size());
  first = std::min(first, last);
  return locate(std::span(notes.onset_s).subspan(first, last - first),
                std::span(notes.pitch).subspan(first, last - first), piece);
}

location repertoire::locate(std::span<const seconds_t> onset_s, std::span<const std::uint8_t> pitch,
                            std::uint32_t piece) const {
  if (piece >= pieces_.size()) fail("no piece " + std::to_string(piece));
  return locate(make_query(onset_s, pitch), piece);
}

location repertoire::locate(const query& q, std::uint32_t piece) const {
  std::vector<match> ms;
  if (!q.events.empty()) {
    for (const auto& m : matches(q)) {
      if (m.piece == piece) ms.push_back(m);
    }
  }
  return locate(q, piece, ms);
}

location repertoire::locate(const query& q, std::uint32_t piece, const std::vector<match>& ms) const {
  location result;
  result.piece = piece;
  if (q.events.empty()) return result;
  const auto& ref = pieces_[piece];
  const seconds_t origin = q.events.front().onset_s;
  const auto query_onset = [&](const match& m) { return q.events[m.query_event].onset_s; };
  const auto reference_onset = [&](const match& m) { return ref.events[m.reference_event].onset_s; };
  std::vector<bool> usable(ms.size(), true);

  // Occurrences, strongest first: each takes the stretch of the query its consistent matches cover.
  struct found {
    placement p;
    double log_ratio;
    bool weak;  ///< Below min_passage_share of the strongest: kept only as a neighbour's continuation.
  };
  std::vector<found> passages;
  double strongest = 0;
  while (passages.size() < options_.max_placements) {
    auto [h, inliers] = densest(std::span<const match>(ms), usable, query_onset, reference_onset, options_, origin);
    // The piece is given, so its best cell is its place however weak (a sparse excerpt of a slow
    // movement has a dozen triples); only further passages must beat the chance matches.
    const double needed = passages.empty() ? min_first_score : options_.min_passage_score;
    if (h.score < needed || inliers.empty()) break;
    // The inliers' query times, cut at long pauses: chance matches far from the rest are dropped.
    std::vector<clock_pair> pairs;
    pairs.reserve(inliers.size());
    for (const auto i : inliers) pairs.push_back({query_onset(ms[i]), reference_onset(ms[i]), ms[i].weight});
    std::stable_sort(pairs.begin(), pairs.end());
    std::size_t run_first = 0;
    std::size_t best_first = 0;
    std::size_t best_last = 0;
    double run = 0;
    double best_run = -1;
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      if (k > 0 && pairs[k].query_s - pairs[k - 1].query_s > 3 * options_.offset_window_s + 2.0) {
        run_first = k;
        run = 0;
      }
      run += pairs[k].weight;
      if (run > best_run) {
        best_run = run;
        best_first = run_first;
        best_last = k;
      }
    }
    const auto& a = pairs[best_first];
    const auto& b = pairs[best_last];
    // The passage's clock against the reference's: a line fitted to the matches near it. The voted
    // tempo is the median of single triples' ratios, a few per cent off, and the 2-s offset window
    // cuts off the matches of a long passage that drifted from it: carried over 30 s, a 5 % error
    // puts the start a bar or two away. The fit takes all matches of about the voted tempo in a band
    // around the line, narrowing it as the line settles.
    std::vector<clock_pair> near;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      if (!usable[i] || std::abs(ms[i].log_ratio - h.log_ratio) > options_.tempo_tolerance) continue;
      const seconds_t t = query_onset(ms[i]);
      if (t < a.query_s - max_extension_s || t > b.query_s + max_extension_s) continue;
      near.push_back({t, reference_onset(ms[i]), ms[i].weight});
    }
    std::stable_sort(near.begin(), near.end());
    const double voted = std::exp(h.log_ratio);
    const auto fitted = fit_line(near,
                                 {median_reference(std::span(pairs).subspan(best_first, best_last + 1 - best_first),
                                                   voted, a.query_s),
                                  voted, a.query_s});
    // Each end is placed by the median of the few matches on the line nearest it, carried to the end
    // along the line: one match alone may be a chance match anywhere in the band.
    const auto on_line = [&](seconds_t at) {
      std::vector<std::pair<seconds_t, seconds_t>> guesses;  // (distance in query time, reference time)
      for (const auto& x : near) {
        const seconds_t r = fitted.at(x.query_s);
        if (std::abs(x.reference_s - r) > line_band_s) continue;
        guesses.emplace_back(std::abs(x.query_s - at), x.reference_s + fitted.slope * (at - x.query_s));
      }
      constexpr std::size_t nearest = 9;
      if (guesses.empty()) return fitted.at(at);
      const std::size_t k = std::min(nearest, guesses.size());
      std::partial_sort(guesses.begin(), guesses.begin() + static_cast<std::ptrdiff_t>(k), guesses.end());
      std::vector<seconds_t> values;
      for (std::size_t i = 0; i < k; ++i) values.push_back(guesses[i].second);
      std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k / 2), values.end());
      return values[k / 2];
    };
    found f{};
    f.log_ratio = h.log_ratio;
    f.p.query_start_s = a.query_s;
    f.p.query_end_s = b.query_s;
    f.p.reference_start_s = on_line(a.query_s);
    f.p.reference_end_s = on_line(b.query_s);
    f.p.score = std::round(best_run * 1000) / 1000;
    f.p.tempo_ratio = fitted.slope;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      const seconds_t t = query_onset(ms[i]);
      if (t >= a.query_s && t <= b.query_s) usable[i] = false;
    }
    for (const auto i : inliers) usable[i] = false;
    if (f.p.score >= needed) {
      strongest = std::max(strongest, f.p.score);
      f.weak = f.p.score < options_.min_passage_share * strongest;
      passages.push_back(f);
    }
  }
  std::sort(passages.begin(), passages.end(),
            [](const found& x, const found& y) { return x.p.query_start_s < y.p.query_start_s; });
  // A weak passage is kept when it continues a kept neighbour on both clocks (the slow introduction
  // before an Allegro, a Largo bar between two Allegro phrases): chance matches seldom land right
  // next to the real passage in the reference. Chains of weak passages grow from the strong ones.
  for (bool grew = true; grew;) {
    grew = false;
    for (std::size_t k = 0; k < passages.size(); ++k) {
      if (!passages[k].weak) continue;
      const auto continues = [&](const found& before, const found& after) {
        if (before.weak) return false;
        const seconds_t pause = after.p.query_start_s - before.p.query_end_s;
        const double expected = std::max(0.0, pause) * std::sqrt(before.p.tempo_ratio * after.p.tempo_ratio);
        const seconds_t jump = after.p.reference_start_s - before.p.reference_end_s;
        return pause > -0.5 && std::abs(jump - expected) <= 2.0 + 0.5 * expected;
      };
      if ((k > 0 && continues(passages[k - 1], passages[k])) ||
          (k + 1 < passages.size() && continues(passages[k], passages[k + 1]))) {
        passages[k].weak = false;
        grew = true;
      }
    }
  }
  std::erase_if(passages, [](const found& f) { return f.weak; });

  // Each passage reaches out towards its neighbours (and the query's ends), a few seconds at most.
  const seconds_t q_first = q.events.front().onset_s;
  const seconds_t q_last = q.events.back().onset_s;
  for (std::size_t k = 0; k < passages.size(); ++k) {
    auto& p = passages[k].p;
    const double ratio = p.tempo_ratio;
    const seconds_t left = k == 0 ? q_first : (passages[k - 1].p.query_end_s + p.query_start_s) / 2;
    const seconds_t right = k + 1 == passages.size() ? q_last : (p.query_end_s + passages[k + 1].p.query_start_s) / 2;
    // Snapped to the query's own onsets, so that a passage never reaches into the pause after it.
    seconds_t new_start = std::max(left, p.query_start_s - max_extension_s);
    seconds_t new_end = std::min(right, p.query_end_s + max_extension_s);
    const auto after = std::lower_bound(q.events.begin(), q.events.end(), new_start,
                                        [](const onset_event& e, seconds_t t) { return e.onset_s < t; });
    if (after != q.events.end()) new_start = std::min(after->onset_s, p.query_start_s);
    const auto before = std::upper_bound(q.events.begin(), q.events.end(), new_end,
                                         [](seconds_t t, const onset_event& e) { return t < e.onset_s; });
    if (before != q.events.begin()) new_end = std::max(std::prev(before)->onset_s, p.query_end_s);
    p.reference_start_s -= ratio * (p.query_start_s - new_start);
    p.reference_end_s += ratio * (new_end - p.query_end_s);
    p.query_start_s = new_start;
    p.query_end_s = new_end;
  }

  // Refinement: a subsequence DTW of the passage's onset events against the reference's around the
  // voted place, on pitch-class sets (rotated by the transposition the matches agree on).
  if (options_.refine) {
    for (auto& f : passages) {
      auto& p = f.p;
      const auto qa = static_cast<std::size_t>(
          std::lower_bound(q.events.begin(), q.events.end(), p.query_start_s,
                           [](const onset_event& e, seconds_t t) { return e.onset_s < t; }) -
          q.events.begin());
      const auto qb = static_cast<std::size_t>(
          std::upper_bound(q.events.begin(), q.events.end(), p.query_end_s,
                           [](seconds_t t, const onset_event& e) { return t < e.onset_s; }) -
          q.events.begin());
      const seconds_t margin = std::max(2.0, 0.1 * (p.reference_end_s - p.reference_start_s));
      const auto ra = static_cast<std::size_t>(
          std::lower_bound(ref.events.begin(), ref.events.end(), p.reference_start_s - margin,
                           [](const onset_event& e, seconds_t t) { return e.onset_s < t; }) -
          ref.events.begin());
      const auto rb = static_cast<std::size_t>(
          std::upper_bound(ref.events.begin(), ref.events.end(), p.reference_end_s + margin,
                           [](seconds_t t, const onset_event& e) { return t < e.onset_s; }) -
          ref.events.begin());
      const std::size_t n = qb > qa ? qb - qa : 0;
      const std::size_t m = rb > ra ? rb - ra : 0;
      if (n < 2 || m < 2 || n * m > max_dtw_cells) continue;
      int shift = 0;
      if (options_.fingerprint.transposition_invariant) {
        std::array<int, 12> votes{};
        for (const auto& mt : ms) {
          const int d = int(q.events[mt.query_event].highest) - int(ref.events[mt.reference_event].highest);
          ++votes[static_cast<std::size_t>(((d % 12) + 12) % 12)];
        }
        shift = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
      }
      std::vector<std::uint16_t> query_chroma(n);
      for (std::size_t i = 0; i < n; ++i) query_chroma[i] = rotate(q.chroma[qa + i], -shift);
      const auto cost = [&](std::size_t i, std::size_t j) {
        const unsigned x = query_chroma[i];
        const unsigned y = ref.chroma[ra + j];
        const int both = std::popcount(x & y);
        const int any = std::popcount(x | y);
        return any == 0 ? 1.0 : 1.0 - static_cast<double>(both) / any;
      };
      // D(i, j) = min(D(i-1, j-1) + 2c, D(i-1, j) + c, D(i, j-1) + c); free start and end in the reference.
      std::vector<double> previous(m);
      std::vector<double> current(m);
      std::vector<std::uint8_t> step(n * m);
      for (std::size_t j = 0; j < m; ++j) previous[j] = cost(0, j);
      for (std::size_t i = 1; i < n; ++i) {
        for (std::size_t j = 0; j < m; ++j) {
          const double c = cost(i, j);
          double value = previous[j] + c;
          std::uint8_t from = 1;  // from (i-1, j)
          if (j > 0 && previous[j - 1] + 2 * c <= value) {
            value = previous[j - 1] + 2 * c;
            from = 0;
          }
          if (j > 0 && current[j - 1] + c < value) {
            value = current[j - 1] + c;
            from = 2;
          }
          current[j] = value;
          step[i * m + j] = from;
        }
        std::swap(previous, current);
      }
      std::size_t j = static_cast<std::size_t>(std::min_element(previous.begin(), previous.end()) - previous.begin());
      const std::size_t end_j = j;
      std::size_t i = n - 1;
      while (i > 0) {
        const auto from = step[i * m + j];
        if (from == 0) {
          --i;
          --j;
        } else if (from == 1) {
          --i;
        } else {
          --j;
        }
      }
      const seconds_t r0 = ref.events[ra + j].onset_s;
      const seconds_t r1 = ref.events[ra + end_j].onset_s;
      const seconds_t q0 = q.events[qa].onset_s;
      const seconds_t q1 = q.events[qb - 1].onset_s;
      p.reference_start_s = r0;
      p.reference_end_s = r1;
      p.query_start_s = q0;
      p.query_end_s = q1;
      // The alignment's tempo over the whole passage, unless the path collapsed (a degenerate alignment
      // says nothing; the votes' tempo stands then).
      const double aligned = q1 - q0 > 2.0 && r1 > r0 ? (r1 - r0) / (q1 - q0) : 0.0;
      if (aligned > p.tempo_ratio / 1.5 && aligned < p.tempo_ratio * 1.5) p.tempo_ratio = aligned;
    }
  }
  for (auto& f : passages) {
    auto& p = f.p;
    p.reference_start_s = std::clamp(p.reference_start_s, 0.0, ref.end_s);
    p.reference_end_s = std::clamp(p.reference_end_s, p.reference_start_s, ref.end_s);
    p.first_bar = bar_at(piece, p.reference_start_s);
    p.last_bar = bar_at(piece, p.reference_end_s);
    result.placements.push_back(p);
  }
  return result;
}

// ---- sessions --------------------------------------------------------------------------------------

session_analysis repertoire::analyse(const performance& perf, const practice_split& split) const {
  detail::require_note_seconds(perf.notes, "continuo::repertoire::analyse", /*offsets=*/false);
  session_analysis out;
  const auto& notes = perf.notes;
  for (const auto& a : split.attempts) {
    attempt_analysis row;
    row.attempt = a;
    const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(a.first_note, notes.size()));
    const auto last = static_cast<std::size_t>(std::min<std::uint64_t>(a.first_note + a.note_count, notes.size()));
    const auto q = make_query(std::span(notes.onset_s).subspan(first, last - first),
                              std::span(notes.pitch).subspan(first, last - first));
    row.identified = identify(q);
    if (row.identified.known()) row.placements = locate(q, row.identified.piece).placements;
    out.attempts.push_back(std::move(row));
  }
  for (const auto& row : out.attempts) {
    if (!row.identified.known()) continue;
    const auto piece = row.identified.piece;
    auto it = std::find_if(out.heatmaps.begin(), out.heatmaps.end(),
                           [&](const bar_heatmap& h) { return h.piece == piece; });
    if (it == out.heatmaps.end()) {
      out.heatmaps.push_back(
          {piece, pieces_[piece].name, std::vector<std::uint32_t>(pieces_[piece].downbeats_s.size() + 1, 0)});
      it = out.heatmaps.end() - 1;
    }
    for (const auto& p : row.placements) {
      for (std::size_t b = 0; b < it->plays.size(); ++b) {
        const double overlap = std::min(p.last_bar, double(b + 1)) - std::max(p.first_bar, double(b));
        if (overlap >= 0.5) ++it->plays[b];
      }
    }
  }
  std::sort(out.heatmaps.begin(), out.heatmaps.end(),
            [](const bar_heatmap& a, const bar_heatmap& b) { return a.piece < b.piece; });
  return out;
}

}  // namespace continuo

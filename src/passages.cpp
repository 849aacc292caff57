#include <continuo/diagnostic.hpp>
#include <continuo/features/tempo.hpp>
#include <continuo/passages.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

namespace continuo {
namespace {

/// Onset events of one session (indices of its notes), cut into units that are aligned pairwise.
struct session_events {
  std::vector<onset_event> events;  // first = index into the session's notes
};

struct unit {
  std::size_t session = 0;  // index into the sorted order of sessions
  std::size_t first_event = 0;
  std::size_t last_event = 0;           // one past
  std::vector<fingerprint> prints;      // event = session event index; sorted by hash, then event
  std::vector<std::uint32_t> distinct;  // distinct usable hashes, sorted
};

/// One match between two units: the first events of the two triples and the ratio of their spans.
struct match {
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  std::int64_t diagonal = 0;
  float ratio = 1;  // span in b / span in a: above 1 when b was played slower
};

/// A matched stretch of two units (event ranges in session event indices).
struct segment {
  std::size_t unit_a = 0;
  std::size_t unit_b = 0;
  std::size_t a_first = 0, a_last = 0;  // events [a_first, a_last]
  std::size_t b_first = 0, b_last = 0;
  double ratio = 1;
  std::size_t matches = 0;
};

[[noreturn]] void invalid(const std::string& what) { throw error("[passages.invalid_input] " + what); }

/// Returns the onset events of each attempt of the session, in one list (no event crosses an attempt).
std::vector<std::pair<std::size_t, std::size_t>> attempt_ranges(const session_notes& s, std::size_t n, double gap_s) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  if (!s.attempts.empty()) {
    for (const auto& a : s.attempts) {
      if (a.first_note > n || a.note_count > n - a.first_note) {
        invalid("session " + s.id + ": attempt of notes [" + std::to_string(a.first_note) + ", " +
                std::to_string(a.first_note + a.note_count) + ") outside its " + std::to_string(n) + " notes");
      }
      if (a.note_count > 0) ranges.emplace_back(a.first_note, a.first_note + a.note_count);
    }
    return ranges;
  }
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= n; ++i) {
    if (i == n || s.onset_s[i] - s.onset_s[i - 1] > gap_s) {
      if (i > begin) ranges.emplace_back(begin, i);
      begin = i;
    }
  }
  return ranges;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

struct disjoint_sets {
  std::vector<std::size_t> parent;
  explicit disjoint_sets(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), std::size_t{0}); }
  std::size_t find(std::size_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }
  void join(std::size_t x, std::size_t y) {
    x = find(x);
    y = find(y);
    if (x != y) parent[std::max(x, y)] = std::min(x, y);
  }
};

/// Aligns unit b with unit a (a == b: with itself, later part against earlier part) and appends segments.
void align(const unit& ua, const unit& ub, std::size_t ia, std::size_t ib, const passage_options& o,
           std::vector<segment>& out) {
  std::vector<match> matches;
  const auto& pa = ua.prints;
  const auto& pb = ub.prints;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < pa.size() && j < pb.size()) {
    if (pa[i].hash < pb[j].hash) {
      ++i;
    } else if (pb[j].hash < pa[i].hash) {
      ++j;
    } else {
      const auto h = pa[i].hash;
      std::size_t i2 = i;
      std::size_t j2 = j;
      while (i2 < pa.size() && pa[i2].hash == h) ++i2;
      while (j2 < pb.size() && pb[j2].hash == h) ++j2;
      if (i2 - i <= o.max_hash_repeats && j2 - j <= o.max_hash_repeats) {
        for (std::size_t x = i; x < i2; ++x) {
          for (std::size_t y = j; y < j2; ++y) {
            const auto d = static_cast<std::int64_t>(pb[y].event) - static_cast<std::int64_t>(pa[x].event);
            if (ia == ib && d < static_cast<std::int64_t>(o.min_events)) continue;  // self: later against earlier
            matches.push_back({pa[x].event, pb[y].event, d, pb[y].span_s / pa[x].span_s});
          }
        }
      }
      i = i2;
      j = j2;
    }
  }
  const auto tolerance = static_cast<std::int64_t>(o.diagonal_tolerance);
  for (std::size_t round = 0; round < o.max_segments_per_pair && matches.size() >= o.min_matches; ++round) {
    std::sort(matches.begin(), matches.end(), [](const match& x, const match& y) {
      return std::tie(x.diagonal, x.a, x.b) < std::tie(y.diagonal, y.a, y.b);
    });
    // The densest band of diagonals [d - tolerance, d + tolerance], by two pointers.
    std::size_t best = 0;
    std::size_t best_begin = 0;
    std::size_t best_end = 0;
    std::size_t lo = 0;
    std::size_t hi = 0;
    for (std::size_t k = 0; k < matches.size(); ++k) {
      const std::int64_t d = matches[k].diagonal;
      while (matches[lo].diagonal < d - tolerance) ++lo;
      if (hi < k) hi = k;
      while (hi < matches.size() && matches[hi].diagonal <= d + tolerance) ++hi;
      if (hi - lo > best) {
        best = hi - lo;
        best_begin = lo;
        best_end = hi;
      }
    }
    if (best < o.min_matches) break;
    std::vector<match> band(matches.begin() + static_cast<std::ptrdiff_t>(best_begin),
                            matches.begin() + static_cast<std::ptrdiff_t>(best_end));
    matches.erase(matches.begin() + static_cast<std::ptrdiff_t>(best_begin),
                  matches.begin() + static_cast<std::ptrdiff_t>(best_end));
    std::sort(band.begin(), band.end(),
              [](const match& x, const match& y) { return std::tie(x.a, x.b) < std::tie(y.a, y.b); });
    // Cut the band where the played notes stop matching for a while: two passages on one diagonal.
    std::size_t run = 0;
    for (std::size_t k = 1; k <= band.size(); ++k) {
      if (k < band.size() && band[k].a - band[k - 1].a <= o.max_gap_events) continue;
      const std::size_t count = k - run;
      if (count >= o.min_matches) {
        segment s;
        s.unit_a = ia;
        s.unit_b = ib;
        s.a_first = band[run].a;
        s.a_last = std::min<std::size_t>(band[k - 1].a + 2, ua.last_event - 1);
        s.b_first = std::numeric_limits<std::size_t>::max();
        s.b_last = 0;
        std::vector<float> ratios;
        ratios.reserve(count);
        for (std::size_t m = run; m < k; ++m) {
          s.b_first = std::min<std::size_t>(s.b_first, band[m].b);
          s.b_last = std::max<std::size_t>(s.b_last, band[m].b);
          ratios.push_back(band[m].ratio);
        }
        s.b_last = std::min<std::size_t>(s.b_last + 2, ub.last_event - 1);
        std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(count / 2), ratios.end());
        s.ratio = ratios[count / 2];
        s.matches = count;
        const bool long_enough = s.a_last + 1 - s.a_first >= o.min_events && s.b_last + 1 - s.b_first >= o.min_events;
        const bool disjoint = ia != ib || s.a_last < s.b_first;
        if (long_enough && disjoint && s.ratio > 0 && std::isfinite(s.ratio)) out.push_back(s);
      }
      run = k;
    }
  }
}

/// Returns the earlier units worth aligning with unit b: those sharing the most distinct hashes.
std::vector<std::size_t> candidates(const std::vector<unit>& units, std::size_t b,
                                    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& postings,
                                    const passage_options& o) {
  std::vector<std::uint32_t> voters;
  for (const auto h : units[b].distinct) {
    auto it = std::lower_bound(postings.begin(), postings.end(), std::pair<std::uint32_t, std::uint32_t>{h, 0});
    for (std::size_t k = 0; k < o.max_postings && it != postings.end() && it->first == h && it->second < b; ++k, ++it) {
      voters.push_back(it->second);
    }
  }
  std::sort(voters.begin(), voters.end());
  std::vector<std::pair<std::size_t, std::size_t>> counted;  // (shared hashes, unit)
  for (std::size_t k = 0; k < voters.size();) {
    std::size_t e = k + 1;
    while (e < voters.size() && voters[e] == voters[k]) ++e;
    if (e - k >= o.min_matches) counted.emplace_back(e - k, voters[k]);
    k = e;
  }
  std::sort(counted.begin(), counted.end(),
            [](const auto& x, const auto& y) { return x.first != y.first ? x.first > y.first : x.second < y.second; });
  if (counted.size() > o.max_candidates) counted.resize(o.max_candidates);
  std::vector<std::size_t> out;
  out.reserve(counted.size());
  for (const auto& [count, a] : counted) out.push_back(a);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<passage_group> find_passages(std::span<const session_notes> sessions, const passage_options& options) {
  const passage_options& o = options;
  // Sessions in time order; ties keep the input order.
  std::vector<std::size_t> order(sessions.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return sessions[x].time_s < sessions[y].time_s; });

  std::vector<session_events> events(sessions.size());
  std::vector<unit> units;
  const std::size_t unit_cap = std::max<std::size_t>(o.max_unit_events, 2 * o.min_events + 1);
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const auto& s = sessions[order[rank]];
    const std::size_t n = s.onset_s.size();
    if (s.pitch.size() != n || s.velocity.size() != n) {
      invalid("session " + s.id + ": onset_s, pitch and velocity of different lengths");
    }
    if (!s.offset_s.empty() && s.offset_s.size() != n) {
      invalid("session " + s.id + ": offset_s must be empty or as long as onset_s");
    }
    auto& se = events[rank].events;
    for (const auto& [first, last] : attempt_ranges(s, n, o.attempt_gap_s)) {
      const std::size_t base = se.size();
      for (auto e : onset_events(s.onset_s.subspan(first, last - first), s.pitch.subspan(first, last - first),
                                 o.fingerprint.merge_window_s)) {
        e.first += static_cast<std::uint32_t>(first);
        se.push_back(e);
      }
      for (std::size_t u = base; u < se.size(); u += unit_cap) {
        unit x;
        x.session = rank;
        x.first_event = u;
        x.last_event = std::min(u + unit_cap, se.size());
        x.prints = fingerprints(std::span(se).subspan(u, x.last_event - u), o.fingerprint);
        for (auto& f : x.prints) f.event += static_cast<std::uint32_t>(u);
        std::sort(x.prints.begin(), x.prints.end(), [](const fingerprint& p, const fingerprint& q) {
          return std::tie(p.hash, p.event) < std::tie(q.hash, q.event);
        });
        for (std::size_t k = 0; k < x.prints.size();) {
          std::size_t e = k + 1;
          while (e < x.prints.size() && x.prints[e].hash == x.prints[k].hash) ++e;
          if (e - k <= o.max_hash_repeats) x.distinct.push_back(x.prints[k].hash);
          k = e;
        }
        units.push_back(std::move(x));
      }
    }
  }

  // Postings (hash, unit), sorted: the units holding each hash, earliest first.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> postings;
  for (std::size_t u = 0; u < units.size(); ++u) {
    for (const auto h : units[u].distinct) postings.emplace_back(h, static_cast<std::uint32_t>(u));
  }
  std::sort(postings.begin(), postings.end());

  // Align every unit with its candidates; each unit's segments depend only on it and earlier units, so
  // sessions added later in time never change the segments found before them.
  std::vector<std::vector<segment>> found(units.size());
  auto work = [&](std::size_t start, std::size_t step) {
    for (std::size_t b = start; b < units.size(); b += step) {
      for (const auto a : candidates(units, b, postings, o)) align(units[a], units[b], a, b, o, found[b]);
      align(units[b], units[b], b, b, o, found[b]);
    }
  };
  const std::size_t threads = std::clamp<std::size_t>(o.threads, 1, std::max<std::size_t>(units.size(), 1));
  if (threads == 1) {
    work(0, 1);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work, t, threads);
    for (auto& th : pool) th.join();
  }
  std::vector<segment> segments;
  for (auto& f : found) segments.insert(segments.end(), f.begin(), f.end());
  if (segments.empty()) return {};

  // Stretches: both sides of every segment. Stretches of one session covering the same notes are merged,
  // and the two sides of a segment are joined: the components are the passage groups.
  struct stretch {
    std::size_t session = 0, first = 0, last = 0;  // events [first, last]
    std::size_t seg = 0;
  };
  std::vector<stretch> stretches;
  stretches.reserve(2 * segments.size());
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const auto& s = segments[k];
    stretches.push_back({units[s.unit_a].session, s.a_first, s.a_last, k});
    stretches.push_back({units[s.unit_b].session, s.b_first, s.b_last, k});
  }
  disjoint_sets sets(stretches.size());
  for (std::size_t k = 0; k < segments.size(); ++k) sets.join(2 * k, 2 * k + 1);
  std::vector<std::size_t> by_place(stretches.size());
  std::iota(by_place.begin(), by_place.end(), std::size_t{0});
  std::sort(by_place.begin(), by_place.end(), [&](std::size_t x, std::size_t y) {
    const auto& p = stretches[x];
    const auto& q = stretches[y];
    return std::tie(p.session, p.first, p.last, x) < std::tie(q.session, q.first, q.last, y);
  });
  constexpr std::size_t max_comparisons = 64;  // bounds the sweep when many stretches pile up on one spot
  for (std::size_t i = 0; i < by_place.size(); ++i) {
    const auto& p = stretches[by_place[i]];
    for (std::size_t j = i + 1; j < by_place.size() && j <= i + max_comparisons; ++j) {
      const auto& q = stretches[by_place[j]];
      if (q.session != p.session || q.first > p.last) break;
      const double overlap = static_cast<double>(std::min(p.last, q.last) - q.first + 1);
      const double join = static_cast<double>(std::max(p.last, q.last) - p.first + 1);
      if (overlap / join >= o.merge_overlap) sets.join(by_place[i], by_place[j]);
    }
  }

  // Occurrences: within a group, overlapping stretches of one session are one occurrence.
  struct occurrence_build {
    std::size_t root = 0, session = 0, first = 0, last = 0;
  };
  std::vector<std::size_t> occurrence_of(stretches.size());
  std::vector<occurrence_build> built;
  {
    std::vector<std::size_t> idx(stretches.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::vector<std::size_t> root(stretches.size());
    for (std::size_t k = 0; k < stretches.size(); ++k) root[k] = sets.find(k);
    std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) {
      const auto& p = stretches[x];
      const auto& q = stretches[y];
      return std::tie(root[x], p.session, p.first, p.last, x) < std::tie(root[y], q.session, q.first, q.last, y);
    });
    for (const auto k : idx) {
      const auto& s = stretches[k];
      if (built.empty() || built.back().root != root[k] || built.back().session != s.session ||
          s.first > built.back().last) {
        built.push_back({root[k], s.session, s.first, s.last});
      } else {
        built.back().last = std::max(built.back().last, s.last);
      }
      occurrence_of[k] = built.size() - 1;
    }
  }

  // Groups: occurrences sharing a root.
  std::vector<passage_group> groups;
  std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> birth;  // (unit_b, unit_a, a_first) per group
  std::size_t begin = 0;
  while (begin < built.size()) {
    std::size_t end = begin + 1;
    while (end < built.size() && built[end].root == built[begin].root) ++end;
    const std::size_t count = end - begin;
    if (count < std::max<std::size_t>(o.min_occurrences, 1)) {
      begin = end;
      continue;
    }
    // Tempo: walk the segments from the first occurrence (breadth first, strongest segments first).
    std::vector<double> tempo(count, 0.0);
    std::vector<std::size_t> support(count, 0);
    std::vector<std::vector<std::tuple<std::size_t, std::size_t, double>>> edges(count);  // (matches, to, factor)
    std::tuple<std::size_t, std::size_t, std::size_t> first_birth{std::numeric_limits<std::size_t>::max(), 0, 0};
    std::size_t birth_segment = 0;
    for (std::size_t k = 0; k < segments.size(); ++k) {
      const std::size_t x = occurrence_of[2 * k];
      if (x < begin || x >= end) continue;
      const std::size_t y = occurrence_of[2 * k + 1];
      const auto& s = segments[k];
      support[x - begin] += s.matches;
      support[y - begin] += s.matches;
      // b's tempo = a's tempo / ratio (a span twice as long in b: b at half the tempo).
      edges[x - begin].emplace_back(s.matches, y - begin, 1.0 / s.ratio);
      edges[y - begin].emplace_back(s.matches, x - begin, s.ratio);
      const std::tuple<std::size_t, std::size_t, std::size_t> key{s.unit_b, s.unit_a, s.a_first};
      if (key < first_birth) {
        first_birth = key;
        birth_segment = k;
      }
    }
    for (auto& e : edges)
      std::sort(e.begin(), e.end(), [](const auto& p, const auto& q) {
        return std::get<0>(p) != std::get<0>(q) ? std::get<0>(p) > std::get<0>(q) : std::get<1>(p) < std::get<1>(q);
      });
    tempo[0] = 1.0;
    std::queue<std::size_t> queue;
    queue.push(0);
    while (!queue.empty()) {
      const std::size_t x = queue.front();
      queue.pop();
      for (const auto& [weight, y, factor] : edges[x]) {
        if (tempo[y] == 0.0) {
          tempo[y] = tempo[x] * factor;
          queue.push(y);
        }
      }
    }
    passage_group g;
    for (std::size_t k = begin; k < end; ++k) {
      const auto& b = built[k];
      const auto& s = sessions[order[b.session]];
      const auto& se = events[b.session].events;
      passage_occurrence x;
      x.session_index = order[b.session];
      x.first_note = se[b.first].first;
      x.last_note = se[b.last].first + se[b.last].count;
      x.start_s = s.onset_s[x.first_note];
      x.end_s = s.onset_s[x.last_note - 1];
      x.tempo_ratio = tempo[k - begin] > 0 ? tempo[k - begin] : 1.0;
      x.matches = support[k - begin];
      const std::size_t len = x.last_note - x.first_note;
      const auto t = estimate_tempo(
          {.onset_s = s.onset_s.subspan(x.first_note, len),
           .offset_s = s.offset_s.empty() ? s.offset_s : s.offset_s.subspan(x.first_note, len),
           .velocity = s.velocity.subspan(x.first_note, len),
           .pitch = s.pitch.subspan(x.first_note, len)});
      x.bpm_confidence = t.confidence;
      x.bpm = t.confidence >= o.min_bpm_confidence ? t.bpm : 0.0;
      g.occurrences.push_back(x);
    }
    // The id: the session and note times of the earliest-completed segment's earlier side.
    const auto& seg = segments[birth_segment];
    const auto& ua = units[seg.unit_a];
    const auto& sa = sessions[order[ua.session]];
    const auto& ea = events[ua.session].events;
    std::uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, sa.id.data(), sa.id.size());
    const std::array<std::int64_t, 2> ms{std::llround(ea[seg.a_first].onset_s * 1000.0),
                                         std::llround(ea[seg.a_last].onset_s * 1000.0)};
    h = fnv1a(h, ms.data(), sizeof(ms));
    g.id = h;
    groups.push_back(std::move(g));
    birth.push_back(first_birth);
    begin = end;
  }
  // Groups by their first occurrence (sessions in time order, then start), ties by id.
  std::vector<std::size_t> rank_of(sessions.size());
  for (std::size_t r = 0; r < order.size(); ++r) rank_of[order[r]] = r;
  std::vector<std::size_t> idx(groups.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  auto first_key = [&](std::size_t k) {
    const auto& x = groups[k].occurrences.front();
    return std::tuple{rank_of[x.session_index], x.first_note, groups[k].id};
  };
  std::sort(idx.begin(), idx.end(), [&](std::size_t x, std::size_t y) { return first_key(x) < first_key(y); });
  std::vector<passage_group> out;
  out.reserve(groups.size());
  for (const auto k : idx) out.push_back(std::move(groups[k]));
  return out;
}

}  // namespace continuo

// The triple block of an embedding: the keys of every note triple, hashed and added with a sign into a
// few hundred bins (a count sketch). It is most of the cost of an embedding, so it comes in two kernels
// that give identical counts: a portable loop over detail::for_each_triple, and an AVX2 kernel chosen
// at run time on x86-64 (function-level target attributes, no -march flag, as in src/index.cpp) that
// takes eight first events at a time. Both add ±1 per key; such sums are exact (below 2^24 per bin),
// so the order in which the kernels add does not change a bit of the result.

#include <continuo/embedding.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CONTINUO_TRIPLES_AVX2 1
#define CONTINUO_TARGET_AVX2 __attribute__((target("avx2,popcnt")))
#endif

namespace continuo::detail {
namespace {

/// Returns murmur3's 32-bit finaliser of h: a bijection whose bits all depend on all bits of h.
constexpr std::uint32_t mix(std::uint32_t h) noexcept {
  h ^= h >> 16U;
  h *= 0x85ebca6bU;
  h ^= h >> 13U;
  h *= 0xc2b2ae35U;
  h ^= h >> 16U;
  return h;
}

template <bool invariant>
void count_triples_portable(std::span<const onset_event> events, const fingerprint_options& options,
                            std::span<float> out) {
  // The triples are visited, never stored. Whether a triple has a bass line (a chord among its events)
  // and whether its ratio is near a bin edge are as good as random, and mispredicting branches on them
  // cost more than the hashing, so the keys of a triple (the melody and bass lines, each in its ratio bin
  // and in the probe's neighbouring bin) are all written to a buffer and the end of the buffer advanced
  // by 0 or 1 for each; full buffers are then hashed and added in a loop without a branch. The hashes
  // are for_each_fingerprint's.
  const auto bins = static_cast<std::uint64_t>(out.size());
  constexpr std::size_t capacity = 1024;
  std::array<std::uint32_t, capacity + 4> keys{};
  std::size_t count = 0;
  const auto flush = [&] {
    for (std::size_t m = 0; m < count; ++m) keys[m] = mix(keys[m]);
    for (std::size_t m = 0; m < count; ++m) {
      const std::uint32_t h = keys[m];
      // The sign from the low bit, the bin from the high bits: (h * bins) >> 32 maps h onto [0, bins).
      out[static_cast<std::size_t>((std::uint64_t{h} * bins) >> 32U)] += 1.0F - 2.0F * static_cast<float>(h & 1U);
    }
    count = 0;
  };
  for_each_triple(events, options, [&](const triple& t) {
    const auto& a = events[t.first];
    const auto& b = events[t.second];
    const auto& c = events[t.third];
    // A line of single notes has one pitch per event: the bass line would repeat the melody's hash.
    // Counts are at least 1, so their bitwise or is 1 only when all are.
    const std::size_t bass = (a.count | b.count | c.count) > 1U ? 1 : 0;
    const std::size_t probe = t.bins.probe ? 1 : 0;
    keys[count] = triple_hash(a.highest, b.highest, c.highest, 0, t.bins.bin, invariant);
    count += 1;
    keys[count] = triple_hash(a.highest, b.highest, c.highest, 0, t.bins.neighbour, invariant);
    count += probe;
    keys[count] = triple_hash(a.lowest, b.lowest, c.lowest, 1, t.bins.bin, invariant);
    count += bass;
    keys[count] = triple_hash(a.lowest, b.lowest, c.lowest, 1, t.bins.neighbour, invariant);
    count += bass & probe;
    if (count >= capacity) flush();
  });
  flush();
}

/// Returns the least float d in [0, 0.5] for which bin_ratio's probe test 0.5 - d < edge_probe (in double)
/// holds, or +inf if none does. 0.5 - d, rounded, falls as d grows, so the test holds exactly for d at or
/// above it; a float test of d against it makes the same choice as bin_ratio for every float distance.
float probe_threshold(double edge_probe) {
  const auto holds = [edge_probe](std::uint32_t bits) { return 0.5 - double{std::bit_cast<float>(bits)} < edge_probe; };
  std::uint32_t low = 0;  // the bits of non-negative floats are in the order of their values
  std::uint32_t high = std::bit_cast<std::uint32_t>(0.5F);
  if (!holds(high)) return std::numeric_limits<float>::infinity();
  if (holds(low)) return 0.0F;
  while (high - low > 1) {
    const std::uint32_t mid = low + (high - low) / 2;
    (holds(mid) ? high : low) = mid;
  }
  return std::bit_cast<float>(high);
}

#ifdef CONTINUO_TRIPLES_AVX2

/// For each 8-bit mask, the lanes it selects, first: the shuffle that packs the selected keys of a vector.
constexpr std::array<std::uint64_t, 256> pack_lanes = [] {
  std::array<std::uint64_t, 256> table{};
  for (std::uint32_t mask = 0; mask < 256; ++mask) {
    std::uint64_t lanes = 0;
    std::uint32_t at = 0;
    for (std::uint32_t lane = 0; lane < 8; ++lane) {
      if ((mask >> lane & 1U) != 0) lanes |= std::uint64_t{lane} << (8 * at++);
    }
    table[mask] = lanes;
  }
  return table;
}();

/// The kernel's inputs, one column per field, padded with events that have no triples so that eight
/// events from any first event, and from that event's second and third events, can be loaded at once.
struct triple_columns {
  std::size_t fan = 0;
  std::size_t stride = 0;                      ///< Length of each column.
  std::vector<std::uint8_t> reach;             ///< write_gaps's reach.
  std::vector<std::int32_t> high, low, chord;  ///< The pitches of the events; -1 for a chord, else 0.
  std::vector<float> scaled_log2;              ///< write_gaps's gaps, one column per distance 1..fan_out.
};

/// Returns the columns of `events`, or an empty stride if a gap is not finite (bin_ratio then works on
/// a NaN, which the kernel does not reproduce).
triple_columns columns_of(std::span<const onset_event> events, const fingerprint_options& options) {
  const std::size_t n = events.size();
  triple_columns c;
  c.fan = fan_out_of(options);
  c.stride = (n + 7) / 8 * 8 + 2 * c.fan + 8;
  c.reach.assign(c.stride + 8, 0);  // loaded as 8 bytes from each of stride positions
  c.high.assign(c.stride, 0);
  c.low.assign(c.stride, 0);
  c.chord.assign(c.stride, 0);
  c.scaled_log2.assign(c.stride * c.fan, 0.0F);
  write_gaps(events, options, c.scaled_log2.data(), 1, c.stride, c.reach.data());
  for (std::size_t i = 0; i < n; ++i) {
    c.high[i] = events[i].highest;
    c.low[i] = events[i].lowest;
    c.chord[i] = events[i].count > 1 ? -1 : 0;
  }
  bool finite = true;
  for (const float g : c.scaled_log2) finite &= std::abs(g) <= std::numeric_limits<float>::max();
  if (!finite) c.stride = 0;
  return c;
}

CONTINUO_TARGET_AVX2 inline __m256i load(const std::int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

/// Loads eight bytes as eight 32-bit lanes.
CONTINUO_TARGET_AVX2 inline __m256i load(const std::uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

/// Returns murmur3's finaliser of eight keys.
CONTINUO_TARGET_AVX2 inline __m256i mix8(__m256i h) {
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<std::int32_t>(0x85ebca6bU)));
  h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
  h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<std::int32_t>(0xc2b2ae35U)));
  return _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
}

/// Hashes eight keys and appends those selected by `mask` to `buffer` as bin | sign << 31, where bin is
/// (h × bins) >> 32 and the sign is h's low bit, as the portable kernel adds them. Returns how many.
CONTINUO_TARGET_AVX2 inline std::uint32_t append(__m256i key, __m256i mask, __m256i bins, std::uint32_t* buffer) {
  const __m256i h = mix8(key);
  // The high halves of the 64-bit products h × bins: even lanes from one multiply, odd from another.
  const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(h, bins), 32);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(h, 32), bins);
  const __m256i bin = _mm256_blend_epi32(even, odd, 0xAA);
  const __m256i entry = _mm256_or_si256(bin, _mm256_slli_epi32(h, 31));
  const auto selected = static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(mask)));
  const __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(pack_lanes[selected])));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(buffer), _mm256_permutevar8x32_epi32(entry, lanes));
  return static_cast<std::uint32_t>(__builtin_popcount(selected));
}

/// The triple loop eight first events at a time: for each pair of distances (to the second event, then
/// to the third) the ratio bins of eight triples are one vector, computed as bin_ratio does but in
/// float, which is exact here (see the comments), and their four keys (melody and bass, each in its bin
/// and in the probe's neighbouring bin) four vectors whose lanes are kept or dropped by masks: no
/// branch on the data, as in the portable kernel.
template <bool invariant>
CONTINUO_TARGET_AVX2 void count_triples_avx2(const triple_columns& c, std::size_t events, float probe_from,
                                             std::span<float> out) {
  const std::size_t fan = c.fan;
  constexpr std::size_t capacity = 2048;
  constexpr std::size_t per_step = 32;  // four vectors of eight keys between checks of the count
  std::vector<std::uint32_t> buffer(capacity + per_step);
  std::uint32_t count = 0;
  const auto flush = [&] {
    for (std::uint32_t m = 0; m < count; ++m) {
      const std::uint32_t e = buffer[m];
      // ±1.0F: the sign bit of the entry over the bits of 1.0F.
      out[e & 0x7fffffffU] += std::bit_cast<float>((e & 0x80000000U) | 0x3f800000U);
    }
    count = 0;
  };
  const __m256i bins = _mm256_set1_epi32(static_cast<std::int32_t>(out.size()));
  const __m256 limit = _mm256_set1_ps(max_ratio_bin + 0.5F);
  const __m256 half = _mm256_set1_ps(0.5F);
  const __m256 top = _mm256_set1_ps(static_cast<float>(max_ratio_bin));
  const __m256 from = _mm256_set1_ps(probe_from);
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i below = _mm256_set1_epi32(-max_ratio_bin - 1);
  const __m256i above = _mm256_set1_epi32(max_ratio_bin + 1);
  const __m256i bias = _mm256_set1_epi32(max_ratio_bin);
  for (std::size_t i = 0; i < events; i += 8) {
    const __m256i reach_i = load(&c.reach[i]);
    const __m256i high_i = load(&c.high[i]);
    const __m256i low_i = load(&c.low[i]);
    const __m256i chord_i = load(&c.chord[i]);
    for (std::size_t dj = 1; dj <= fan; ++dj) {
      // The reach of an event covers its nearest events first: once no lane reaches dj, none reaches more.
      const __m256i valid_j = _mm256_cmpgt_epi32(reach_i, _mm256_set1_epi32(static_cast<std::int32_t>(dj - 1)));
      if (_mm256_testz_si256(valid_j, valid_j) != 0) break;
      const std::size_t j = i + dj;
      const __m256 gap1 = _mm256_loadu_ps(&c.scaled_log2[(dj - 1) * c.stride + i]);
      const __m256i reach_j = load(&c.reach[j]);
      const __m256i high_j = load(&c.high[j]);
      const __m256i low_j = load(&c.low[j]);
      const __m256i chord_j = _mm256_or_si256(chord_i, load(&c.chord[j]));
      for (std::size_t dk = 1; dk <= fan; ++dk) {
        const __m256i valid = _mm256_and_si256(
            valid_j, _mm256_cmpgt_epi32(reach_j, _mm256_set1_epi32(static_cast<std::int32_t>(dk - 1))));
        if (_mm256_testz_si256(valid, valid) != 0) break;
        const std::size_t k = j + dk;
        // bin_ratio in float. The ratio is a difference of floats, so bin_ratio's double holds a float;
        // clamped to ±7.5 it is x, and floor(x + 0.5) is the nearest integer r of x (exact) plus one when
        // x − r is exactly +0.5 (x − r is exact: |x − r| ≤ 0.5 and r is a multiple of x's ulp). The offset
        // scaled − bin is exact as well wherever |offset| < 0.5, the only place its value matters.
        const __m256 scaled = _mm256_sub_ps(gap1, _mm256_loadu_ps(&c.scaled_log2[(dk - 1) * c.stride + j]));
        const __m256 x = _mm256_min_ps(_mm256_max_ps(scaled, _mm256_sub_ps(_mm256_setzero_ps(), limit)), limit);
        const __m256 r = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 tie = _mm256_cmp_ps(_mm256_sub_ps(x, r), half, _CMP_EQ_OQ);
        const __m256 bin_f = _mm256_min_ps(_mm256_add_ps(r, _mm256_and_ps(tie, _mm256_set1_ps(1.0F))), top);
        const __m256 offset = _mm256_sub_ps(scaled, bin_f);
        const __m256 distance = _mm256_and_ps(offset, magnitude);
        const __m256i bin = _mm256_cvttps_epi32(bin_f);
        // bin + 1 when the offset is positive, else bin − 1: bin − (mask | 1), the mask being 0 or −1.
        const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(offset, _mm256_setzero_ps(), _CMP_GT_OQ));
        const __m256i neighbour = _mm256_sub_epi32(bin, _mm256_or_si256(up, one));
        const __m256i probe = _mm256_and_si256(
            _mm256_castps_si256(
                _mm256_and_ps(_mm256_cmp_ps(distance, half, _CMP_LT_OQ), _mm256_cmp_ps(distance, from, _CMP_GE_OQ))),
            _mm256_and_si256(_mm256_cmpgt_epi32(neighbour, below), _mm256_cmpgt_epi32(above, neighbour)));
        // triple_hash, eight at a time.
        const __m256i high_k = load(&c.high[k]);
        const __m256i low_k = load(&c.low[k]);
        __m256i melody;
        __m256i bass;
        if constexpr (invariant) {
          const __m256i base = _mm256_set1_epi32(127);
          const __m256i flag = _mm256_set1_epi32(static_cast<std::int32_t>(1U << 25U));
          melody = _mm256_or_si256(
              _mm256_or_si256(_mm256_add_epi32(_mm256_sub_epi32(high_j, high_i), base),
                              _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(high_k, high_j), base), 8)),
              flag);
          bass = _mm256_or_si256(
              _mm256_or_si256(_mm256_add_epi32(_mm256_sub_epi32(low_j, low_i), base),
                              _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(low_k, low_j), base), 8)),
              flag);
        } else {
          melody = _mm256_or_si256(_mm256_or_si256(high_i, _mm256_slli_epi32(high_j, 7)),
                                   _mm256_slli_epi32(high_k, 14));
          bass = _mm256_or_si256(_mm256_or_si256(low_i, _mm256_slli_epi32(low_j, 7)), _mm256_slli_epi32(low_k, 14));
        }
        melody = _mm256_slli_epi32(melody, 5);
        bass = _mm256_or_si256(_mm256_slli_epi32(bass, 5), _mm256_set1_epi32(1 << 4));
        const __m256i bin_key = _mm256_add_epi32(bin, bias);
        const __m256i neighbour_key = _mm256_add_epi32(neighbour, bias);
        // A line of single notes has one pitch per event: the bass line would repeat the melody's hash.
        const __m256i has_bass = _mm256_and_si256(valid, _mm256_or_si256(chord_j, load(&c.chord[k])));
        count += append(_mm256_or_si256(melody, bin_key), valid, bins, &buffer[count]);
        count += append(_mm256_or_si256(melody, neighbour_key), _mm256_and_si256(valid, probe), bins, &buffer[count]);
        count += append(_mm256_or_si256(bass, bin_key), has_bass, bins, &buffer[count]);
        count += append(_mm256_or_si256(bass, neighbour_key), _mm256_and_si256(has_bass, probe), bins, &buffer[count]);
        if (count >= capacity) flush();
      }
    }
  }
  flush();
}

#endif

/// Returns the kernel `best` stands for on this CPU.
triple_kernel best_kernel() {
#ifdef CONTINUO_TRIPLES_AVX2
  static const triple_kernel best = [] {
    const char* forced = std::getenv("CONTINUO_EMBED_KERNEL");  // NOLINT(concurrency-mt-unsafe): read once
    const std::string_view cap = forced != nullptr ? forced : "";
    if (cap == "portable" || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("popcnt")) {
      return triple_kernel::portable;
    }
    return triple_kernel::avx2;
  }();
  return best;
#else
  return triple_kernel::portable;
#endif
}

}  // namespace

bool has_triple_kernel(triple_kernel kernel) noexcept {
  if (kernel != triple_kernel::avx2) return true;
#ifdef CONTINUO_TRIPLES_AVX2
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#else
  return false;
#endif
}

void count_triples(std::span<const onset_event> events, const fingerprint_options& options, std::span<float> out,
                   triple_kernel kernel) {
  if (out.empty() || events.size() < 3) return;
  if (kernel == triple_kernel::best) kernel = best_kernel();
#ifdef CONTINUO_TRIPLES_AVX2
  if (kernel == triple_kernel::avx2 && has_triple_kernel(kernel) && out.size() < (std::size_t{1} << 31U)) {
    const triple_columns columns = columns_of(events, options);
    if (columns.stride > 0) {
      const float probe_from = probe_threshold(options.edge_probe);
      if (options.transposition_invariant) {
        count_triples_avx2<true>(columns, events.size(), probe_from, out);
      } else {
        count_triples_avx2<false>(columns, events.size(), probe_from, out);
      }
      return;
    }
  }
#endif
  if (options.transposition_invariant) {
    count_triples_portable<true>(events, options, out);
  } else {
    count_triples_portable<false>(events, options, out);
  }
}

}  // namespace continuo::detail

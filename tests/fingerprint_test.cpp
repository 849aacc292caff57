// Note-triple fingerprints on onset lists built in code.

#include <continuo/fingerprint.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using continuo::fingerprint_options;

struct line {
  std::vector<double> onset_s;
  std::vector<std::uint8_t> pitch;
};

/// A melody with uneven rhythm: gaps 0.5, 0.25, 0.25, 1.0, 0.5, ... starting at `start_s`.
line melody(double tempo_factor = 1.0, int transpose = 0, double start_s = 0.0) {
  const std::vector<double> gaps{0.5, 0.25, 0.25, 1.0, 0.5, 0.5, 0.75, 0.25, 0.5, 1.0};
  const std::vector<int> pitches{60, 62, 64, 65, 67, 69, 67, 65, 64, 62, 60};
  line out;
  double t = start_s;
  for (std::size_t i = 0; i < pitches.size(); ++i) {
    out.onset_s.push_back(t);
    out.pitch.push_back(static_cast<std::uint8_t>(pitches[i] + transpose));
    if (i < gaps.size()) t += gaps[i] * tempo_factor;
  }
  return out;
}

std::vector<std::uint32_t> hashes(const line& l, const fingerprint_options& options = {}) {
  const auto events = continuo::onset_events(l.onset_s, l.pitch, options.merge_window_s);
  std::vector<std::uint32_t> out;
  for (const auto& f : continuo::fingerprints(events, options)) out.push_back(f.hash);
  return out;
}

TEST(fingerprint, merges_a_rolled_chord_into_one_event) {
  const std::vector<double> onset{0.0, 0.01, 0.03, 0.5, 0.52};
  const std::vector<std::uint8_t> pitch{48, 64, 55, 60, 40};
  const auto events = continuo::onset_events(onset, pitch);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0], (continuo::onset_event{0.0, 0, 3, 48, 64}));
  EXPECT_EQ(events[1], (continuo::onset_event{0.5, 3, 2, 40, 60}));
}

TEST(fingerprint, forms_fan_out_squared_triples_per_event_of_a_melody) {
  const auto l = melody();
  const auto prints = continuo::fingerprints(continuo::onset_events(l.onset_s, l.pitch), {.fan_out = 2});
  // 11 single-note events: event i has min(2, 10 - i) partners j and for each min(2, 10 - j) partners k.
  std::size_t expected = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = i + 1; j <= std::min(i + 2, 10); ++j) expected += static_cast<std::size_t>(std::min(2, 10 - j));
  EXPECT_EQ(prints.size(), expected);
  for (const auto& f : prints) EXPECT_GT(f.span_s, 0.0F);
}

TEST(fingerprint, hashes_do_not_change_with_tempo_but_spans_do) {
  const auto slow = continuo::fingerprints(continuo::onset_events(melody(1.3).onset_s, melody(1.3).pitch));
  const auto fast = continuo::fingerprints(continuo::onset_events(melody(0.7).onset_s, melody(0.7).pitch));
  ASSERT_EQ(slow.size(), fast.size());
  for (std::size_t i = 0; i < slow.size(); ++i) {
    EXPECT_EQ(slow[i].hash, fast[i].hash);
    EXPECT_NEAR(slow[i].span_s / fast[i].span_s, 1.3 / 0.7, 1e-5);
  }
}

TEST(fingerprint, transposed_copy_matches_only_in_the_invariant_mode) {
  const fingerprint_options invariant{.transposition_invariant = true};
  EXPECT_EQ(hashes(melody(1.0, 30), invariant), hashes(melody(), invariant));
  const auto plain = hashes(melody());
  auto transposed = hashes(melody(1.0, 30));  // no pitch in common with the original
  std::sort(transposed.begin(), transposed.end());
  for (const auto h : plain) EXPECT_FALSE(std::binary_search(transposed.begin(), transposed.end(), h));
  // The two kinds of hash never collide.
  auto inv = hashes(melody(), invariant);
  std::sort(inv.begin(), inv.end());
  for (const auto h : plain) EXPECT_FALSE(std::binary_search(inv.begin(), inv.end(), h));
}

TEST(fingerprint, long_pauses_break_triples) {
  line l = melody();
  for (auto& t : l.onset_s) t += t > 2.0 ? 10.0 : 0.0;  // a 10 s pause in the middle
  for (const auto& f : continuo::fingerprints(continuo::onset_events(l.onset_s, l.pitch))) {
    EXPECT_LE(f.span_s, 2 * 3.0F);
    EXPECT_FALSE(f.onset_s < 2.0F && f.onset_s + f.span_s > 12.0F);
  }
}

TEST(fingerprint, edge_probes_add_the_neighbouring_bin_near_an_edge) {
  // gap ratio 2^0.24: 0.48 bins, just under the edge between bins 0 and 1.
  const std::vector<double> onset{0.0, 1.0, 1.0 + std::pow(2.0, -0.24)};
  const std::vector<std::uint8_t> pitch{60, 62, 64};
  const auto events = continuo::onset_events(onset, pitch);
  EXPECT_EQ(continuo::fingerprints(events).size(), 1U);
  const auto probed = continuo::fingerprints(events, {.edge_probe = 0.1});
  ASSERT_EQ(probed.size(), 2U);
  EXPECT_NE(probed[0].hash, probed[1].hash);
}

TEST(fingerprint, note_range_overload_uses_only_that_range) {
  const auto l = melody();
  continuo::note_columns notes;
  notes.onset_s = l.onset_s;
  notes.pitch = l.pitch;
  EXPECT_TRUE(continuo::fingerprints(notes, 5, 5).empty());
  EXPECT_TRUE(continuo::fingerprints(notes, 9, 100).empty());  // two notes: no triple
  EXPECT_EQ(continuo::fingerprints(notes, 0, 100), continuo::fingerprints(continuo::onset_events(l.onset_s, l.pitch)));
}

}  // namespace

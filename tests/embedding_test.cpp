// Embeddings of notes built in code: determinism, norm, tempo robustness, transposition, windows.

#include <continuo/diagnostic.hpp>
#include <continuo/embedding.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace {

using continuo::embedding_options;

struct notes {
  std::vector<double> onset_s;
  std::vector<std::uint8_t> pitch;
};

/// A two-hand piece of `bars` bars drawn from `seed`: a melody of uneven rhythm over a bass on the beats.
notes piece(unsigned seed, int bars = 16, double tempo_factor = 1.0, int transpose = 0) {
  std::mt19937 rng(seed);
  const std::vector<double> durations{0.25, 0.5, 0.5, 0.75, 1.0};
  notes out;
  std::vector<std::pair<double, int>> all;
  double t = 0;
  int melody = 72;
  while (t < bars * 4.0) {
    melody = std::clamp(melody + static_cast<int>(rng() % 7) - 3, 60, 88);
    all.emplace_back(t, melody);
    t += durations[rng() % durations.size()];
  }
  for (int beat = 0; beat < bars * 4; ++beat) all.emplace_back(beat, 36 + static_cast<int>(rng() % 12));
  std::sort(all.begin(), all.end());
  for (const auto& [beat, p] : all) {
    out.onset_s.push_back(beat * 0.5 * tempo_factor);
    out.pitch.push_back(static_cast<std::uint8_t>(p + transpose));
  }
  return out;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

std::vector<float> embed(const notes& n, const embedding_options& o = {}) {
  return continuo::embed(n.onset_s, n.pitch, o);
}

TEST(embedding, is_deterministic_and_of_unit_norm) {
  const auto n = piece(1);
  const auto a = embed(n);
  const auto b = embed(n);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), continuo::embedding_dimension());
  EXPECT_EQ(a.size(), 1024U);
  EXPECT_NEAR(cosine(a, a), 1.0, 1e-5);
}

TEST(embedding, of_no_notes_is_all_zeros) {
  const auto v = continuo::embed(std::vector<double>{}, std::vector<std::uint8_t>{});
  EXPECT_EQ(v.size(), continuo::embedding_dimension());
  for (const float x : v) EXPECT_EQ(x, 0.0F);
}

TEST(embedding, of_degenerate_inputs_is_finite) {
  const std::vector<double> one{1.0};
  const std::vector<std::uint8_t> one_pitch{60};
  const std::vector<double> chord(50, 2.0);
  std::vector<std::uint8_t> chord_pitch(50);
  std::iota(chord_pitch.begin(), chord_pitch.end(), std::uint8_t{30});
  for (const auto& v : {continuo::embed(one, one_pitch), continuo::embed(chord, chord_pitch)}) {
    EXPECT_NEAR(cosine(v, v), 1.0, 1e-5);
    for (const float x : v) EXPECT_TRUE(std::isfinite(x));
  }
}

TEST(embedding, of_a_tempo_stretched_copy_is_close_and_of_another_piece_far) {
  const auto base = embed(piece(1));
  const auto slower = embed(piece(1, 16, 1.3));
  const auto faster = embed(piece(1, 16, 0.7));
  const auto other = embed(piece(2));
  EXPECT_GT(cosine(base, slower), 0.99);
  EXPECT_GT(cosine(base, faster), 0.99);
  EXPECT_LT(cosine(base, other), 0.5);
}

TEST(embedding, survives_wrong_and_missing_notes_and_jitter) {
  auto n = piece(1);
  std::mt19937 rng(7);
  std::normal_distribution<double> jitter(0.0, 0.01);
  notes noisy;
  for (std::size_t i = 0; i < n.onset_s.size(); ++i) {
    if (i % 17 == 3) continue;  // missing
    noisy.onset_s.push_back(n.onset_s[i] + jitter(rng));
    noisy.pitch.push_back(static_cast<std::uint8_t>(n.pitch[i] + (i % 19 == 5 ? 1 : 0)));  // wrong
  }
  std::vector<std::size_t> order(noisy.onset_s.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return noisy.onset_s[a] < noisy.onset_s[b]; });
  notes sorted;
  for (const auto k : order) {
    sorted.onset_s.push_back(noisy.onset_s[k]);
    sorted.pitch.push_back(noisy.pitch[k]);
  }
  const auto base = embed(n);
  EXPECT_GT(cosine(base, embed(sorted)), 0.5);
  EXPECT_GT(cosine(base, embed(sorted)), cosine(base, embed(piece(2))) + 0.3);
}

TEST(embedding, matches_a_transposed_copy_only_in_the_invariant_mode) {
  const auto n = piece(3);
  const auto up = piece(3, 16, 1.0, 5);
  embedding_options invariant;
  invariant.transposition_invariant = true;
  EXPECT_GT(cosine(embed(n, invariant), embed(up, invariant)), 0.95);
  EXPECT_LT(cosine(embed(n), embed(up)), 0.5);
  EXPECT_LT(cosine(embed(n, invariant), embed(piece(4), invariant)), 0.6);
}

TEST(embedding, windows_cover_the_notes_and_equal_embed_of_their_range) {
  const auto n = piece(5, 64);
  const auto w = continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 10, .hop_s = 2.5});
  ASSERT_GT(w.windows.size(), 10U);
  EXPECT_EQ(w.vectors.size(), w.windows.size() * w.dimension);
  EXPECT_EQ(w.windows.front().first_note, 0U);
  EXPECT_EQ(w.windows.back().last_note, n.pitch.size());
  for (std::size_t i = 0; i < w.windows.size(); ++i) {
    const auto& s = w.windows[i];
    if (i > 0) {
      EXPECT_LE(s.first_note, w.windows[i - 1].last_note);  // no note left between windows
    }
    EXPECT_LE(s.end_s - s.start_s, 10.0);
    const auto expected = continuo::embed(std::span(n.onset_s).subspan(s.first_note, s.last_note - s.first_note),
                                          std::span(n.pitch).subspan(s.first_note, s.last_note - s.first_note));
    const std::vector<float> row(w.vectors.begin() + static_cast<std::ptrdiff_t>(i * w.dimension),
                                 w.vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * w.dimension));
    EXPECT_EQ(row, expected);
  }
}

TEST(embedding, windows_in_onset_events_follow_the_music_at_any_tempo) {
  const auto n = piece(6, 32);
  const auto slow = piece(6, 32, 1.3);
  const auto a = continuo::embed_windows(n.onset_s, n.pitch, {.length_events = 40, .hop_events = 10});
  const auto b = continuo::embed_windows(slow.onset_s, slow.pitch, {.length_events = 40, .hop_events = 10});
  ASSERT_EQ(a.windows.size(), b.windows.size());
  for (std::size_t i = 0; i < a.windows.size(); ++i) EXPECT_EQ(a.windows[i].first_note, b.windows[i].first_note);
}

TEST(embedding, windows_are_identical_from_one_and_two_threads) {
  const auto n = piece(7, 64);
  const auto one = continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 8, .hop_s = 2, .threads = 1});
  const auto two = continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 8, .hop_s = 2, .threads = 2});
  EXPECT_EQ(one, two);
}

TEST(embedding, windows_of_a_day_with_long_silences_do_not_step_through_them) {
  // 24 hours: a note every 0.25 s for a minute each hour, and one note at the very end.
  notes n;
  for (int hour = 0; hour < 24; ++hour) {
    for (int k = 0; k < 240; ++k) {
      n.onset_s.push_back(hour * 3600.0 + k * 0.25);
      n.pitch.push_back(static_cast<std::uint8_t>(48 + (k * 7) % 36));
    }
  }
  n.onset_s.push_back(86'400.0);
  n.pitch.push_back(60);
  const auto w = continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 30, .hop_s = 0.01});
  EXPECT_EQ(w.windows.back().last_note, n.pitch.size());
  EXPECT_LT(w.windows.size(), 24U * 9'000U);
}

TEST(embedding, windows_reject_a_hop_that_is_not_positive) {
  const auto n = piece(1);
  EXPECT_THROW((void)continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 10, .hop_s = 0}), continuo::error);
  EXPECT_THROW((void)continuo::embed_windows(n.onset_s, n.pitch, {.length_s = -1, .hop_s = 1}), continuo::error);
  const auto none = continuo::embed_windows(std::vector<double>{}, std::vector<std::uint8_t>{});
  EXPECT_TRUE(none.windows.empty());
  // Hop by hop, a hop of 1e-9 s over a 10 s window is ten billion steps a window: refused.
  EXPECT_THROW((void)continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 10, .hop_s = 1e-9}), continuo::error);
  EXPECT_NO_THROW((void)continuo::embed_windows(n.onset_s, n.pitch, {.length_s = 10, .hop_s = 1e-5}));
}

TEST(embedding, refuses_weights_and_pitches_that_give_no_vector) {
  const auto n = piece(1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const float bad : {nan, std::numeric_limits<float>::infinity(), -1.0F}) {
    EXPECT_THROW((void)continuo::embed(n.onset_s, n.pitch, {.pitch_weight = bad}), continuo::error);
    EXPECT_THROW((void)continuo::embed_windows(n.onset_s, n.pitch, {}, {.rhythm_weight = bad}), continuo::error);
  }
  EXPECT_THROW((void)continuo::embed(n.onset_s, n.pitch, {.triple_dimension = std::size_t{1} << 21U}), continuo::error);
  auto high = n.pitch;
  high[3] = 128;
  EXPECT_THROW((void)continuo::embed(n.onset_s, high, {}), continuo::error);
  const auto zero_weights = continuo::embed(n.onset_s, n.pitch,
                                            {.triple_weight = 0, .pitch_weight = 0, .rhythm_weight = 0});
  for (const float x : zero_weights) EXPECT_TRUE(std::isfinite(x));
}

}  // namespace

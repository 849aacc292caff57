// The similarity index against brute force, its filters, its file format and its thread-safety.

#include <continuo/index.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using continuo::diagnostic_id;
using continuo::search_filter;
using continuo::search_hit;
using continuo::vector_index;
using continuo::vector_metadata;
using continuo::vector_storage;

/// Returns `count` rows of `dimension` standard normal values (not normalised: the index does it).
std::vector<float> random_rows(std::size_t count, std::size_t dimension, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> rows(count * dimension);
  for (float& v : rows) v = normal(rng);
  return rows;
}

std::span<const float> row(const std::vector<float>& rows, std::size_t dimension, std::size_t i) {
  return std::span<const float>(rows).subspan(i * dimension, dimension);
}

/// Builds an index of `count` random vectors with ids 1000 + i, group i % 7 and time i seconds.
vector_index make_index(std::size_t count, std::size_t dimension, vector_storage storage, std::uint32_t seed,
                        std::vector<float>* rows_out = nullptr) {
  const auto rows = random_rows(count, dimension, seed);
  vector_index index({.dimension = dimension, .storage = storage});
  for (std::size_t i = 0; i < count; ++i) {
    index.add(1000 + i, row(rows, dimension, i),
              {.group = static_cast<std::int64_t>(i % 7),
               .unix_time_ns = static_cast<std::int64_t>(i) * 1'000'000'000});
  }
  if (rows_out != nullptr) *rows_out = rows;
  return index;
}

/// The exact answer, in double precision: cosine of every row that passes `keep`, best first.
template <class Keep>
std::vector<search_hit> brute_force(const std::vector<float>& rows, std::size_t dimension, std::span<const float> query,
                                    std::size_t k, Keep keep) {
  std::vector<std::pair<double, std::uint64_t>> all;
  double qn = 0;
  for (const float v : query) qn += static_cast<double>(v) * v;
  for (std::size_t i = 0; i < rows.size() / dimension; ++i) {
    if (!keep(i)) continue;
    double dot = 0;
    double rn = 0;
    for (std::size_t d = 0; d < dimension; ++d) {
      dot += static_cast<double>(query[d]) * rows[i * dimension + d];
      rn += static_cast<double>(rows[i * dimension + d]) * rows[i * dimension + d];
    }
    all.emplace_back(dot / std::sqrt(qn * rn), 1000 + i);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  all.resize(std::min(k, all.size()));
  std::vector<search_hit> out;
  for (const auto& [score, id] : all) out.push_back({id, static_cast<float>(score)});
  return out;
}

std::vector<std::uint64_t> ids_of(const std::vector<search_hit>& hits) {
  std::vector<std::uint64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

/// Expects `hits` to be the brute-force answer: same ids where scores are not within rounding of
/// a tie, scores within float rounding, best first.
void expect_exact(const std::vector<search_hit>& hits, const std::vector<search_hit>& expected) {
  ASSERT_EQ(hits.size(), expected.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    EXPECT_NEAR(hits[i].score, expected[i].score, 1e-5) << "rank " << i;
    if (i + 1 < expected.size() && std::abs(expected[i].score - expected[i + 1].score) > 1e-5 &&
        (i == 0 || std::abs(expected[i - 1].score - expected[i].score) > 1e-5)) {
      EXPECT_EQ(hits[i].id, expected[i].id) << "rank " << i;
    }
    if (i > 0) {
      EXPECT_TRUE(hits[i - 1].score > hits[i].score ||
                  (hits[i - 1].score == hits[i].score && hits[i - 1].id < hits[i].id));
    }
  }
}

std::vector<std::uint8_t> le64(std::uint64_t v) {
  std::vector<std::uint8_t> out;
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
  return out;
}

/// Runs `f`, expecting a continuo::error with `id`; returns its byte offset.
template <class F>
std::uint64_t expect_error(F&& f, diagnostic_id id) {
  try {
    f();
  } catch (const continuo::error& e) {
    EXPECT_EQ(continuo::name(e.where().id), continuo::name(id)) << e.what();
    return e.where().offset;
  }
  ADD_FAILURE() << "no error, expected " << continuo::name(id);
  return 0;
}

class index_storage : public ::testing::TestWithParam<vector_storage> {};
INSTANTIATE_TEST_SUITE_P(index, index_storage, ::testing::Values(vector_storage::float32, vector_storage::int8),
                         [](const auto& param_info) { return std::string(continuo::name(param_info.param)); });

TEST(index, finds_the_exact_top_k_of_brute_force) {
  for (const std::size_t dimension : {1U, 3U, 8U, 37U, 64U}) {
    std::vector<float> rows;
    const auto index = make_index(500, dimension, vector_storage::float32, 7, &rows);
    const auto queries = random_rows(20, dimension, 8);
    for (std::size_t q = 0; q < 20; ++q) {
      const auto query = row(queries, dimension, q);
      expect_exact(index.search(query, 10), brute_force(rows, dimension, query, 10, [](std::size_t) { return true; }));
    }
  }
}

TEST(index, finds_a_stored_vector_first_with_score_one) {
  std::vector<float> rows;
  const auto index = make_index(300, 48, vector_storage::float32, 3, &rows);
  const auto hits = index.search(row(rows, 48, 123), 1);
  ASSERT_EQ(hits.size(), 1U);
  EXPECT_EQ(hits[0].id, 1123U);
  EXPECT_NEAR(hits[0].score, 1.0F, 1e-6);
}

TEST(index, returns_every_vector_when_k_exceeds_the_size) {
  std::vector<float> rows;
  const auto index = make_index(5, 16, vector_storage::float32, 1, &rows);
  const auto query = row(rows, 16, 0);
  EXPECT_EQ(index.search(query, 100).size(), 5U);
  EXPECT_EQ(index.search(query, std::numeric_limits<std::size_t>::max()).size(), 5U);
  EXPECT_TRUE(index.search(query, 0).empty());
  const vector_index empty({.dimension = 16});
  EXPECT_TRUE(empty.search(query, 10).empty());
}

TEST(index, breaks_ties_by_id_whatever_the_storage_order) {
  vector_index index({.dimension = 4});
  const std::vector<float> v{1, 2, 3, 4};
  for (const std::uint64_t id : {9U, 3U, 7U, 1U, 5U}) index.add(id, v);
  EXPECT_EQ(ids_of(index.search(v, 3)), (std::vector<std::uint64_t>{1, 3, 5}));
  index.remove(3);
  EXPECT_EQ(ids_of(index.search(v, 3)), (std::vector<std::uint64_t>{1, 5, 7}));
}

TEST(index, filters_by_group_set_and_time_range) {
  std::vector<float> rows;
  const std::size_t dimension = 24;
  const auto index = make_index(400, dimension, vector_storage::float32, 11, &rows);
  const auto query = random_rows(1, dimension, 12);
  const std::int64_t s = 1'000'000'000;
  struct scenario {
    search_filter filter;
    std::function<bool(std::size_t)> keep;
  };
  const std::vector<scenario> scenarios{
      {{.group = 3}, [](std::size_t i) { return i % 7 == 3; }},
      {{.groups = std::vector<std::int64_t>{5, 1}}, [](std::size_t i) { return i % 7 == 1 || i % 7 == 5; }},
      {{.groups = std::vector<std::int64_t>{}}, [](std::size_t) { return false; }},
      {{.unix_time_from_ns = 100 * s, .unix_time_to_ns = 150 * s}, [](std::size_t i) { return i >= 100 && i < 150; }},
      {{.unix_time_to_ns = 10 * s}, [](std::size_t i) { return i < 10; }},
      {{.group = 2, .groups = std::vector<std::int64_t>{2, 4}, .unix_time_from_ns = 200 * s},
       [](std::size_t i) { return i % 7 == 2 && i >= 200; }},
      {{.group = 99}, [](std::size_t) { return false; }},
  };
  for (const auto& [filter, keep] : scenarios) {
    const auto expected = brute_force(rows, dimension, query, 10, keep);
    expect_exact(index.search(query, 10, filter), expected);
    expect_exact(index.search_batch(query, 10, filter).front(), expected);
    for (const auto& hit : index.search(query, 1000, filter)) EXPECT_TRUE(keep(hit.id - 1000));
  }
}

TEST_P(index_storage, adds_removes_and_replaces) {
  vector_index index({.dimension = 8, .storage = GetParam()});
  const std::vector<float> a{1, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<float> b{0, 1, 0, 0, 0, 0, 0, 0};
  const std::vector<float> c{0, 0, 1, 0, 0, 0, 0, 0};
  index.add(1, a, {.group = 10});
  index.add(2, b);
  index.add(3, c);
  EXPECT_EQ(index.size(), 3U);
  EXPECT_TRUE(index.contains(2));
  EXPECT_EQ(index.dimension(), 8U);
  EXPECT_EQ(index.metadata(1), (vector_metadata{.group = 10}));
  EXPECT_EQ(index.vector(1), a);
  EXPECT_FALSE(index.vector(9).has_value());

  index.add(1, c, {.group = 11});  // replaces: still three vectors, 1 now points along c
  EXPECT_EQ(index.size(), 3U);
  EXPECT_EQ(index.metadata(1), (vector_metadata{.group = 11}));
  EXPECT_EQ(ids_of(index.search(c, 2)), (std::vector<std::uint64_t>{1, 3}));

  EXPECT_TRUE(index.remove(1));  // the middle of storage order: the last vector moves
  EXPECT_FALSE(index.remove(1));
  EXPECT_FALSE(index.contains(1));
  EXPECT_EQ(index.size(), 2U);
  EXPECT_EQ(index.search(c, 1).front().id, 3U);
  EXPECT_EQ(index.search(b, 1).front().id, 2U);
  EXPECT_FALSE(index.metadata(1).has_value());
  index.clear();
  EXPECT_TRUE(index.empty());
  EXPECT_FALSE(index.contains(2));
}

TEST(index, keeps_every_id_reachable_through_many_removals) {
  // Churn the id table (backward-shift deletion) and compare against a std::set.
  vector_index index({.dimension = 2});
  std::set<std::uint64_t> expected;
  std::mt19937_64 rng(5);
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t id = rng() % 3000;
    if (rng() % 3 == 0) {
      EXPECT_EQ(index.remove(id), expected.erase(id) == 1);
    } else {
      index.add(id, std::vector<float>{1.0F, static_cast<float>(id)});
      expected.insert(id);
    }
  }
  ASSERT_EQ(index.size(), expected.size());
  for (std::uint64_t id = 0; id < 3000; ++id) EXPECT_EQ(index.contains(id), expected.contains(id)) << id;
  const std::set<std::uint64_t> stored(index.ids().begin(), index.ids().end());
  EXPECT_EQ(stored, expected);
}

TEST(index, rejects_bad_vectors_with_their_position) {
  vector_index index({.dimension = 4});
  const std::vector<float> nan_at_2{1, 0, std::numeric_limits<float>::quiet_NaN(), 0};
  EXPECT_EQ(expect_error([&] { index.add(1, nan_at_2); }, diagnostic_id::index_value_not_finite), 2U);
  const std::vector<float> inf_at_3{1, 0, 0, std::numeric_limits<float>::infinity()};
  EXPECT_EQ(expect_error([&] { index.add(1, inf_at_3); }, diagnostic_id::index_value_not_finite), 3U);
  expect_error([&] { index.add(1, std::vector<float>{0, 0, 0, 0}); }, diagnostic_id::index_zero_vector);
  expect_error([&] { index.add(1, std::vector<float>{1, 2, 3}); }, diagnostic_id::index_dimension_mismatch);
  EXPECT_TRUE(index.empty());  // nothing half-added
  const std::vector<float> batch{1, 0, 0, 0, 0, 1, std::numeric_limits<float>::quiet_NaN(), 0};
  EXPECT_EQ(expect_error([&] { (void)index.search_batch(batch, 1); }, diagnostic_id::index_value_not_finite), 6U);
  expect_error([&] { (void)index.search_batch(std::vector<float>(7, 1.0F), 1); },
               diagnostic_id::index_dimension_mismatch);
  expect_error([&] { (void)index.search(std::vector<float>(8, 1.0F), 1); }, diagnostic_id::index_dimension_mismatch);
  expect_error([] { vector_index bad({.dimension = 0}); }, diagnostic_id::index_dimension_invalid);
  expect_error([] { vector_index bad({.dimension = 65'537}); }, diagnostic_id::index_dimension_invalid);
}

TEST(index, int8_keeps_recall_at_10_of_float32) {
  const std::size_t dimension = 128;
  std::vector<float> rows;
  const auto exact = make_index(5000, dimension, vector_storage::float32, 21, &rows);
  vector_index compact({.dimension = dimension, .storage = vector_storage::int8});
  for (std::size_t i = 0; i < 5000; ++i) compact.add(1000 + i, row(rows, dimension, i));
  // Queries near stored vectors, as real lookups are: a noisy copy of a stored vector.
  auto queries = random_rows(100, dimension, 22);
  for (std::size_t q = 0; q < 100; ++q) {
    for (std::size_t d = 0; d < dimension; ++d)
      queries[q * dimension + d] = rows[q * 37 * dimension + d] + 0.5F * queries[q * dimension + d];
  }
  std::size_t found = 0;
  double worst = 0;
  for (std::size_t q = 0; q < 100; ++q) {
    const auto truth = exact.search(row(queries, dimension, q), 10);
    const auto approx = compact.search(row(queries, dimension, q), 10);
    const auto truth_list = ids_of(truth);
    const std::set<std::uint64_t> truth_ids(truth_list.begin(), truth_list.end());
    for (const auto& h : approx) found += truth_ids.count(h.id);
    for (std::size_t i = 0; i < approx.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(approx[i].score - truth[i].score)));
  }
  const double recall = static_cast<double>(found) / 1000.0;
  EXPECT_GE(recall, 0.97);
  EXPECT_LT(worst, 5e-3);
  EXPECT_LT(compact.bytes_per_vector(), exact.bytes_per_vector() / 2.5);
}

TEST_P(index_storage, gives_batch_results_identical_to_single_queries) {
  for (const std::size_t dimension : {5U, 16U, 100U}) {
    const auto index = make_index(1037, dimension, GetParam(), 31);
    const auto queries = random_rows(11, dimension, 32);  // 11: two blocks of four and a remainder of three
    const search_filter filter{.groups = std::vector<std::int64_t>{0, 2, 3, 6}};
    for (const auto& f : {search_filter{}, filter}) {
      const auto batch = index.search_batch(queries, 15, f);
      ASSERT_EQ(batch.size(), 11U);
      for (std::size_t q = 0; q < 11; ++q) EXPECT_EQ(batch[q], index.search(row(queries, dimension, q), 15, f)) << q;
    }
  }
}

TEST_P(index_storage, gives_identical_results_from_one_and_two_threads) {
  const std::size_t dimension = 64;
  const auto index = make_index(3000, dimension, GetParam(), 41);
  const auto queries = random_rows(64, dimension, 42);
  std::vector<std::vector<search_hit>> alone;
  for (std::size_t q = 0; q < 64; ++q) alone.push_back(index.search(row(queries, dimension, q), 10));
  const auto batch_alone = index.search_batch(queries, 10);

  std::vector<std::vector<search_hit>> shared(64);
  std::vector<std::vector<std::vector<search_hit>>> batches(2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t q = t; q < 64; q += 2) shared[q] = index.search(row(queries, dimension, q), 10);
      batches[t] = index.search_batch(queries, 10);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared, alone);
  EXPECT_EQ(batches[0], batch_alone);
  EXPECT_EQ(batches[1], batch_alone);
  EXPECT_EQ(batch_alone, alone);
}

// ---- the file format ------------------------------------------------------------------------------

TEST_P(index_storage, round_trips_through_bytes_and_files) {
  auto index = make_index(57, 13, GetParam(), 51);
  index.remove(1010);  // storage order no longer follows ids
  const auto bytes = index.to_bytes();
  const auto back = vector_index::from_bytes(bytes);
  EXPECT_EQ(back, index);
  EXPECT_EQ(back.to_bytes(), bytes);
  EXPECT_EQ(back.metadata(1020), index.metadata(1020));
  const auto query = random_rows(1, 13, 52);
  EXPECT_EQ(back.search(query, 10), index.search(query, 10));

  const auto path = std::filesystem::path(::testing::TempDir()) /
                    ("index_round_trip_" + std::string(continuo::name(GetParam())) + "_" +
                     std::to_string(reinterpret_cast<std::uintptr_t>(&index)) + ".cntidx");
  index.save(path);
  EXPECT_EQ(std::filesystem::file_size(path), bytes.size());
  EXPECT_EQ(vector_index::load(path), index);
  std::filesystem::remove(path);
  expect_error([&] { (void)vector_index::load(path); }, diagnostic_id::index_io_failed);

  const vector_index empty({.dimension = 3, .storage = GetParam()});
  EXPECT_EQ(vector_index::from_bytes(empty.to_bytes()), empty);
}

TEST_P(index_storage, rejects_every_truncation) {
  const auto bytes = make_index(4, 5, GetParam(), 61).to_bytes();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::span<const std::uint8_t> head(bytes.data(), cut);
    const auto offset = expect_error([&] { (void)vector_index::from_bytes(head); }, diagnostic_id::index_truncated);
    EXPECT_EQ(offset, cut);
  }
}

TEST_P(index_storage, rejects_every_corrupted_byte) {
  // Any one byte changed is caught: by a field check, or else by the checksum.
  const auto bytes = make_index(4, 5, GetParam(), 62).to_bytes();
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (const std::uint8_t flip : std::array<std::uint8_t, 3>{0x01, 0x80, 0xFF}) {
      auto bad = bytes;
      bad[at] = static_cast<std::uint8_t>(bad[at] ^ flip);
      EXPECT_THROW((void)vector_index::from_bytes(bad), continuo::error) << "byte " << at;
    }
  }
}

TEST(index, names_the_field_of_a_bad_header) {
  auto bytes = make_index(3, 4, vector_storage::float32, 71).to_bytes();
  auto with = [&](std::size_t at, std::uint8_t value) {
    auto copy = bytes;
    copy[at] = value;
    return copy;
  };
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(with(0, 'X')); }, diagnostic_id::index_magic_invalid),
            0U);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(with(6, 2)); }, diagnostic_id::index_version_unsupported),
            6U);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(with(12, 7)); }, diagnostic_id::index_header_invalid),
            12U);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(with(14, 1)); }, diagnostic_id::index_header_invalid),
            14U);
  auto zero_dimension = bytes;
  std::fill(zero_dimension.begin() + 8, zero_dimension.begin() + 12, 0);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(zero_dimension); }, diagnostic_id::index_header_invalid),
            8U);
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(longer); }, diagnostic_id::index_trailing_bytes),
            bytes.size());
  const std::vector<std::uint8_t> midi{'M', 'T', 'h', 'd', 0, 0, 0, 6};
  expect_error([&] { (void)vector_index::from_bytes(midi); }, diagnostic_id::index_magic_invalid);
}

TEST(index, rejects_a_header_claiming_2_to_the_40_vectors_without_allocating) {
  auto bytes = make_index(2, 4, vector_storage::float32, 81).to_bytes();
  const auto huge = le64(std::uint64_t{1} << 40);
  std::copy(huge.begin(), huge.end(), bytes.begin() + 16);
  // 2^40 vectors of 40 bytes would be 44 TB: the count is checked against the input first.
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(bytes); }, diagnostic_id::index_truncated), bytes.size());
  const auto max = le64(std::numeric_limits<std::uint64_t>::max());
  std::copy(max.begin(), max.end(), bytes.begin() + 16);
  expect_error([&] { (void)vector_index::from_bytes(bytes); }, diagnostic_id::index_truncated);
}

TEST(index, rejects_duplicate_ids_and_invalid_values_in_a_file) {
  auto bytes = make_index(3, 4, vector_storage::float32, 91).to_bytes();
  // Make a second copy of id 1000 (bytes 24-31) at the second id (32-39), then fix the checksum by
  // re-encoding: duplicate ids are checked before the checksum is reached, so it does not matter.
  std::copy(bytes.begin() + 24, bytes.begin() + 32, bytes.begin() + 32);
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(bytes); }, diagnostic_id::index_duplicate_id), 32U);

  auto nan_value = make_index(3, 4, vector_storage::float32, 92).to_bytes();
  const std::size_t first_value = 24 + 3 * 24;
  const auto nan_bits = std::bit_cast<std::uint32_t>(std::numeric_limits<float>::quiet_NaN());
  for (int b = 0; b < 4; ++b) nan_value[first_value + 4 + b] = static_cast<std::uint8_t>(nan_bits >> (8 * b));
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(nan_value); }, diagnostic_id::index_value_invalid),
            first_value + 4);

  auto int8 = make_index(3, 4, vector_storage::int8, 93).to_bytes();
  const std::size_t first_code = 24 + 3 * 28;
  int8[first_code + 2] = 0x80;  // -128
  EXPECT_EQ(expect_error([&] { (void)vector_index::from_bytes(int8); }, diagnostic_id::index_value_invalid),
            first_code + 2);
}

}  // namespace

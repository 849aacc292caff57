#pragma once
/// \file Exact top-k cosine search over fixed-dimension vectors, with metadata filters.
///
/// A `vector_index` keeps L2-normalised vectors (embeddings of performances, sessions or passages)
/// under 64-bit ids, each with a group (e.g. the piece) and a Unix time (e.g. the session's start),
/// and finds the k vectors most similar to a query by exhaustive inner product: exact, no training,
/// no approximation beyond the storage chosen. docs/search.md describes the storage forms, the file
/// format and the measured speed against FAISS `IndexFlatIP`.
///
///     continuo::vector_index index({.dimension = 256, .storage = continuo::vector_storage::int8});
///     index.add(42, embedding, {.group = piece_id, .unix_time_ns = session_start_ns});
///     for (const auto& hit : index.search(query, 10, {.group = piece_id})) use(hit.id, hit.score);

#include <continuo/diagnostic.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace continuo {

namespace detail {
/// Allocates on 64-byte boundaries, so that rows (a multiple of 32 bytes) never straddle cache
/// lines in the 32-byte loads of the search kernels.
template <class T>
struct cache_aligned_allocator {
  using value_type = T;
  static constexpr std::align_val_t alignment{64};

  cache_aligned_allocator() noexcept = default;
  template <class U>
  explicit cache_aligned_allocator(const cache_aligned_allocator<U>& /*other*/) noexcept {}
  [[nodiscard]] T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
  void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p, alignment); }
  friend bool operator==(const cache_aligned_allocator&, const cache_aligned_allocator&) noexcept { return true; }
};
template <class T>
using aligned_vector = std::vector<T, cache_aligned_allocator<T>>;
}  // namespace detail

/// How the index stores its vectors.
enum class vector_storage : std::uint8_t {
  float32 = 0,  ///< 4 bytes per value: scores exact to float rounding.
  /// 1 byte per value and a float scale per vector (value ≈ scale × code, codes in [-127, 127]):
  /// a quarter of the memory, searched on the codes directly; scores within about 1e-3 of float32.
  int8 = 1,
};

/// Returns "float32" or "int8".
[[nodiscard]] std::string_view name(vector_storage storage) noexcept;

/// What an index holds, fixed at construction.
struct index_options {
  std::size_t dimension = 0;                         ///< Values per vector, 1 to max_dimension.
  vector_storage storage = vector_storage::float32;  ///< float32, or int8 for a quarter of the memory.

  static constexpr std::size_t max_dimension = 65'536;
};

/// What a filter can select a vector by.
struct vector_metadata {
  std::int64_t group = 0;         ///< E.g. the piece the vector belongs to.
  std::int64_t unix_time_ns = 0;  ///< E.g. the session's start, in nanoseconds since the Unix epoch.
  friend bool operator==(const vector_metadata&, const vector_metadata&) = default;
};

/// Which vectors a search may return: all conditions hold (an empty filter keeps every vector).
/// Checked vector by vector during the scan, so a filter never copies a subset of the index.
struct search_filter {
  std::optional<std::int64_t> group{};                ///< Keeps only this group.
  std::optional<std::vector<std::int64_t>> groups{};  ///< Keeps only these groups (an empty set keeps none).
  std::optional<std::int64_t> unix_time_from_ns{};    ///< Keeps times at or after this one.
  std::optional<std::int64_t> unix_time_to_ns{};      ///< Keeps times strictly before this one.
};

/// One result: the id of a stored vector and its cosine similarity to the query.
struct search_hit {
  std::uint64_t id = 0;
  float score = 0;  ///< Inner product of the normalised query and vector, in about [-1, 1].
  friend bool operator==(const search_hit&, const search_hit&) = default;
};

/// An in-memory index for exact top-k cosine search.
///
/// Thread-safety: the const members (search, contains, save ...) never modify the index and may run
/// concurrently from any number of threads; add and remove need exclusive access, as for a standard
/// container.
class vector_index {
 public:
  /// Creates an empty index; throws continuo::error (index.dimension_invalid) for a dimension of 0
  /// or above index_options::max_dimension.
  explicit vector_index(const index_options& options);

  /// Stores `vector` under `id`, L2-normalised (and quantised for int8), replacing any vector
  /// already stored under `id`. Throws continuo::error on a vector of the wrong dimension
  /// (index.dimension_mismatch), a NaN or infinite value (index.value_not_finite, offset = the
  /// value's index) or a vector of norm 0 (index.zero_vector); the index is unchanged then.
  void add(std::uint64_t id, std::span<const float> vector, const vector_metadata& metadata = {});
  /// Removes the vector stored under `id` in O(1) (the last vector takes its place); returns
  /// whether there was one.
  bool remove(std::uint64_t id);
  /// Removes every vector, keeping the dimension and storage.
  void clear() noexcept;

  [[nodiscard]] bool contains(std::uint64_t id) const noexcept;
  /// Returns the metadata stored with `id`, or nothing when `id` is absent.
  [[nodiscard]] std::optional<vector_metadata> metadata(std::uint64_t id) const noexcept;
  /// Returns the vector stored under `id` as the index holds it (L2-normalised; for int8, scale × codes,
  /// within half a quantisation step of the normalised input), or nothing when `id` is absent.
  [[nodiscard]] std::optional<std::vector<float>> vector(std::uint64_t id) const;
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }
  [[nodiscard]] bool empty() const noexcept { return ids_.empty(); }
  [[nodiscard]] std::size_t dimension() const noexcept { return dimension_; }
  [[nodiscard]] vector_storage storage() const noexcept { return storage_; }
  /// Returns the ids in storage order (which changes as vectors are removed).
  [[nodiscard]] std::span<const std::uint64_t> ids() const noexcept { return ids_; }
  /// Returns the bytes the index holds per stored vector: codes, scale, id, metadata and lookup table.
  [[nodiscard]] double bytes_per_vector() const noexcept;

  /// Returns the (at most) k stored vectors most similar to `query` that pass `filter`, best first;
  /// equal scores are ordered by id, so results never depend on storage order. The query is
  /// normalised first; errors as for add().
  [[nodiscard]] std::vector<search_hit> search(std::span<const float> query, std::size_t k,
                                               const search_filter& filter = {}) const;
  /// Searches for each row of `queries` (row-major, a multiple of dimension() values) at once, by a
  /// blocked matrix product: much faster than one search() per row, with the same results (every
  /// score is summed in the same order by both). An error names the row in its message and the
  /// value's index in the whole matrix as its offset.
  [[nodiscard]] std::vector<std::vector<search_hit>> search_batch(std::span<const float> queries, std::size_t k,
                                                                  const search_filter& filter = {}) const;

  /// Returns the index in the CNTIDX format (docs/search.md); equal indexes give equal bytes.
  [[nodiscard]] std::vector<std::uint8_t> to_bytes() const;
  /// Rebuilds an index from to_bytes(); throws continuo::error naming the byte offset and field of
  /// the first problem. Allocates no more than the input's size justifies, whatever the header says.
  [[nodiscard]] static vector_index from_bytes(std::span<const std::uint8_t> bytes);
  /// Writes to_bytes() to `path` (index.io_failed if it cannot be written).
  void save(const std::filesystem::path& path) const;
  /// Reads a file written by save(), checking it as from_bytes() does, without holding its bytes
  /// and the index in memory at once.
  [[nodiscard]] static vector_index load(const std::filesystem::path& path);

  friend bool operator==(const vector_index& a, const vector_index& b) noexcept;

 private:
  class id_table {
   public:
    [[nodiscard]] std::optional<std::size_t> find(std::uint64_t id) const noexcept;
    /// Inserts or overwrites; returns false when `id` was already there.
    bool put(std::uint64_t id, std::size_t slot);
    void erase(std::uint64_t id) noexcept;
    void clear() noexcept;
    void reserve(std::size_t count);
    [[nodiscard]] std::size_t capacity() const noexcept { return keys_.size(); }

   private:
    [[nodiscard]] std::size_t home(std::uint64_t id) const noexcept;
    void grow(std::size_t capacity);

    static constexpr std::size_t empty_slot = ~std::size_t{0};
    std::vector<std::uint64_t> keys_;
    std::vector<std::size_t> slots_;  // empty_slot marks a free entry
    std::size_t count_ = 0;
  };

  friend class index_reader;  // from_bytes() and load(), in src/index.cpp

  std::size_t dimension_;
  std::size_t stride_;  // values per stored row: dimension_ rounded up to a multiple of 8, zero-padded
  vector_storage storage_;
  std::vector<std::uint64_t> ids_;
  std::vector<std::int64_t> groups_;
  std::vector<std::int64_t> times_;
  detail::aligned_vector<float> values_;       // float32: size() × stride_
  detail::aligned_vector<std::int8_t> codes_;  // int8: size() × stride_ (rows 8-byte aligned: 8-byte loads)
  std::vector<float> scales_;                  // int8: one per vector
  id_table slot_of_;
};

}  // namespace continuo

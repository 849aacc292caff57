// Exact top-k cosine search. Every score, whether a query comes alone or in a batch, is one dot
// product summed in the same order: eight lanes over the (zero-padded) dimension, each lane an FMA
// chain, then the lanes added as ((0+1)+(2+3))+((4+5)+(6+7)). A single query and a batch therefore
// give bit-identical scores, and with ties broken by id, identical results. The kernels are register
// tiles (several queries against several vectors at once): portable loops, and FMA intrinsics under
// function-level target attributes (AVX2; AVX-512VL for its extra registers) chosen at run time on
// x86-64, so the library needs no -march flag and still runs on any x86-64 (and on the Pi's ARM,
// where the portable loops compile to NEON). docs/search.md explains why this is not an Eigen product.

#include <continuo/index.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CONTINUO_INDEX_AVX2 1
#define CONTINUO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace continuo {
namespace {

constexpr std::size_t lanes = 8;

[[noreturn]] void fail(diagnostic_id id, std::uint64_t offset, std::string message) {
  throw error(diagnostic{id, offset, -1, std::move(message)});
}

std::size_t padded(std::size_t dimension) { return (dimension + lanes - 1) / lanes * lanes; }

// ---- kernels -------------------------------------------------------------------------------------

/// Returns a × b + c, fused where the hardware fuses, so that the portable kernel rounds the same
/// way however the compiler contracts expressions.
inline float madd(float a, float b, float c) {
#if defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
  return std::fma(a, b, c);
#else
  return a * b + c;  // no FMA instruction to contract into
#endif
}

/// Adds the eight lanes in the one order every kernel uses.
inline float reduce(const float* lane) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/// Scores `nq` queries against `nv` rows: out[i × out_stride + j] = q[i] · x[j].
template <std::size_t nq, std::size_t nv, class T>
void tile_portable(const float* const* q, const T* const* x, std::size_t stride, float* out, std::size_t out_stride) {
  std::array<std::array<float, lanes>, nq * nv> acc{};
  for (std::size_t d = 0; d < stride; d += lanes) {
    for (std::size_t i = 0; i < nq; ++i) {
      for (std::size_t j = 0; j < nv; ++j) {
        for (std::size_t l = 0; l < lanes; ++l) {
          acc[i * nv + j][l] = madd(q[i][d + l], static_cast<float>(x[j][d + l]), acc[i * nv + j][l]);
        }
      }
    }
  }
  for (std::size_t i = 0; i < nq; ++i) {
    for (std::size_t j = 0; j < nv; ++j) out[i * out_stride + j] = reduce(acc[i * nv + j].data());
  }
}

#ifdef CONTINUO_INDEX_AVX2
CONTINUO_TARGET_AVX2 inline __m256 widen(const float* p) { return _mm256_loadu_ps(p); }
CONTINUO_TARGET_AVX2 inline __m256 widen(const std::int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

/// Reduces four accumulators at once, each in the order of reduce().
CONTINUO_TARGET_AVX2 inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b);      // a0+a1 a2+a3 b0+b1 b2+b3 | a4+a5 a6+a7 b4+b5 b6+b7
  const __m256 cd = _mm256_hadd_ps(c, d);      // the same for c and d
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // (a0+a1)+(a2+a3) ... | (a4+a5)+(a6+a7) ...
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// The x86 tile kernel, defined twice by this macro: for AVX2 + FMA (16 vector registers), and for
// the same 8-lane instructions with AVX-512VL, which only adds registers 16-31 so that larger tiles
// stay in registers. The arithmetic, and so every score, is the same in both.
// clang-format off
#define CONTINUO_INDEX_TILE(function, features)                                                        \
  template <std::size_t nq, std::size_t nv, class T>                                                    \
  __attribute__((target(features))) void function(const float* const* q, const T* const* x,               \
                                                std::size_t stride, float* out, std::size_t out_stride) { \
    constexpr std::size_t n = nq * nv;                                                                  \
    __m256 acc[n];                                                                                      \
    for (std::size_t a = 0; a < n; ++a) acc[a] = _mm256_setzero_ps();                                   \
    for (std::size_t d = 0; d < stride; d += lanes) {                                                   \
      __m256 xv[nv];                                                                                    \
      for (std::size_t j = 0; j < nv; ++j) xv[j] = widen(x[j] + d);                                     \
      for (std::size_t i = 0; i < nq; ++i) {                                                            \
        const __m256 qv = _mm256_load_ps(q[i] + d);                                                     \
        for (std::size_t j = 0; j < nv; ++j) acc[i * nv + j] = _mm256_fmadd_ps(qv, xv[j], acc[i * nv + j]); \
      }                                                                                                 \
    }                                                                                                   \
    float sums[n];                                                                                      \
    std::size_t a = 0;                                                                                  \
    for (; a + 4 <= n; a += 4) _mm_storeu_ps(sums + a, reduce4(acc[a], acc[a + 1], acc[a + 2], acc[a + 3])); \
    for (; a < n; ++a) {                                                                                \
      alignas(32) float lane[lanes];                                                                    \
      _mm256_store_ps(lane, acc[a]);                                                                    \
      sums[a] = reduce(lane);                                                                           \
    }                                                                                                   \
    for (std::size_t i = 0; i < nq; ++i) {                                                              \
      for (std::size_t j = 0; j < nv; ++j) out[i * out_stride + j] = sums[i * nv + j];                  \
    }                                                                                                   \
  }
// clang-format on
CONTINUO_INDEX_TILE(tile_avx2, "avx2,fma")
CONTINUO_INDEX_TILE(tile_avx512, "avx2,fma,avx512f,avx512vl")
#undef CONTINUO_INDEX_TILE

#endif

/// The instruction sets the kernels come in. AVX2 and AVX-512VL give the same scores; the portable
/// kernel does too wherever it is compiled for FMA (it rounds each product separately elsewhere).
enum class isa : std::uint8_t { portable, avx2, avx512 };

/// Returns the best kernel for this CPU. CONTINUO_INDEX_KERNEL=portable or =avx2 in the environment
/// caps it, to test the other kernels on a machine that has them.
isa kernel_isa() {
#ifdef CONTINUO_INDEX_AVX2
  static const isa best = [] {
    const char* forced = std::getenv("CONTINUO_INDEX_KERNEL");  // NOLINT(concurrency-mt-unsafe): read once
    const std::string_view cap = forced != nullptr ? forced : "";
    if (cap == "portable" || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return isa::portable;
    if (cap == "avx2" || !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl")) return isa::avx2;
    return isa::avx512;
  }();
  return best;
#else
  return isa::portable;
#endif
}

/// Runs the tile kernel of `level`.
template <std::size_t nq, std::size_t nv, class T>
void tile(isa level, const float* const* q, const T* const* x, std::size_t stride, float* out, std::size_t out_stride) {
#ifdef CONTINUO_INDEX_AVX2
  if (level == isa::avx512) return tile_avx512<nq, nv, T>(q, x, stride, out, out_stride);
  if (level == isa::avx2) return tile_avx2<nq, nv, T>(q, x, stride, out, out_stride);
#endif
  (void)level;
  tile_portable<nq, nv, T>(q, x, stride, out, out_stride);
}

/// Scores four queries against `m` rows, `nv` rows at a time.
template <std::size_t nv, class T>
void score_four(isa level, const float* const* q, const T* const* rows, std::size_t m, std::size_t stride, float* out) {
  std::size_t j = 0;
  for (; j + nv <= m; j += nv) tile<4, nv>(level, q, rows + j, stride, out + j, m);
  for (; j < m; ++j) tile<4, 1>(level, q, rows + j, stride, out + j, m);
}

/// Scores `nq` (1 to 4) queries against `m` rows: out[i × m + j] = q[i] · rows[j]. Four queries go
/// through register tiles of 4 × 2 rows (4 × 6 with AVX-512VL's 32 registers): each loaded value
/// feeds several FMAs. Fewer queries take the rows one at a time, in memory order, which the
/// hardware prefetchers follow best (interleaving even two rows was 3× slower on a Zen 4).
template <class T>
void score_rows(const float* const* q, std::size_t nq, const T* const* rows, std::size_t m, std::size_t stride,
                float* out) {
  const isa level = kernel_isa();
  if (nq == 4) {
    if (level == isa::avx512) return score_four<6>(level, q, rows, m, stride, out);
    return score_four<2>(level, q, rows, m, stride, out);
  }
  for (std::size_t i = 0; i < nq; ++i) {
    for (std::size_t j = 0; j < m; ++j) tile<1, 1>(level, q + i, rows + j, stride, out + i * m + j, m);
  }
}

// ---- top-k selection -----------------------------------------------------------------------------

/// Returns whether `a` ranks before `b`: higher score, then lower id.
inline bool better(const search_hit& a, const search_hit& b) noexcept {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

/// The k best hits so far, in a heap whose front is the worst of them.
class top_k {
 public:
  explicit top_k(std::size_t k) : k_(k) { heap_.reserve(k); }

  /// Returns the score below which push() keeps nothing.
  [[nodiscard]] float threshold() const noexcept { return threshold_; }

  void push(float score, std::uint64_t id) {
    if (score < threshold_) return;
    const search_hit hit{id, score};
    if (heap_.size() < k_) {
      heap_.push_back(hit);
      std::push_heap(heap_.begin(), heap_.end(), better);
      if (heap_.size() == k_) threshold_ = heap_.front().score;
      return;
    }
    if (!better(hit, heap_.front())) return;
    std::pop_heap(heap_.begin(), heap_.end(), better);
    heap_.back() = hit;
    std::push_heap(heap_.begin(), heap_.end(), better);
    threshold_ = heap_.front().score;
  }

  /// Returns the hits best first.
  [[nodiscard]] std::vector<search_hit> take() && {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    return std::move(heap_);
  }

 private:
  std::size_t k_;
  float threshold_ = -std::numeric_limits<float>::infinity();
  std::vector<search_hit> heap_;
};

/// A search_filter prepared for testing one vector at a time.
class filter_check {
 public:
  explicit filter_check(const search_filter& f)
      : group_(f.group),
        from_(f.unix_time_from_ns.value_or(std::numeric_limits<std::int64_t>::min())),
        to_(f.unix_time_to_ns),
        by_groups_(f.groups.has_value()) {
    if (by_groups_) {
      groups_ = *f.groups;
      std::sort(groups_.begin(), groups_.end());
    }
    active_ = group_ || by_groups_ || f.unix_time_from_ns || to_;
  }

  [[nodiscard]] bool active() const noexcept { return active_; }
  [[nodiscard]] bool pass(std::int64_t group, std::int64_t time_ns) const {
    if (group_ && group != *group_) return false;
    if (by_groups_ && !std::binary_search(groups_.begin(), groups_.end(), group)) return false;
    return time_ns >= from_ && (!to_ || time_ns < *to_);
  }

 private:
  std::optional<std::int64_t> group_;
  // A flag beside a plain vector rather than an optional vector: GCC 12 warns, wrongly, that an
  // optional vector copied from the filter may be used uninitialised (-Wmaybe-uninitialized).
  std::vector<std::int64_t> groups_;
  std::int64_t from_;
  std::optional<std::int64_t> to_;
  bool by_groups_ = false;
  bool active_ = false;
};

// ---- input vectors -------------------------------------------------------------------------------

/// Writes `values` divided by their L2 norm to `out` (zero-padded past the dimension). `first` is
/// the position of values[0] in the caller's input and `describe()` names it, for the error.
template <class Describe>
void normalise(std::span<const float> values, std::span<float> out, std::uint64_t first, Describe describe) {
  double sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      fail(diagnostic_id::index_value_not_finite, first + i,
           describe() + ": value " + std::to_string(i) + " is " + (std::isnan(values[i]) ? "NaN" : "infinite"));
    }
    sum += static_cast<double>(values[i]) * static_cast<double>(values[i]);
  }
  if (sum == 0)
    fail(diagnostic_id::index_zero_vector, first, describe() + " has norm 0: it has no direction to compare");
  const double norm = std::sqrt(sum);
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i] / norm);
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(values.size()), out.end(), 0.0F);
}

/// Quantises a unit vector to codes in [-127, 127] and returns the scale (value ≈ scale × code).
float quantise(std::span<const float> unit, std::span<std::int8_t> codes) {
  float largest = 0;
  for (const float v : unit) largest = std::max(largest, std::abs(v));
  const float scale = largest / 127.0F;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    codes[i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(unit[i] / scale), -127.0F, 127.0F));
  }
  return scale;
}

// ---- the CNTIDX format ---------------------------------------------------------------------------

constexpr std::array<char, 6> magic = {'C', 'N', 'T', 'I', 'D', 'X'};
constexpr std::uint16_t format_version = 1;
constexpr std::size_t header_size = 24;
constexpr std::size_t checksum_size = 8;

/// The 64-bit checksum of docs/search.md: each 8-byte little-endian word w (the last one
/// zero-padded) steps h = rotl((h ^ w) × 0x9E3779B97F4A7C15, 31). Every step is a bijection of h,
/// so a change to any one word always changes the result; and it runs at memory speed.
class checksum {
 public:
  void update(const std::uint8_t* data, std::size_t n) {
    while (n > 0 && pending_ > 0) {
      add_byte(*data++);
      --n;
    }
    for (; n >= 8; data += 8, n -= 8) {
      std::uint64_t w = 0;
      for (std::size_t b = 0; b < 8; ++b) w |= std::uint64_t{data[b]} << (8 * b);
      step(w);
    }
    while (n-- > 0) add_byte(*data++);
  }
  [[nodiscard]] std::uint64_t value() const {
    checksum copy = *this;
    if (copy.pending_ > 0) copy.step(copy.word_);
    return copy.h_;
  }

 private:
  void add_byte(std::uint8_t b) {
    word_ |= std::uint64_t{b} << (8 * pending_);
    if (++pending_ == 8) {
      step(word_);
      word_ = 0;
      pending_ = 0;
    }
  }
  void step(std::uint64_t w) { h_ = std::rotl((h_ ^ w) * 0x9E3779B97F4A7C15ULL, 31); }

  std::uint64_t h_ = 0x434E544944580001ULL;  // "CNTIDX", 0, 1
  std::uint64_t word_ = 0;
  std::size_t pending_ = 0;
};

/// Writes the little-endian bytes of `count` values at `out` and returns the end of what it wrote.
template <class T>
std::uint8_t* put_le(std::uint8_t* out, const T* values, std::size_t count) {
  if constexpr (std::endian::native == std::endian::little) {
    if (count > 0) std::memcpy(out, values, count * sizeof(T));
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      const auto bits = std::bit_cast<std::array<std::uint8_t, sizeof(T)>>(values[i]);
      std::reverse_copy(bits.begin(), bits.end(), out + i * sizeof(T));
    }
  }
  return out + count * sizeof(T);
}

template <class T>
std::uint8_t* put_le(std::uint8_t* out, T value) {
  return put_le(out, &value, 1);
}

/// Converts `count` little-endian values in place to the machine's order.
template <class T>
void from_le([[maybe_unused]] T* values, [[maybe_unused]] std::size_t count) {
  if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
    for (std::size_t i = 0; i < count; ++i) {
      auto bits = std::bit_cast<std::array<std::uint8_t, sizeof(T)>>(values[i]);
      std::reverse(bits.begin(), bits.end());
      values[i] = std::bit_cast<T>(bits);
    }
  }
}

/// splitmix64's finaliser: ids that differ in any bit land in unrelated buckets.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// A seed drawn once per process, so that a hostile file cannot choose ids that all collide.
std::uint64_t table_seed() {
  static const std::uint64_t seed = [] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }();
  return seed;
}

}  // namespace

std::string_view name(vector_storage storage) noexcept {
  switch (storage) {
    case vector_storage::float32: return "float32";
    case vector_storage::int8: return "int8";
  }
  return "unknown";
}

// ---- id_table: open addressing, linear probing, backward-shift deletion ------------------------

std::size_t vector_index::id_table::home(std::uint64_t id) const noexcept {
  return static_cast<std::size_t>(mix(id ^ table_seed())) & (keys_.size() - 1);
}

std::optional<std::size_t> vector_index::id_table::find(std::uint64_t id) const noexcept {
  if (keys_.empty()) return std::nullopt;
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t i = home(id); slots_[i] != empty_slot; i = (i + 1) & mask) {
    if (keys_[i] == id) return slots_[i];
  }
  return std::nullopt;
}

bool vector_index::id_table::put(std::uint64_t id, std::size_t slot) {
  if ((count_ + 1) * 4 > keys_.size() * 3) grow(std::max<std::size_t>(16, keys_.size() * 2));
  const std::size_t mask = keys_.size() - 1;
  std::size_t i = home(id);
  for (; slots_[i] != empty_slot; i = (i + 1) & mask) {
    if (keys_[i] == id) {
      slots_[i] = slot;
      return false;
    }
  }
  keys_[i] = id;
  slots_[i] = slot;
  ++count_;
  return true;
}

void vector_index::id_table::erase(std::uint64_t id) noexcept {
  if (keys_.empty()) return;
  const std::size_t mask = keys_.size() - 1;
  std::size_t hole = home(id);
  for (; keys_[hole] != id; hole = (hole + 1) & mask) {
    if (slots_[hole] == empty_slot) return;
  }
  if (slots_[hole] == empty_slot) return;
  // Shift back every later entry of the run that may live in the hole, so lookups never meet a gap.
  for (std::size_t j = (hole + 1) & mask; slots_[j] != empty_slot; j = (j + 1) & mask) {
    const std::size_t h = home(keys_[j]);
    const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    keys_[hole] = keys_[j];
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = empty_slot;
  --count_;
}

void vector_index::id_table::clear() noexcept {
  std::fill(slots_.begin(), slots_.end(), empty_slot);
  count_ = 0;
}

void vector_index::id_table::reserve(std::size_t count) {
  std::size_t capacity = std::max<std::size_t>(16, keys_.size());
  while (count * 4 > capacity * 3) capacity *= 2;
  if (capacity != keys_.size()) grow(capacity);
}

void vector_index::id_table::grow(std::size_t capacity) {
  std::vector<std::uint64_t> keys(capacity);
  std::vector<std::size_t> slots(capacity, empty_slot);
  std::swap(keys, keys_);
  std::swap(slots, slots_);
  const std::size_t mask = capacity - 1;
  for (std::size_t e = 0; e < keys.size(); ++e) {
    if (slots[e] == empty_slot) continue;
    std::size_t i = home(keys[e]);
    while (slots_[i] != empty_slot) i = (i + 1) & mask;
    keys_[i] = keys[e];
    slots_[i] = slots[e];
  }
}

// ---- vector_index --------------------------------------------------------------------------------

vector_index::vector_index(const index_options& options)
    : dimension_(options.dimension), stride_(padded(options.dimension)), storage_(options.storage) {
  if (dimension_ == 0 || dimension_ > index_options::max_dimension) {
    fail(diagnostic_id::index_dimension_invalid, 0,
         "dimension " + std::to_string(dimension_) + " is not between 1 and " +
             std::to_string(index_options::max_dimension));
  }
  if (storage_ != vector_storage::float32 && storage_ != vector_storage::int8) {
    fail(diagnostic_id::index_header_invalid, 0, "unknown storage " + std::to_string(static_cast<int>(storage_)));
  }
}

void vector_index::add(std::uint64_t id, std::span<const float> vector, const vector_metadata& metadata) {
  if (vector.size() != dimension_) {
    fail(diagnostic_id::index_dimension_mismatch, vector.size(),
         "vector " + std::to_string(id) + " has " + std::to_string(vector.size()) + " values, the index " +
             std::to_string(dimension_));
  }
  std::vector<float> unit(stride_);
  normalise(vector, unit, 0, [id] { return "vector " + std::to_string(id); });

  const std::optional<std::size_t> existing = slot_of_.find(id);
  const std::size_t slot = existing.value_or(ids_.size());
  if (!existing) {
    slot_of_.put(id, slot);  // may throw bad_alloc: before anything else changes
    ids_.push_back(id);
    groups_.push_back(metadata.group);
    times_.push_back(metadata.unix_time_ns);
    if (storage_ == vector_storage::float32) {
      values_.resize(values_.size() + stride_);
    } else {
      codes_.resize(codes_.size() + stride_);
      scales_.push_back(0);
    }
  }
  groups_[slot] = metadata.group;
  times_[slot] = metadata.unix_time_ns;
  if (storage_ == vector_storage::float32) {
    std::copy(unit.begin(), unit.end(), values_.begin() + static_cast<std::ptrdiff_t>(slot * stride_));
  } else {
    scales_[slot] = quantise({unit.data(), dimension_}, {codes_.data() + slot * stride_, dimension_});
  }
}

bool vector_index::remove(std::uint64_t id) {
  const std::optional<std::size_t> found = slot_of_.find(id);
  if (!found) return false;
  const std::size_t slot = *found;
  const std::size_t last = ids_.size() - 1;
  if (slot != last) {
    ids_[slot] = ids_[last];
    groups_[slot] = groups_[last];
    times_[slot] = times_[last];
    if (storage_ == vector_storage::float32) {
      std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(last * stride_), stride_,
                  values_.begin() + static_cast<std::ptrdiff_t>(slot * stride_));
    } else {
      std::copy_n(codes_.begin() + static_cast<std::ptrdiff_t>(last * stride_), stride_,
                  codes_.begin() + static_cast<std::ptrdiff_t>(slot * stride_));
      scales_[slot] = scales_[last];
    }
    slot_of_.put(ids_[slot], slot);
  }
  slot_of_.erase(id);
  ids_.pop_back();
  groups_.pop_back();
  times_.pop_back();
  if (storage_ == vector_storage::float32) {
    values_.resize(values_.size() - stride_);
  } else {
    codes_.resize(codes_.size() - stride_);
    scales_.pop_back();
  }
  return true;
}

void vector_index::clear() noexcept {
  ids_.clear();
  groups_.clear();
  times_.clear();
  values_.clear();
  codes_.clear();
  scales_.clear();
  slot_of_.clear();
}

bool vector_index::contains(std::uint64_t id) const noexcept { return slot_of_.find(id).has_value(); }

std::optional<vector_metadata> vector_index::metadata(std::uint64_t id) const noexcept {
  const std::optional<std::size_t> slot = slot_of_.find(id);
  if (!slot) return std::nullopt;
  return vector_metadata{groups_[*slot], times_[*slot]};
}

std::optional<std::vector<float>> vector_index::vector(std::uint64_t id) const {
  const std::optional<std::size_t> slot = slot_of_.find(id);
  if (!slot) return std::nullopt;
  std::vector<float> out(dimension_);
  if (storage_ == vector_storage::float32) {
    std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(*slot * stride_), dimension_, out.begin());
  } else {
    const std::int8_t* const codes = codes_.data() + *slot * stride_;
    for (std::size_t i = 0; i < dimension_; ++i) out[i] = scales_[*slot] * static_cast<float>(codes[i]);
  }
  return out;
}

double vector_index::bytes_per_vector() const noexcept {
  if (ids_.empty()) return 0;
  const std::size_t row = storage_ == vector_storage::float32 ? stride_ * sizeof(float) : stride_ + sizeof(float);
  const std::size_t fixed = sizeof(std::uint64_t) + 2 * sizeof(std::int64_t);
  const double table = static_cast<double>(slot_of_.capacity() * (sizeof(std::uint64_t) + sizeof(std::size_t)));
  return static_cast<double>(row + fixed) + table / static_cast<double>(ids_.size());
}

std::vector<search_hit> vector_index::search(std::span<const float> query, std::size_t k,
                                             const search_filter& filter) const {
  if (query.size() != dimension_) {
    fail(diagnostic_id::index_dimension_mismatch, query.size(),
         "the query has " + std::to_string(query.size()) + " values, the index " + std::to_string(dimension_));
  }
  return std::move(search_batch(query, k, filter).front());
}

std::vector<std::vector<search_hit>> vector_index::search_batch(std::span<const float> queries, std::size_t k,
                                                                const search_filter& filter) const {
  if (queries.size() % dimension_ != 0) {
    fail(diagnostic_id::index_dimension_mismatch, queries.size(),
         "the queries hold " + std::to_string(queries.size()) + " values, not a multiple of the dimension " +
             std::to_string(dimension_));
  }
  const std::size_t n = queries.size() / dimension_;
  detail::aligned_vector<float> unit(n * stride_);
  for (std::size_t i = 0; i < n; ++i) {
    normalise(queries.subspan(i * dimension_, dimension_), {unit.data() + i * stride_, stride_}, i * dimension_,
              [i, n] { return n == 1 ? std::string("the query") : "query " + std::to_string(i); });
  }
  if (k == 0 || ids_.empty() || n == 0) return std::vector<std::vector<search_hit>>(n);
  const filter_check check(filter);
  std::vector<top_k> tops(n, top_k(std::min(k, ids_.size())));

  // Blocks of rows that stay in L2 while every query is scored against them; each row is read from
  // memory once per call however many queries there are.
  const std::size_t block = std::clamp<std::size_t>((std::size_t{256} << 10) / (stride_ * sizeof(float)), 16, 1024);
  const bool quantised = storage_ == vector_storage::int8;
  const bool dequantise = quantised && n >= 4;  // convert a block once rather than per query
  std::vector<std::size_t> slots(block);
  std::vector<const float*> float_rows(block);
  std::vector<const std::int8_t*> code_rows(block);
  detail::aligned_vector<float> scratch(dequantise ? block * stride_ : 0);
  std::vector<float> scores(4 * block);
  std::array<const float*, 4> group{};

  for (std::size_t begin = 0; begin < ids_.size(); begin += block) {
    const std::size_t end = std::min(begin + block, ids_.size());
    std::size_t m = 0;
    for (std::size_t s = begin; s < end; ++s) {
      if (!check.active() || check.pass(groups_[s], times_[s])) slots[m++] = s;
    }
    if (m == 0) continue;
    for (std::size_t j = 0; j < m; ++j) {
      if (!quantised) {
        float_rows[j] = values_.data() + slots[j] * stride_;
      } else if (dequantise) {
        const std::int8_t* codes = codes_.data() + slots[j] * stride_;
        float* row = scratch.data() + j * stride_;
        for (std::size_t d = 0; d < stride_; ++d) row[d] = codes[d];  // exact: the same products follow
        float_rows[j] = row;
      } else {
        code_rows[j] = codes_.data() + slots[j] * stride_;
      }
    }
    for (std::size_t first = 0; first < n; first += 4) {
      const std::size_t nq = std::min<std::size_t>(4, n - first);
      for (std::size_t i = 0; i < nq; ++i) group[i] = unit.data() + (first + i) * stride_;
      if (quantised && !dequantise) {
        score_rows(group.data(), nq, code_rows.data(), m, stride_, scores.data());
      } else {
        score_rows(group.data(), nq, float_rows.data(), m, stride_, scores.data());
      }
      for (std::size_t i = 0; i < nq; ++i) {
        top_k& top = tops[first + i];
        float* row_scores = scores.data() + i * m;
        if (quantised) {
          for (std::size_t j = 0; j < m; ++j) row_scores[j] *= scales_[slots[j]];
        }
        // Most scores fall below the k-th best so far: reject them in a tight loop.
        float threshold = top.threshold();
        for (std::size_t j = 0; j < m; ++j) {
          if (row_scores[j] < threshold) continue;
          top.push(row_scores[j], ids_[slots[j]]);
          threshold = top.threshold();
        }
      }
    }
  }
  std::vector<std::vector<search_hit>> out;
  out.reserve(n);
  for (top_k& top : tops) out.push_back(std::move(top).take());
  return out;
}

bool operator==(const vector_index& a, const vector_index& b) noexcept {
  return a.dimension_ == b.dimension_ && a.storage_ == b.storage_ && a.ids_ == b.ids_ && a.groups_ == b.groups_ &&
         a.times_ == b.times_ && a.values_ == b.values_ && a.codes_ == b.codes_ && a.scales_ == b.scales_;
}

// ---- saving --------------------------------------------------------------------------------------

std::vector<std::uint8_t> vector_index::to_bytes() const {
  const std::size_t n = ids_.size();
  const bool quantised = storage_ == vector_storage::int8;
  const std::size_t row_bytes = quantised ? dimension_ : dimension_ * sizeof(float);
  std::vector<std::uint8_t> out(header_size + n * (24 + (quantised ? 4 : 0) + row_bytes) + checksum_size);
  std::uint8_t* at = put_le(out.data(), magic.data(), magic.size());
  at = put_le(at, format_version);
  at = put_le(at, static_cast<std::uint32_t>(dimension_));
  at = put_le(at, static_cast<std::uint8_t>(storage_));
  at += 3;  // reserved, zero
  at = put_le(at, static_cast<std::uint64_t>(n));
  at = put_le(at, ids_.data(), n);
  at = put_le(at, groups_.data(), n);
  at = put_le(at, times_.data(), n);
  if (quantised) at = put_le(at, scales_.data(), n);
  for (std::size_t s = 0; s < n; ++s) {
    at = quantised ? put_le(at, codes_.data() + s * stride_, dimension_)
                   : put_le(at, values_.data() + s * stride_, dimension_);
  }
  checksum sum;
  sum.update(out.data(), static_cast<std::size_t>(at - out.data()));
  put_le(at, sum.value());
  return out;
}

void vector_index::save(const std::filesystem::path& path) const {
  const std::vector<std::uint8_t> bytes = to_bytes();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) fail(diagnostic_id::index_io_failed, 0, "cannot open " + path.string() + " for writing");
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) fail(diagnostic_id::index_io_failed, 0, "cannot write " + path.string());
}

// ---- loading -------------------------------------------------------------------------------------

namespace {

/// Where index_reader takes its bytes from: a span, or a file read piece by piece, in order.
class source {
 public:
  source() = default;
  source(const source&) = delete;
  source& operator=(const source&) = delete;
  source(source&&) = delete;
  source& operator=(source&&) = delete;
  virtual ~source() = default;
  [[nodiscard]] virtual std::uint64_t size() const = 0;
  /// Copies the next `n` bytes to `out` (n is always within size()).
  virtual void next(void* out, std::size_t n) = 0;
};

class span_source final : public source {
 public:
  explicit span_source(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  [[nodiscard]] std::uint64_t size() const override { return bytes_.size(); }
  void next(void* out, std::size_t n) override {
    if (n > 0) std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

class file_source final : public source {
 public:
  explicit file_source(const std::filesystem::path& path) : path_(path.string()), file_(path, std::ios::binary) {
    std::error_code ec;
    size_ = std::filesystem::file_size(path, ec);
    if (!file_ || ec) fail(diagnostic_id::index_io_failed, 0, "cannot open " + path_ + " for reading");
  }
  [[nodiscard]] std::uint64_t size() const override { return size_; }
  void next(void* out, std::size_t n) override {
    file_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(file_.gcount()) != n) {
      fail(diagnostic_id::index_io_failed, at_ + static_cast<std::uint64_t>(file_.gcount()),
           "reading " + path_ + " stopped early (did the file change while it was read?)");
    }
    at_ += n;
  }

 private:
  std::string path_;
  std::ifstream file_;
  std::uint64_t size_ = 0;
  std::uint64_t at_ = 0;
};

}  // namespace

/// Parses the CNTIDX format, checking every field before it is used (docs/search.md).
class index_reader {
 public:
  static vector_index read(source& in);
};

vector_index vector_index::from_bytes(std::span<const std::uint8_t> bytes) {
  span_source in(bytes);
  return index_reader::read(in);
}

vector_index vector_index::load(const std::filesystem::path& path) {
  file_source in(path);
  return index_reader::read(in);
}

vector_index index_reader::read(source& in) {
  const std::uint64_t size = in.size();
  std::uint64_t at = 0;
  checksum sum;
  // Reads one field, checksummed; the caller has made sure it lies within the input.
  auto take = [&](void* out, std::size_t n) {
    in.next(out, n);
    sum.update(static_cast<const std::uint8_t*>(out), n);
    at += n;
  };
  auto truncated = [&](const std::string& field) {
    fail(diagnostic_id::index_truncated, size,
         "the input ends after " + std::to_string(size) + " bytes, inside the " + field);
  };
  auto header_field = [&]<class T>(T& value, const char* field) {
    if (size < at + sizeof(T)) truncated(field);
    take(&value, sizeof(T));
    from_le(&value, 1);
  };

  std::array<char, 6> found_magic{};
  std::uint16_t version = 0;
  std::uint32_t dimension = 0;
  std::uint8_t storage = 0;
  std::array<std::uint8_t, 3> reserved{};
  std::uint64_t count = 0;
  if (size < magic.size()) {
    // An input shorter than the magic is either a cut index or not an index at all: tell which.
    std::array<char, 6> head{};
    in.next(head.data(), static_cast<std::size_t>(size));
    if (std::equal(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(size), magic.begin())) truncated("magic");
    fail(diagnostic_id::index_magic_invalid, 0, "not an index file: it does not start with \"CNTIDX\"");
  }
  take(found_magic.data(), found_magic.size());
  if (found_magic != magic) {
    fail(diagnostic_id::index_magic_invalid, 0, "not an index file: it does not start with \"CNTIDX\"");
  }
  header_field(version, "version field (bytes 6-7)");
  if (version != format_version) {
    fail(diagnostic_id::index_version_unsupported, 6,
         "format version " + std::to_string(version) + " (this build reads version " + std::to_string(format_version) +
             ")");
  }
  header_field(dimension, "dimension field (bytes 8-11)");
  if (dimension == 0 || dimension > index_options::max_dimension) {
    fail(diagnostic_id::index_header_invalid, 8,
         "dimension " + std::to_string(dimension) + " is not between 1 and " +
             std::to_string(index_options::max_dimension));
  }
  header_field(storage, "storage field (byte 12)");
  if (storage > static_cast<std::uint8_t>(vector_storage::int8)) {
    fail(diagnostic_id::index_header_invalid, 12, "unknown storage " + std::to_string(storage));
  }
  if (size < at + reserved.size()) truncated("reserved bytes (13-15)");
  take(reserved.data(), reserved.size());
  for (std::size_t i = 0; i < reserved.size(); ++i) {
    if (reserved[i] != 0) fail(diagnostic_id::index_header_invalid, 13 + i, "reserved byte is not 0");
  }
  header_field(count, "count field (bytes 16-23)");

  // Every size below is checked against the input before anything is allocated for it.
  const bool quantised = storage == static_cast<std::uint8_t>(vector_storage::int8);
  const std::uint64_t row_bytes = quantised ? dimension : std::uint64_t{dimension} * sizeof(float);
  const std::uint64_t per_vector = 3 * sizeof(std::uint64_t) + (quantised ? sizeof(float) : 0) + row_bytes;
  const std::uint64_t room = size - header_size;  // size >= header_size here
  if (count > room / per_vector || room - count * per_vector < checksum_size) {
    // Name the section the input ends in (a cut file), without computing count × anything that
    // could overflow: a hostile count ends in the ids.
    const std::array<std::pair<std::uint64_t, const char*>, 5> sections{
        {{8, "ids"}, {8, "groups"}, {8, "times"}, {quantised ? 4U : 0U, "scales"}, {row_bytes, "vectors"}}};
    std::uint64_t end = header_size;
    std::string field = "checksum";
    for (const auto& [bytes, what] : sections) {
      if (bytes == 0) continue;
      if (count > (size - end) / bytes) {
        field = what;
        break;
      }
      end += count * bytes;
    }
    fail(diagnostic_id::index_truncated, size,
         "the header declares " + std::to_string(count) + " vectors of " + std::to_string(per_vector) +
             " bytes, but the input ends after " + std::to_string(size) + " bytes, inside the " + field);
  }
  const std::uint64_t expected = header_size + count * per_vector + checksum_size;
  if (size > expected) {
    fail(diagnostic_id::index_trailing_bytes, expected,
         std::to_string(size - expected) + " bytes after the checksum, where the input should end");
  }

  const auto n = static_cast<std::size_t>(count);
  vector_index index({.dimension = dimension, .storage = static_cast<vector_storage>(storage)});
  index.ids_.resize(n);
  index.groups_.resize(n);
  index.times_.resize(n);
  const std::uint64_t ids_at = at;
  take(index.ids_.data(), n * sizeof(std::uint64_t));
  from_le(index.ids_.data(), n);
  take(index.groups_.data(), n * sizeof(std::int64_t));
  from_le(index.groups_.data(), n);
  take(index.times_.data(), n * sizeof(std::int64_t));
  from_le(index.times_.data(), n);
  index.slot_of_.reserve(n);
  for (std::size_t s = 0; s < n; ++s) {
    if (!index.slot_of_.put(index.ids_[s], s)) {
      fail(diagnostic_id::index_duplicate_id, ids_at + s * sizeof(std::uint64_t),
           "id " + std::to_string(index.ids_[s]) + " is stored twice (vector " + std::to_string(s) + ")");
    }
  }
  if (quantised) {
    const std::uint64_t scales_at = at;
    index.scales_.resize(n);
    take(index.scales_.data(), n * sizeof(float));
    from_le(index.scales_.data(), n);
    for (std::size_t s = 0; s < n; ++s) {
      const float scale = index.scales_[s];
      if (!std::isfinite(scale) || scale <= 0) {
        fail(diagnostic_id::index_value_invalid, scales_at + s * sizeof(float),
             "the scale of vector " + std::to_string(s) + " is " + std::to_string(scale) + ", not a positive number");
      }
    }
    index.codes_.resize(n * index.stride_);
  } else {
    index.values_.resize(n * index.stride_);
  }
  for (std::size_t s = 0; s < n; ++s) {
    const std::uint64_t row_at = at;
    if (quantised) {
      std::int8_t* row = index.codes_.data() + s * index.stride_;
      take(row, dimension);
      for (std::size_t d = 0; d < dimension; ++d) {
        if (row[d] == -128) {
          fail(diagnostic_id::index_value_invalid, row_at + d,
               "code " + std::to_string(d) + " of vector " + std::to_string(s) + " is -128 (codes are -127 to 127)");
        }
      }
      continue;
    }
    float* row = index.values_.data() + s * index.stride_;
    take(row, std::size_t{dimension} * sizeof(float));
    from_le(row, dimension);
    double norm = 0;
    for (std::size_t d = 0; d < dimension; ++d) {
      if (!std::isfinite(row[d])) {
        fail(diagnostic_id::index_value_invalid, row_at + d * sizeof(float),
             "value " + std::to_string(d) + " of vector " + std::to_string(s) + " is not finite");
      }
      norm += static_cast<double>(row[d]) * static_cast<double>(row[d]);
    }
    // Stored rows are normalised to float precision: anything further off was not written by save().
    if (std::abs(norm - 1) > 1e-4) {
      fail(diagnostic_id::index_value_invalid, row_at,
           "vector " + std::to_string(s) + " has norm " + std::to_string(std::sqrt(norm)) + ", not 1");
    }
  }
  const std::uint64_t computed = sum.value();
  std::uint64_t stored = 0;
  in.next(&stored, sizeof stored);
  from_le(&stored, 1);
  if (stored != computed) {
    fail(diagnostic_id::index_checksum_mismatch, at, "the checksum does not match the bytes before it");
  }
  return index;
}

}  // namespace continuo

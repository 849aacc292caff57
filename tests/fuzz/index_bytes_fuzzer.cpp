// The vector index's file format (CNTIDX, docs/search.md): vector_index::from_bytes.
//
// Every input is read twice: as it is, and with its last 8 bytes replaced by the checksum of the
// bytes before them, so that mutations reach every check behind the checksum and the rebuilt
// index, not only the checksum's refusal. Checks, besides ASan and UBSan: a read either rebuilds an
// index or throws continuo::error with a diagnostic at an offset inside the input (nothing else, and no
// allocation beyond the input's size: -rss_limit_mb); an index read from bytes writes those very
// bytes back (the format is canonical); and a search on it returns at most k distinct stored ids,
// best first, ties by id.
//
// Seeds: `CONTINUO_INDEX_SEEDS=DIR fuzz_index_bytes` writes a few valid files into DIR and exits
// (tests/fuzz/smoke.sh does so); from MIDI seeds alone a checksummed format is a long way off.

#include <continuo/diagnostic.hpp>
#include <continuo/index.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) broken(what);
}

/// The checksum of docs/search.md, written from the documentation rather than shared with
/// src/index.cpp, so that the two are checked against each other: the seeds the library writes
/// must read back once this one has replaced their checksum.
std::uint64_t documented_checksum(std::span<const std::uint8_t> bytes) {
  std::uint64_t h = 0x434E544944580001ULL;
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t word = 0;
    for (std::size_t b = 0; b < 8 && i + b < bytes.size(); ++b) word |= std::uint64_t{bytes[i + b]} << (8 * b);
    h = std::rotl((h ^ word) * 0x9E3779B97F4A7C15ULL, 31);
  }
  return h;
}

void check_index(const continuo::vector_index& index, std::span<const std::uint8_t> bytes) {
  const auto written = index.to_bytes();
  check(std::equal(written.begin(), written.end(), bytes.begin(), bytes.end()),
        "an index read from bytes writes the same bytes back");
  const std::vector<float> query(index.dimension(), 1.0F);
  constexpr std::size_t k = 3;
  const auto hits = index.search(query, k);
  check(hits.size() == std::min(k, index.size()), "a search returns min(k, size) hits");
  std::unordered_set<std::uint64_t> seen;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    check(index.contains(hits[i].id) && seen.insert(hits[i].id).second, "hits are distinct stored ids");
    check(!std::isnan(hits[i].score), "scores are numbers");
    if (i > 0) {
      const auto& a = hits[i - 1];
      const auto& b = hits[i];
      check(a.score > b.score || (a.score == b.score && a.id < b.id), "hits are best first, ties by id");
    }
  }
}

void read_index(std::span<const std::uint8_t> bytes) {
  try {
    const auto index = continuo::vector_index::from_bytes(bytes);
    check_index(index, bytes);
  } catch (const continuo::error& e) {
    check(!e.where().message.empty(), "a refusal carries a diagnostic: id, offset and field");
    check(e.where().offset <= bytes.size(), "a refusal's offset lies within the input");
  }
}

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  int written = 0;
  for (const auto storage : {continuo::vector_storage::float32, continuo::vector_storage::int8}) {
    for (const std::size_t dimension : std::array<std::size_t, 4>{1, 3, 8, 13}) {
      continuo::vector_index index({.dimension = dimension, .storage = storage});
      for (std::uint64_t id = 0; id < dimension % 5; ++id) {
        std::vector<float> v(dimension);
        for (std::size_t j = 0; j < dimension; ++j) v[j] = static_cast<float>((id + 1) * (j + 2) % 7) - 2.5F;
        index.add(id * 1000 + 7, v, {.group = static_cast<std::int64_t>(id % 2), .unix_time_ns = 1'700'000'000});
      }
      const auto bytes = index.to_bytes();
      std::uint64_t stored = 0;
      for (std::size_t i = 0; i < 8; ++i) stored |= std::uint64_t{bytes[bytes.size() - 8 + i]} << (8 * i);
      check(stored == documented_checksum(std::span(bytes).first(bytes.size() - 8)),
            "the library's checksum is the documented one");
      const auto name = dir / ("index-" + std::string(continuo::name(storage)) + "-" + std::to_string(dimension));
      std::FILE* f = std::fopen(name.c_str(), "wb");
      if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
        std::fprintf(stderr, "fuzz_index_bytes: cannot write %s\n", name.c_str());
        std::exit(1);
      }
      ++written;
    }
  }
  std::printf("fuzz_index_bytes: %d seed indexes written to %s\n", written, dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (const char* dir = std::getenv("CONTINUO_INDEX_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  read_index(bytes);
  if (size >= 8) {
    std::vector<std::uint8_t> fixed(bytes.begin(), bytes.end());
    const std::uint64_t sum = documented_checksum(bytes.first(size - 8));
    for (std::size_t b = 0; b < 8; ++b) fixed[size - 8 + b] = static_cast<std::uint8_t>(sum >> (8 * b));
    read_index(fixed);
  }
  return 0;
}

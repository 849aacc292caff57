#include "alloc_counter.hpp"

#ifndef CONTINUO_BENCH_NO_ALLOC_COUNTER

#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

// glibc documents replacing malloc ("Replacing malloc" in its manual): the program defines the
// whole family, and every library in the process, libc itself included, then calls these. Each one
// forwards to glibc's allocator through its exported __libc_* entry points and counts the usable
// size, which free can recover from the chunk itself, so no header is needed and what is counted is
// what the process really holds (a large vector's mmap is rounded up to pages).
//
// The bench measures on one thread, so plain counters suffice; they are only read between reads.
// Replacing malloc means defining C functions of the standard names, calling glibc's reserved
// __libc_* ones, and keeping global state: the checks against those are off for this section.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming,cppcoreguidelines-no-malloc,cppcoreguidelines-avoid-non-const-global-variables)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}

namespace {

std::ptrdiff_t now_bytes = 0;
std::ptrdiff_t peak_bytes = 0;

void* counted(void* p) noexcept {
  if (p != nullptr) {
    now_bytes += static_cast<std::ptrdiff_t>(malloc_usable_size(p));
    if (now_bytes > peak_bytes) peak_bytes = now_bytes;
  }
  return p;
}

std::size_t page_size() noexcept { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

void uncount(void* p) noexcept {
  if (p != nullptr) now_bytes -= static_cast<std::ptrdiff_t>(malloc_usable_size(p));
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) { return counted(__libc_malloc(size)); }

void* calloc(std::size_t count, std::size_t size) { return counted(__libc_calloc(count, size)); }

void* realloc(void* p, std::size_t size) {
  const std::ptrdiff_t old = p == nullptr ? 0 : static_cast<std::ptrdiff_t>(malloc_usable_size(p));
  void* q = __libc_realloc(p, size);
  if (q == nullptr && size != 0) return nullptr;  // failed: p is untouched
  now_bytes -= old;
  return counted(q);
}

void* reallocarray(void* p, std::size_t count, std::size_t size) {
  std::size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

void free(void* p) {
  uncount(p);
  __libc_free(p);
}

void* memalign(std::size_t alignment, std::size_t size) { return counted(__libc_memalign(alignment, size)); }

void* aligned_alloc(std::size_t alignment, std::size_t size) { return counted(__libc_memalign(alignment, size)); }

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = counted(__libc_memalign(alignment, size));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t size) { return counted(__libc_memalign(page_size(), size)); }

void* pvalloc(std::size_t size) {
  const std::size_t page = page_size();
  return counted(__libc_memalign(page, (size + page - 1) / page * page));
}

}  // extern "C"
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming,cppcoreguidelines-no-malloc,cppcoreguidelines-avoid-non-const-global-variables)

namespace continuo_bench {

bool allocations_counted() noexcept { return true; }
std::ptrdiff_t allocated_now() noexcept { return now_bytes; }
std::ptrdiff_t allocated_peak() noexcept { return peak_bytes; }
void reset_peak() noexcept { peak_bytes = now_bytes; }

}  // namespace continuo_bench

#else

namespace continuo_bench {

bool allocations_counted() noexcept { return false; }
std::ptrdiff_t allocated_now() noexcept { return 0; }
std::ptrdiff_t allocated_peak() noexcept { return 0; }
void reset_peak() noexcept {}

}  // namespace continuo_bench

#endif

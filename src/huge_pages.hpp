#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace continuo::detail {

/// Reserves room for exactly `count` values (reserve does not round up) and, where that room spans
/// 2 MiB or more, asks Linux to back it with transparent huge pages as it is first written. Room
/// already there is left alone.
///
/// Why: a one-shot read's columns are fresh memory (glibc gives freed memory back to the kernel),
/// and writing them takes a page fault every 4 KiB: a 24-hour take read in seconds writes 28 MB,
/// 7,000 faults, about half the read's time. With huge pages most of it is mapped 2 MiB at a time:
/// that read goes from 160 to 200 MB/s (bench/README.md, "huge pages"). The advice is a hint (a
/// kernel without transparent huge pages, or with them set to `never`, ignores it) and changes no
/// result. Mapping the pages in advance too (MADV_POPULATE_WRITE) gained as much again on fresh
/// memory but cost 5-8 % where the heap reuses memory that is mapped already: not done.
template <class T>
void reserve_in_huge_pages(std::vector<T>& column, std::size_t count) {
  if (count <= column.capacity()) return;
  column.reserve(count);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::size_t huge_page_bytes = std::size_t{2} << 20U;
  const std::size_t bytes = column.capacity() * sizeof(T);
  if (bytes < huge_page_bytes) return;  // too small to hold one
  static const auto page_bytes = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  // madvise takes whole pages: those inside the room (the first holds malloc's header too).
  const auto first = reinterpret_cast<std::uintptr_t>(column.data());
  const std::uintptr_t begin = (first + page_bytes - 1) / page_bytes * page_bytes;
  const std::uintptr_t end = (first + bytes) / page_bytes * page_bytes;
  (void)madvise(reinterpret_cast<void*>(begin), end - begin,  // NOLINT(performance-no-int-to-ptr)
                MADV_HUGEPAGE);
#endif
}

}  // namespace continuo::detail

#pragma once
/// \file Counts the bytes held through malloc, so that the bench can report the peak extra memory
/// of one read for every reader in the process alike: continuo (operator new ends in malloc) and
/// libsmf (malloc and GLib's g_malloc). alloc_counter.cpp replaces glibc's malloc family with
/// wrappers that count and forward to glibc's own allocator.

#include <cstddef>

namespace continuo_bench {

/// Returns false when the program was built without the counting malloc (sanitizer builds, whose
/// runtimes own malloc); the other functions then return 0.
[[nodiscard]] bool allocations_counted() noexcept;

/// Returns the bytes currently held through malloc (usable sizes, as malloc hands them out).
[[nodiscard]] std::ptrdiff_t allocated_now() noexcept;

/// Returns the most bytes held at once since the last reset_peak().
[[nodiscard]] std::ptrdiff_t allocated_peak() noexcept;

/// Starts a new peak at the bytes held now.
void reset_peak() noexcept;

}  // namespace continuo_bench

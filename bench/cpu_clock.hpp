#pragma once
// The clock of every timing in bench/: CPU time of the calling thread, in seconds. On a shared
// machine the time a thread waits for a core is not the code's; page faults and everything else the
// kernel does for the thread still count.

#include <ctime>

namespace continuo_bench {

inline double thread_cpu_s() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace continuo_bench

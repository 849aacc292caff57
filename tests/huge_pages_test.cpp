#include "huge_pages.hpp"
#include "support/test_support.hpp"

#include <continuo/performance.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace {

using continuo::detail::reserve_in_huge_pages;
using continuo::test::bytes;
using continuo::test::cat;
using continuo::test::end_of_track;
using continuo::test::smf;

constexpr std::size_t big_count = std::size_t{1} << 22U;  // 32 MiB of doubles: many huge pages

TEST(reserve_in_huge_pages, reserves_exactly_and_keeps_the_values) {
  std::vector<double> column(1000);
  std::iota(column.begin(), column.end(), 0.0);
  reserve_in_huge_pages(column, big_count + 1);
  EXPECT_EQ(column.capacity(), big_count + 1);
  ASSERT_EQ(column.size(), 1000U);
  EXPECT_EQ(column[999], 999.0);
  column.resize(big_count + 1, 7.0);  // the room is writable to its end
  EXPECT_EQ(column.back(), 7.0);
}

TEST(reserve_in_huge_pages, leaves_room_that_is_there_alone) {
  std::vector<double> column;
  column.reserve(big_count);
  const double* const data = column.data();
  reserve_in_huge_pages(column, big_count / 2);
  EXPECT_EQ(column.data(), data);
  EXPECT_EQ(column.capacity(), big_count);
  std::vector<std::uint8_t> small;
  reserve_in_huge_pages(small, 100);  // under 2 MiB: a plain reserve
  EXPECT_EQ(small.capacity(), 100U);
}

#if defined(__linux__)
/// The VmFlags of the mapping that holds `address`, from /proc/self/smaps, or "" if none does.
std::string vm_flags_at(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-' && line.find(' ') != std::string::npos) {
      inside = begin <= at && at < end;
    } else if (inside && line.starts_with("VmFlags:")) {
      return line;
    }
  }
  return "";
}

/// Whether the kernel would give a region advised with MADV_HUGEPAGE huge pages.
bool huge_pages_on_advice() {
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(enabled, modes);
  return modes.find("[always]") != std::string::npos || modes.find("[madvise]") != std::string::npos;
}

TEST(reserve_in_huge_pages, advises_huge_pages_for_large_room) {
  if (!huge_pages_on_advice()) GTEST_SKIP() << "transparent huge pages are off on this machine (never)";
  std::vector<double> column;
  reserve_in_huge_pages(column, big_count);
  const double* const middle = column.data() + big_count / 2;
  EXPECT_NE(vm_flags_at(middle).find(" hg"), std::string::npos) << vm_flags_at(middle);
}
#endif

TEST(performance, reads_a_take_with_columns_in_huge_pages_as_a_reused_reader_does) {
  // 300,000 notes and as many pedal changes: every 8-byte column and the control changes pass
  // 2 MiB, so that their room is reserved with the advice (and the seconds columns too).
  bytes body;
  for (int i = 0; i < 300'000; ++i) {
    const auto pitch = static_cast<std::uint8_t>(30 + i % 60);
    const bytes event{0x03, 0x90, pitch, 80, 0x01, 0xB0, 64, static_cast<std::uint8_t>(i % 3 == 0 ? 0 : 90),
                      0x02, 0x90, pitch, 0};
    body.insert(body.end(), event.begin(), event.end());
  }
  const bytes file = smf().header(0, 1, 480).track(cat({body, end_of_track}));
  const auto perf = continuo::read_performance(file);
  ASSERT_EQ(perf.status, continuo::read_status::ok);
  ASSERT_EQ(perf.notes.size(), 300'000U);
  ASSERT_EQ(perf.controls.size(), 300'000U);
  EXPECT_EQ(perf.notes.onset_tick[299'999], 299'999 * 6 + 3);
  EXPECT_EQ(perf.notes.offset_s[299'999], perf.tempo.to_seconds(continuo::tick_t{300'000} * 6));
  continuo::performance_reader reader;
  continuo::performance again;
  reader.read(file, again);
  EXPECT_EQ(again, perf);
}

}  // namespace

#include <continuo/diagnostic.hpp>
#include <continuo/file.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

/// A folder of its own under the system's temporary folder, removed at the end of the test.
struct scratch_folder {
  fs::path path = fs::temp_directory_path() / ("continuo-file-test-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  scratch_folder() { fs::create_directories(path); }
  ~scratch_folder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;
  scratch_folder(scratch_folder&&) = delete;
  scratch_folder& operator=(scratch_folder&&) = delete;
};

/// The message of the continuo::error that `f` throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const continuo::error& e) {
    return e.what();
  }
  return "";
}

TEST(load_file, refuses_a_file_over_the_limit_and_names_it) {
  const scratch_folder dir;
  const fs::path path = dir.path / "big.mid";
  std::ofstream(path, std::ios::binary) << std::string(1000, 'x');
  EXPECT_EQ(continuo::load_file(path, 1000).size(), 1000U);
  EXPECT_EQ(error_of([&] { (void)continuo::load_file(path, 999); }),
            "cannot read '" + path.string() +
                "': it holds more than 999 bytes, the limit (a MIDI file is seldom over 100 MB; is it the file "
                "you meant?)");
}

TEST(load_file, stops_at_the_limit_on_a_device_that_never_ends) {
  if (!fs::exists("/dev/zero")) GTEST_SKIP() << "needs /dev/zero";
  // Read in chunks of 64 KiB: the limit is checked before each is kept, so memory stays bounded.
  EXPECT_NE(error_of([] { (void)continuo::load_file("/dev/zero", 300'000); }).find("more than 300000 bytes"),
            std::string::npos);
}

TEST(save_file, replaces_a_file_keeping_its_permissions_and_a_link_keeping_the_link) {
  const scratch_folder dir;
  const std::vector<std::uint8_t> bytes{'M', 'T', 'h', 'd'};
  const fs::path file = dir.path / "private.mid";
  std::ofstream(file) << "old";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  continuo::save_file(file, bytes);
  EXPECT_EQ(continuo::load_file(file), bytes);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);

  const fs::path link = dir.path / "link.mid";
  fs::create_symlink("private.mid", link);
  continuo::save_file(link, std::vector<std::uint8_t>{1, 2, 3});
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(continuo::load_file(file), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 2);  // no temporary left
}

}  // namespace

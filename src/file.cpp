#include <continuo/diagnostic.hpp>
#include <continuo/file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace continuo {
namespace {

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

[[noreturn]] void fail(const char* what, const std::filesystem::path& path) {
  throw error(std::string("cannot ") + what + " '" + path.string() + "': " + std::strerror(errno));
}

}  // namespace

std::vector<std::uint8_t> load_file(const std::filesystem::path& path) {
  file_ptr f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("open", path);
  // One read of the whole size, then chunks for what has no size or grew meanwhile (pipes).
  std::error_code ec;
  const auto size = std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  std::vector<std::uint8_t> bytes(ec ? 0 : size);
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f.get()));
  std::uint8_t chunk[1 << 16];
  for (std::size_t n = 0; (n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0;) {
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  if (std::ferror(f.get()) != 0) fail("read", path);
  return bytes;
}

void save_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  // A temporary of its own beside the target (created, never reused, so that no file of the
  // user's of a like name is overwritten), renamed over it once whole.
  static std::atomic<unsigned> serial{0};
  std::filesystem::path temporary;
  file_ptr f;
  for (int attempt = 0; !f; ++attempt) {
    temporary = path;
    temporary += ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      f.reset(::fdopen(fd, "wb"));
      if (!f) ::close(fd);
    }
    if (!f && (errno != EEXIST || attempt == 100)) {
      throw error("cannot write '" + path.string() + "': " + std::strerror(errno));
    }
  }
  // Whatever fails from here, the temporary goes, and the error names the path asked for.
  const auto give_up = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw error("cannot write '" + path.string() + "': " + reason);
  };
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() || std::fflush(f.get()) != 0 ||
      std::fclose(f.release()) != 0) {
    give_up(std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) give_up(ec.message());
}

}  // namespace continuo

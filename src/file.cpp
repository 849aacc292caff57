#include <continuo/diagnostic.hpp>
#include <continuo/file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
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

std::vector<std::uint8_t> load_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  file_ptr f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("open", path);
  const auto too_large = [&path, max_bytes] {
    return error("cannot read '" + path.string() + "': it holds more than " + std::to_string(max_bytes) +
                 " bytes, the limit (a MIDI file is seldom over 100 MB; is it the file you meant?)");
  };
  // One read of the whole size, then chunks for what has no size or grew meanwhile (pipes,
  // devices: /dev/zero would never end, hence the limit on every chunk).
  struct stat info {};
  const std::uint64_t size = ::fstat(::fileno(f.get()), &info) == 0 && S_ISREG(info.st_mode)
                                 ? static_cast<std::uint64_t>(info.st_size)
                                 : 0;
  if (size > max_bytes) throw too_large();
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f.get()));
  std::uint8_t chunk[1 << 16];
  for (std::size_t n = 0; (n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0;) {
    if (n > max_bytes - bytes.size()) throw too_large();
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  if (std::ferror(f.get()) != 0) fail("read", path);
  return bytes;
}

namespace {

/// Writes `bytes` into the file `path` that exists and is not a regular file (a FIFO, a terminal,
/// /dev/stdout): such a file cannot be replaced, only written to.
void write_into(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  file_ptr f(std::fopen(path.c_str(), "wb"));
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() || std::fflush(f.get()) != 0 ||
      std::fclose(f.release()) != 0) {
    fail("write", path);
  }
}

}  // namespace

void save_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  struct stat existing {};
  const bool exists = ::stat(path.c_str(), &existing) == 0;  // through symbolic links
  if (exists && !S_ISREG(existing.st_mode) && !S_ISDIR(existing.st_mode)) return write_into(path, bytes);
  // A symbolic link stays one: the file it points to (which may not exist yet) is replaced.
  std::filesystem::path target = path;
  std::error_code ec;
  for (int hop = 0; hop < 40 && std::filesystem::is_symlink(target, ec); ++hop) {
    const std::filesystem::path link = std::filesystem::read_symlink(target, ec);
    if (ec) break;
    target = link.is_absolute() ? link : target.parent_path() / link;
  }

  // A temporary of its own beside the target (created, never reused, so that no file of the
  // user's of a like name is overwritten), renamed over it once whole.
  static std::atomic<unsigned> serial{0};
  std::filesystem::path temporary;
  file_ptr f;
  for (int attempt = 0; !f; ++attempt) {
    temporary = target;
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
  // A file replaced keeps its permissions (a private take stays private).
  if (exists && S_ISREG(existing.st_mode) && ::fchmod(::fileno(f.get()), existing.st_mode & 07777) != 0) {
    give_up(std::strerror(errno));
  }
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() || std::fflush(f.get()) != 0 ||
      std::fclose(f.release()) != 0) {
    give_up(std::strerror(errno));
  }
  std::filesystem::rename(temporary, target, ec);
  if (ec) give_up(ec.message());
}

}  // namespace continuo

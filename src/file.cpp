#include <continuo/diagnostic.hpp>
#include <continuo/file.hpp>

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
  auto temporary = path;
  temporary += ".partial";
  // Whatever fails, the temporary goes, and the error names the path asked for.
  const auto give_up = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw error("cannot write '" + path.string() + "': " + reason);
  };
  {
    file_ptr f(std::fopen(temporary.c_str(), "wb"));
    if (!f) give_up(std::strerror(errno));
    if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() || std::fflush(f.get()) != 0 ||
        std::fclose(f.release()) != 0) {
      give_up(std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) give_up(ec.message());
}

}  // namespace continuo

#include "corpus.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace continuo_bench {
namespace {

namespace fs = std::filesystem;

bool is_midi_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".mid" || ext == ".midi";
}

void add_source(const std::string& source, std::vector<std::string>& paths) {
  if (!source.empty() && source.front() == '@') {
    std::ifstream list(source.substr(1));
    if (!list) throw std::runtime_error("cannot read the list " + source.substr(1));
    for (std::string line; std::getline(list, line);) {
      if (!line.empty()) paths.push_back(line);
    }
    return;
  }
  if (fs::is_directory(source)) {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(source)) {
      if (entry.is_regular_file() && is_midi_name(entry.path())) found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    paths.insert(paths.end(), found.begin(), found.end());
    return;
  }
  paths.push_back(source);
}

}  // namespace

std::uint64_t corpus::total_bytes() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& f : files) sum += f.bytes.size();
  return sum;
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error("cannot read " + path);
  return bytes;
}

void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + partial);
  }
  fs::rename(partial, path);
}

corpus load_corpus(std::span<const std::string> sources) {
  std::vector<std::string> paths;
  for (const auto& s : sources) add_source(s, paths);
  corpus c;
  c.files.reserve(paths.size());
  for (auto& p : paths) {
    auto bytes = read_bytes(p);
    c.files.push_back({std::move(p), std::move(bytes)});
  }
  return c;
}

}  // namespace continuo_bench

// Prints the notes of a MIDI file: the five-line example of the README, with error handling.
//   read_notes FILE

#include <continuo/continuo.hpp>

#include <cstdio>

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: read_notes FILE\n");
    return 1;
  }
  const auto perf = continuo::read_performance(continuo::load_file(argv[1]));
  for (const auto& d : perf.diagnostics) std::fprintf(stderr, "%s\n", to_string(d).c_str());
  for (std::size_t i = 0; i < perf.notes.size(); ++i) {
    std::printf("%8.3f s  pitch %3d  velocity %3d  %.3f s long\n", perf.notes.onset_s[i], perf.notes.pitch[i],
                perf.notes.velocity[i], perf.notes.offset_s[i] - perf.notes.onset_s[i]);
  }
  return perf.status == continuo::read_status::invalid ? 2 : 0;
} catch (const continuo::error& e) {
  std::fprintf(stderr, "read_notes: %s\n", e.what());
  return 1;
}

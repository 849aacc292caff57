// Strict reading: read_smf and read_performance with read_options::strict.
//
// Checks, besides ASan and UBSan: the invariants of fuzz_support.hpp; that a strict read is "ok"
// or "invalid" with exactly one diagnostic (it stops at the first violation); and that it agrees
// with a lenient read of the same bytes: both are "ok" with the same events, or the lenient read
// lists the strict read's problem (id, offset, track) first.

#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace continuo;
  const std::span<const std::uint8_t> bytes(data, size);

  const auto strict = fuzz::read_options(true);
  const auto file = midi::read_smf(bytes, strict);
  fuzz::check_file(file, strict, size);
  if (file.status == read_status::invalid) {
    fuzz::check(file.diagnostics.size() == 1, "an invalid strict read has exactly one diagnostic", file.diagnostics);
  }

  const auto lenient = fuzz::read_options(false);
  const auto repaired = midi::read_smf(bytes, lenient);
  fuzz::check((file.status == read_status::ok) == (repaired.status == read_status::ok),
              "strict and lenient reads agree on 'ok'", repaired.diagnostics);
  if (file.status == read_status::ok) {
    fuzz::check(file == repaired, "strict and lenient reads of a valid file are equal");
  } else {
    // The same problem at the same place; the messages differ by the repair that only lenient
    // mode makes (docs/diagnostics.md; the corpus tests check the wording).
    const auto where = [](const diagnostic& d) { return std::tie(d.id, d.offset, d.track); };
    fuzz::check(!repaired.diagnostics.empty() && where(repaired.diagnostics.front()) == where(file.diagnostics.front()),
                "the lenient read's first diagnostic is the strict read's", repaired.diagnostics);
  }

  performance_options options;
  options.read = strict;
  const auto perf = read_performance(bytes, options);
  fuzz::check_performance(perf, options, file, size);
  return 0;
}

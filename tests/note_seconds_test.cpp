// Notes read in ticks only (performance_options::note_seconds = false): every function that needs
// their seconds refuses them with an error that names it and says what to do, and works once
// add_note_seconds has given them their seconds.

#include <continuo/continuo.hpp>

#include "support/test_support.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace {

using continuo::test::bytes;
using continuo::test::cat;
using continuo::test::end_of_track;
using continuo::test::smf;

/// A C major scale up and down, eighth notes at 120 bpm (96 PPQ), twice.
bytes scale_file() {
  bytes body;
  const int steps[] = {0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0};
  for (int repeat = 0; repeat < 2; ++repeat) {
    for (const int step : steps) {
      const auto pitch = static_cast<std::uint8_t>(60 + step);
      body.insert(body.end(), {0x00, 0x90, pitch, 80, 0x30, 0x80, pitch, 0});
    }
  }
  return smf().header(0, 1, 96).track(cat({body, end_of_track}));
}

TEST(note_seconds, every_function_that_needs_them_says_so_and_works_once_they_are_added) {
  const auto file = scale_file();
  const auto full = continuo::read_performance(file);
  auto ticks = continuo::read_performance(file, {.note_seconds = false});
  ASSERT_EQ(ticks.notes.size(), 30U);
  ASSERT_FALSE(ticks.notes.has_seconds());

  continuo::repertoire known;
  const auto piece = known.add("scale", full);
  const auto split = continuo::split_practice(full);
  const std::size_t n = full.notes.size();
  const std::vector<std::pair<std::string, std::function<void(const continuo::performance&)>>> uses{
      {"continuo::compute_features", [&](const auto& p) { (void)continuo::compute_features(p, 0, n, 0.0, 15.0); }},
      {"continuo::split_practice", [](const auto& p) { (void)continuo::split_practice(p); }},
      {"continuo::tempo_notes::of", [](const auto& p) { (void)continuo::estimate_tempo(p.notes); }},
      {"continuo::pitch_class_weights", [](const auto& p) { (void)continuo::estimate_key(p.notes); }},
      {"continuo::embed", [&](const auto& p) { (void)continuo::embed(p.notes, 0, n); }},
      {"continuo::embed_windows", [](const auto& p) { (void)continuo::embed_windows(p.notes); }},
      {"continuo::fingerprints", [&](const auto& p) { (void)continuo::fingerprints(p.notes, 0, n); }},
      {"continuo::repertoire::add", [](const auto& p) { continuo::repertoire().add("scale", p); }},
      {"continuo::repertoire::identify", [&](const auto& p) { (void)known.identify(p.notes, 0, n); }},
      {"continuo::repertoire::locate", [&](const auto& p) { (void)known.locate(p.notes, 0, n, piece); }},
      {"continuo::repertoire::analyse", [&](const auto& p) { (void)known.analyse(p, split); }},
  };
  for (const auto& [function, use] : uses) {
    SCOPED_TRACE(function);
    try {
      use(ticks);
      ADD_FAILURE() << "no error on notes without seconds";
    } catch (const continuo::error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("[performance.no_note_seconds] " + function + ": ", 0), 0U) << message;
      EXPECT_NE(message.find("add_note_seconds"), std::string::npos) << message;
    }
  }

  continuo::add_note_seconds(ticks);
  ASSERT_EQ(ticks, full);
  for (const auto& [function, use] : uses) {
    SCOPED_TRACE(function);
    EXPECT_NO_THROW(use(ticks));
  }
}

TEST(note_seconds, functions_that_read_only_onsets_take_notes_without_offsets) {
  // Notes built by hand from onsets and pitches, as the Python bindings build them for the repertoire.
  auto perf = continuo::read_performance(scale_file());
  perf.notes.offset_s.clear();
  const std::size_t n = perf.notes.size();
  EXPECT_FALSE(perf.notes.has_seconds());
  EXPECT_FALSE(continuo::embed(perf.notes, 0, n).empty());
  EXPECT_NO_THROW((void)continuo::embed_windows(perf.notes));
  EXPECT_NO_THROW((void)continuo::fingerprints(perf.notes, 0, n));
  continuo::repertoire known;
  const auto piece = known.add("scale", perf.notes, {});
  EXPECT_NO_THROW((void)known.identify(perf.notes, 0, n));
  EXPECT_NO_THROW((void)known.locate(perf.notes, 0, n, piece));
  // Those that need offsets say which column is missing.
  try {
    (void)continuo::compute_features(perf, 0, n, 0.0, 15.0);
    ADD_FAILURE() << "no error on notes without offsets";
  } catch (const continuo::error& e) {
    EXPECT_NE(std::string(e.what()).find("onset_s and offset_s need one value per note"), std::string::npos)
        << e.what();
  }
}

TEST(note_seconds, an_empty_performance_has_them) {
  const auto empty = continuo::read_performance(smf().header(0, 1, 96).track(end_of_track), {.note_seconds = false});
  EXPECT_TRUE(empty.notes.has_seconds());
  EXPECT_NO_THROW((void)continuo::compute_features(empty, 0, 0, 0.0, 0.0));
}

}  // namespace

// The names the C++ examples of README.md and docs/ take as given (a file's bytes, a take, a
// callback that uses a value), so that test_examples.py can compile each example as written.
#pragma once

#include <continuo/continuo.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace docs_context {

template <class... T>
void use(const T&... /*values*/) {}
template <class T>
void store(const T& /*value*/) {}

inline const std::vector<std::uint8_t> bytes;        // a MIDI file's bytes
inline const std::vector<std::uint8_t> score_bytes;  // a score's
inline const continuo::performance perf;
inline const continuo::performance take;
inline const std::size_t first = 0;  // notes [first, last) of the take
inline const std::size_t last = 0;
inline const std::vector<std::string> paths;
inline std::size_t total_notes = 0;
inline const std::vector<continuo::tick_t> ticks;
inline const std::vector<float> embedding;
inline const std::vector<float> query;
inline const std::vector<float> queries;
inline const std::uint64_t piece_id = 0;
inline const std::int64_t session_start_ns = 0;
inline const std::int64_t now_ns = 0;
inline const std::uint8_t channel = 0;
inline const std::uint8_t pitch = 60;

}  // namespace docs_context

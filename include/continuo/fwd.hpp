#pragma once
/// \file Cheap forward declarations of continuo's types.

#include <cstdint>

namespace continuo {
struct diagnostic;
enum class diagnostic_id : std::uint16_t;
enum class read_status : std::uint8_t;
class error;
class tempo_map;
struct time_signature;
struct key_signature;
struct note_columns;
struct pedal_span;
struct control_change;
struct performance;
struct performance_options;
class vector_index;
struct index_options;
struct search_filter;
struct search_hit;
struct vector_metadata;
enum class vector_storage : std::uint8_t;
namespace midi {
struct division;
struct event;
struct smf_file;
struct read_options;
struct read_limits;
struct write_options;
}  // namespace midi
}  // namespace continuo

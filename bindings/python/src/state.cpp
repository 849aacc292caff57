// Pickling: a performance as bytes and back. Field by field rather than a memcpy of the structs,
// so that padding never reaches the bytes (equal performances pickle to equal bytes) and the
// format does not depend on the compiler's layout or the machine's byte order.

#include "holder.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace continuo::python {
namespace {

constexpr char magic[8] = {'c', 'o', 'n', 't', 'i', 'n', 'u', 'o'};
constexpr std::uint32_t format_version = 1;

class writer {
 public:
  template <class T>
  void put(T value) {
    if constexpr (std::is_same_v<T, bool>) {
      put(static_cast<std::uint8_t>(value ? 1 : 0));
    } else if constexpr (std::is_enum_v<T>) {
      put(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      put(std::bit_cast<std::uint64_t>(static_cast<double>(value)));
    } else {
      using unsigned_t = std::make_unsigned_t<T>;
      const auto bits = static_cast<unsigned_t>(value);
      for (std::size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFFU));
    }
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    out_ += s;
  }
  template <class T, class F>
  void put_list(const std::vector<T>& items, F&& each) {
    put<std::uint64_t>(items.size());
    for (const auto& item : items) each(*this, item);
  }
  template <class T>
  void put_column(const std::vector<T>& column) {
    for (const auto& v : column) put(v);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class reader {
 public:
  explicit reader(std::span<const std::uint8_t> in) : in_(in) {}

  template <class T>
  T get() {
    if constexpr (std::is_same_v<T, bool>) {
      const auto b = get<std::uint8_t>();
      if (b > 1) fail("a boolean of " + std::to_string(b));
      return b == 1;
    } else if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(get<std::underlying_type_t<T>>());
    } else if constexpr (std::is_floating_point_v<T>) {
      return std::bit_cast<double>(get<std::uint64_t>());
    } else {
      using unsigned_t = std::make_unsigned_t<T>;
      need(sizeof(T));
      unsigned_t bits = 0;
      for (std::size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<unsigned_t>(unsigned_t{in_[pos_ + i]} << (8 * i));
      pos_ += sizeof(T);
      return static_cast<T>(bits);
    }
  }
  std::string get_string() {
    const auto size = get<std::uint64_t>();
    need(size);
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return s;
  }
  /// Reads a count of records of at least `min_size` bytes each, refusing counts the rest of the
  /// input cannot hold (so a corrupt count never allocates gigabytes).
  std::size_t get_count(std::size_t min_size) {
    const auto n = get<std::uint64_t>();
    if (n > (in_.size() - pos_) / min_size) fail("a count of " + std::to_string(n) + " records");
    return static_cast<std::size_t>(n);
  }
  template <class T>
  void get_column(std::vector<T>& column, std::size_t n) {
    column.resize(n);
    for (auto& v : column) v = get<T>();
  }
  void expect_magic() {
    need(sizeof magic);
    if (std::memcmp(in_.data() + pos_, magic, sizeof magic) != 0) fail("no continuo header");
    pos_ += sizeof magic;
  }
  void expect_end() const {
    if (pos_ != in_.size()) fail(std::to_string(in_.size() - pos_) + " bytes after the end");
  }
  [[noreturn]] static void fail(const std::string& what) {
    throw std::invalid_argument("not a pickled continuo.Performance: " + what);
  }

 private:
  void need(std::uint64_t size) const {
    if (size > in_.size() - pos_) fail("cut off at byte " + std::to_string(in_.size()));
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

template <class T>
T checked_enum(std::underlying_type_t<T> raw, std::initializer_list<T> allowed, const char* what) {
  for (const T v : allowed) {
    if (static_cast<std::underlying_type_t<T>>(v) == raw) return v;
  }
  reader::fail(std::string("an invalid ") + what + " " + std::to_string(raw));
}

}  // namespace

std::string serialize(const holder& h) {
  const performance& p = h.perf;
  writer w;
  for (const char c : magic) w.put(c);
  w.put(format_version);
  w.put(h.pairing);
  w.put(p.format);
  w.put(p.track_count);
  w.put(p.event_count);
  w.put(p.tempo.division().raw);
  const auto changes = p.tempo.changes();
  w.put<std::uint64_t>(changes.size());
  for (const auto& c : changes) {
    w.put(c.tick);
    w.put(c.us_per_quarter);
  }
  w.put_list(p.time_signatures, [](writer& o, const time_signature& s) {
    o.put(s.tick);
    o.put(s.time_s);
    o.put(s.numerator);
    o.put(s.denominator);
    o.put(s.clocks_per_click);
    o.put(s.thirty_seconds_per_quarter);
  });
  w.put_list(p.key_signatures, [](writer& o, const key_signature& k) {
    o.put(k.tick);
    o.put(k.time_s);
    o.put(k.sharps);
    o.put(k.minor);
  });
  const auto& n = p.notes;
  w.put<std::uint64_t>(n.size());
  w.put_column(n.onset_tick);
  w.put_column(n.offset_tick);
  w.put_column(n.onset_s);
  w.put_column(n.offset_s);
  w.put_column(n.pitch);
  w.put_column(n.velocity);
  w.put_column(n.release_velocity);
  w.put_column(n.channel);
  w.put_column(n.track);
  w.put_list(p.pedals, [](writer& o, const pedal_span& s) {
    o.put(s.onset_tick);
    o.put(s.offset_tick);
    o.put(s.onset_s);
    o.put(s.offset_s);
    o.put(s.kind);
    o.put(s.channel);
    o.put(s.track);
  });
  w.put_list(p.controls, [](writer& o, const control_change& c) {
    o.put(c.tick);
    o.put(c.channel);
    o.put(c.number);
    o.put(c.value);
    o.put(c.track);
  });
  w.put_list(p.programs, [](writer& o, const program_change& c) {
    o.put(c.tick);
    o.put(c.channel);
    o.put(c.program);
    o.put(c.track);
  });
  w.put_list(p.pitch_bends, [](writer& o, const pitch_bend& b) {
    o.put(b.tick);
    o.put(b.value);
    o.put(b.channel);
    o.put(b.track);
  });
  w.put(p.duration_tick);
  w.put(p.duration_s);
  w.put(p.status);
  w.put_list(p.diagnostics, [](writer& o, const diagnostic& d) {
    o.put(d.id);
    o.put(d.offset);
    o.put(d.track);
    o.put_string(d.message);
  });
  return w.take();
}

namespace {

/// Fails unless every value lies where a read file's would (the code that uses a performance indexes
/// tables by pitch and channel): a pickle can be damaged or forged.
void check_values(const performance& p) {
  const auto fail_at = [](const char* what, std::size_t i) {
    reader::fail(std::string(what) + " " + std::to_string(i) + " holds a value out of range");
  };
  const midi::division division = p.tempo.division();
  const bool division_ok = division.is_smpte() ? division.ticks_per_frame() > 0 &&
                                                     (division.smpte_fps() == 24 || division.smpte_fps() == 25 ||
                                                      division.smpte_fps() == 29 || division.smpte_fps() == 30)
                                               : division.ticks_per_quarter() > 0;
  if (!division_ok) reader::fail("division " + std::to_string(division.raw) + " is not one a file can have");
  const auto tick_ok = [](tick_t t) { return t >= 0 && t <= midi::event::max_tick; };
  const auto& n = p.notes;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!tick_ok(n.onset_tick[i]) || n.offset_tick[i] < n.onset_tick[i] || !tick_ok(n.offset_tick[i]) ||
        n.pitch[i] > 127 || n.velocity[i] > 127 || n.release_velocity[i] > 127 || n.channel[i] > 15) {
      fail_at("note", i);
    }
  }
  for (std::size_t i = 0; i < p.pedals.size(); ++i) {
    if (p.pedals[i].channel > 15 || p.pedals[i].offset_tick < p.pedals[i].onset_tick) fail_at("pedal", i);
  }
  for (std::size_t i = 0; i < p.controls.size(); ++i) {
    const auto& c = p.controls[i];
    if (c.channel > 15 || c.number > 127 || c.value > 127) fail_at("control change", i);
  }
  for (std::size_t i = 0; i < p.programs.size(); ++i) {
    if (p.programs[i].channel > 15 || p.programs[i].program > 127) fail_at("program change", i);
  }
  for (std::size_t i = 0; i < p.pitch_bends.size(); ++i) {
    const auto& b = p.pitch_bends[i];
    if (b.channel > 15 || b.value < -8192 || b.value > 8191) fail_at("pitch bend", i);
  }
  for (std::size_t i = 0; i < p.key_signatures.size(); ++i) {
    if (p.key_signatures[i].sharps < -7 || p.key_signatures[i].sharps > 7) fail_at("key signature", i);
  }
  for (std::size_t i = 0; i < p.time_signatures.size(); ++i) {
    const auto& t = p.time_signatures[i];
    if (t.numerator == 0 || t.denominator == 0 || (t.denominator & (t.denominator - 1)) != 0) {
      fail_at("time signature", i);
    }
  }
}

}  // namespace

holder deserialize(std::span<const std::uint8_t> bytes) {
  reader r(bytes);
  r.expect_magic();
  if (const auto v = r.get<std::uint32_t>(); v != format_version) {
    reader::fail("version " + std::to_string(v) + " (this build reads version " + std::to_string(format_version) + ")");
  }
  holder h;
  performance& p = h.perf;
  h.pairing = checked_enum<pairing_policy>(r.get<std::uint8_t>(),
                                           {pairing_policy::fifo, pairing_policy::lifo, pairing_policy::close_all},
                                           "pairing policy");
  p.format = r.get<std::uint16_t>();
  p.track_count = r.get<std::uint16_t>();
  p.event_count = r.get<std::uint64_t>();
  const midi::division division{r.get<std::uint16_t>()};
  std::vector<tempo_change> changes(r.get_count(12));
  for (auto& c : changes) {
    c.tick = r.get<tick_t>();
    c.us_per_quarter = r.get<std::uint32_t>();
  }
  p.tempo = tempo_map(division, changes);  // the changes of a map rebuild that very map
  p.time_signatures.resize(r.get_count(20));
  for (auto& s : p.time_signatures) {
    s.tick = r.get<tick_t>();
    s.time_s = r.get<seconds_t>();
    s.numerator = r.get<std::uint8_t>();
    s.denominator = r.get<std::uint8_t>();
    s.clocks_per_click = r.get<std::uint8_t>();
    s.thirty_seconds_per_quarter = r.get<std::uint8_t>();
  }
  p.key_signatures.resize(r.get_count(18));
  for (auto& k : p.key_signatures) {
    k.tick = r.get<tick_t>();
    k.time_s = r.get<seconds_t>();
    k.sharps = r.get<std::int8_t>();
    k.minor = r.get<bool>();
  }
  const std::size_t count = r.get_count(38);
  auto& n = p.notes;
  r.get_column(n.onset_tick, count);
  r.get_column(n.offset_tick, count);
  r.get_column(n.onset_s, count);
  r.get_column(n.offset_s, count);
  r.get_column(n.pitch, count);
  r.get_column(n.velocity, count);
  r.get_column(n.release_velocity, count);
  r.get_column(n.channel, count);
  r.get_column(n.track, count);
  p.pedals.resize(r.get_count(36));
  for (auto& s : p.pedals) {
    s.onset_tick = r.get<tick_t>();
    s.offset_tick = r.get<tick_t>();
    s.onset_s = r.get<seconds_t>();
    s.offset_s = r.get<seconds_t>();
    s.kind = checked_enum<pedal_kind>(r.get<std::uint8_t>(),
                                      {pedal_kind::sustain, pedal_kind::sostenuto, pedal_kind::soft}, "pedal kind");
    s.channel = r.get<std::uint8_t>();
    s.track = r.get<std::uint16_t>();
  }
  p.controls.resize(r.get_count(13));
  for (auto& c : p.controls) {
    c.tick = r.get<tick_t>();
    c.channel = r.get<std::uint8_t>();
    c.number = r.get<std::uint8_t>();
    c.value = r.get<std::uint8_t>();
    c.track = r.get<std::uint16_t>();
  }
  p.programs.resize(r.get_count(12));
  for (auto& c : p.programs) {
    c.tick = r.get<tick_t>();
    c.channel = r.get<std::uint8_t>();
    c.program = r.get<std::uint8_t>();
    c.track = r.get<std::uint16_t>();
  }
  p.pitch_bends.resize(r.get_count(13));
  for (auto& b : p.pitch_bends) {
    b.tick = r.get<tick_t>();
    b.value = r.get<std::int16_t>();
    b.channel = r.get<std::uint8_t>();
    b.track = r.get<std::uint16_t>();
  }
  p.duration_tick = r.get<tick_t>();
  p.duration_s = r.get<seconds_t>();
  p.status = checked_enum<read_status>(r.get<std::uint8_t>(),
                                       {read_status::ok, read_status::repaired, read_status::invalid}, "status");
  p.diagnostics.resize(r.get_count(22));
  for (auto& d : p.diagnostics) {
    d.id = r.get<diagnostic_id>();
    d.offset = r.get<std::uint64_t>();
    d.track = r.get<std::int32_t>();
    d.message = r.get_string();
  }
  r.expect_end();
  check_values(p);
  return h;
}

}  // namespace continuo::python

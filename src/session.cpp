#include "number_text.hpp"

#include <continuo/session.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace continuo {
namespace {

std::int64_t to_ns(double seconds) { return std::llround(seconds * 1e9); }

/// Returns the option in nanoseconds; throws std::invalid_argument, naming it, when it is not a
/// finite number of seconds in range (over 0, or 0 too where `zero_allowed`).
std::int64_t checked_gap_ns(double seconds, const char* name, bool zero_allowed = false) {
  // Over 0 means at least a nanosecond once rounded: a gap of 0 ns would end an attempt at every event.
  const bool low_ok = zero_allowed ? seconds >= 0 : seconds >= 0.5e-9;
  if (!low_ok || !(seconds <= sessionizer_options::max_gap_s)) {  // NaN fails both
    static_assert(sessionizer_options::max_gap_s == 1e9, "the message below names it");
    throw std::invalid_argument("sessionizer_options::" + std::string(name) + " must be a number of seconds " +
                                (zero_allowed ? "from 0" : "over 0") + " up to 1e9, not " +
                                detail::number_text(seconds));
  }
  return to_ns(seconds);
}

/// Throws std::invalid_argument for an event the sessionizer cannot place (`what`: the call).
void check_event(const char* what, std::int64_t time_ns, std::uint8_t channel = 0, std::uint8_t pitch = 0) {
  std::string wrong;
  if (time_ns < 0 || time_ns > sessionizer::max_time_ns) {
    wrong = "time_ns " + std::to_string(time_ns) +
            " is outside 0 to 2^62 (a monotonic clock that starts at 0 or later)";
  } else if (channel > 15) {
    wrong = "channel " + std::to_string(channel) + " is not 0-15";
  } else if (pitch > 127) {
    wrong = "pitch " + std::to_string(pitch) + " is not 0-127";
  } else {
    return;
  }
  throw std::invalid_argument(std::string("sessionizer::") + what + ": " + wrong);
}

// Restart detection (docs/sessions.md, "Restarts"): onsets within this of an event's first onset are
// one event (a chord, a rolled chord).
constexpr std::int64_t event_merge_ns = 50'000'000;
// The silence broke the playing off when the interval from the last onset to the next is at least
// this many times the longest interval between the attempt's recent events.
constexpr std::int64_t broke_off_ratio = 2;
// Of the events after the silence, this many top notes may differ from the passage they go back to
// (a wrong, missing or added note).
constexpr std::size_t probe_mismatches = 2;

std::string seconds_text(std::int64_t ns) { return std::to_string(static_cast<double>(ns) * 1e-9) + " s"; }

}  // namespace

sessionizer::sessionizer(const sessionizer_options& options)
    : attempt_gap_ns_(checked_gap_ns(options.attempt_gap_s, "attempt_gap_s")),
      restart_gap_ns_(checked_gap_ns(options.restart_gap_s, "restart_gap_s", true)),
      session_gap_ns_(checked_gap_ns(options.session_gap_s, "session_gap_s")),
      stuck_ns_(checked_gap_ns(options.stuck_s, "stuck_s")),
      clock_jump_ns_(checked_gap_ns(options.clock_jump_s, "clock_jump_s")),
      max_diagnostics_(options.max_diagnostics) {
  key_down_since_.fill(up);
  pedal_down_since_.fill(up);
}

void sessionizer::report(diagnostic_id id, std::int64_t time_ns, std::string message) {
  if (diagnostics_seen_++ < max_diagnostics_) diagnostics_.push_back({id, time_ns, std::move(message)});
}

/// Keeps the clock monotonic, and lets time pass up to `time_ns`.
void sessionizer::step_clock(std::int64_t& time_ns) {
  if (!started_) {
    started_ = true;
    clock_ns_ = quiet_since_ns_ = sound_stopped_ns_ = time_ns;
  } else if (time_ns < clock_ns_) {
    report(diagnostic_id::clock_backwards, time_ns,
           "event " + seconds_text(clock_ns_ - time_ns) + " older than the one before it; taken as simultaneous");
    time_ns = clock_ns_;
  } else if (time_ns - clock_ns_ > clock_jump_ns_) {
    report(diagnostic_id::clock_jump, time_ns, "the clock stepped forward by " + seconds_text(time_ns - clock_ns_));
  }
  release_stuck(time_ns);
  close_expired(time_ns);
  clock_ns_ = time_ns;
}

/// Releases keys and pedals held past stuck_s, at the moment they became stuck, in time order so
/// that the silence they leave starts at the right time.
void sessionizer::release_stuck(std::int64_t time_ns) {
  while (true) {
    std::int64_t earliest = up;
    int which = -1;  // a key index, or 2048 + channel for a pedal
    for (const std::uint16_t key : held_) {
      const auto since = key_down_since_[key];
      if (since != up && since + stuck_ns_ <= time_ns && (earliest == up || since < earliest)) {
        earliest = since;
        which = key;
      }
    }
    for (int ch = 0; ch < 16; ++ch) {
      const auto since = pedal_down_since_[static_cast<std::size_t>(ch)];
      if (since != up && since + stuck_ns_ <= time_ns && (earliest == up || since < earliest)) {
        earliest = since;
        which = 2048 + ch;
      }
    }
    if (which < 0) break;
    const std::int64_t at = earliest + stuck_ns_;
    close_expired(at);
    bool stopped_a_sound = true;
    if (which >= 2048) {
      stopped_a_sound = pedal_holds_sound_[static_cast<std::size_t>(which - 2048)];
      lift_pedal(static_cast<std::size_t>(which - 2048));
      report(diagnostic_id::stuck, at,
             "sustain pedal of channel " + std::to_string(which - 2048) + " held for " + seconds_text(stuck_ns_) +
                 "; taken as released");
    } else {
      key_down_since_[static_cast<std::size_t>(which)] = up;
      key_strikes_[static_cast<std::size_t>(which)] = 0;
      --keys_down_;
      report(diagnostic_id::stuck, at,
             "key " + std::to_string(which % 128) + " of channel " + std::to_string(which / 128) + " held for " +
                 seconds_text(stuck_ns_) + "; taken as released");
    }
    if (silent()) quiet_since_ns_ = at;
    if (stopped_a_sound && nothing_sounds()) sound_stopped_ns_ = at;
  }
  std::erase_if(held_, [this](std::uint16_t key) { return key_down_since_[key] == up; });
}

/// Closes the attempt whose silence has lasted attempt_gap, and then the session whose gap has.
void sessionizer::close_expired(std::int64_t time_ns) {
  if (attempt_open_ && silent() && time_ns - quiet_since_ns_ >= attempt_gap_ns_) {
    if (restart_pending_) resolve_restart(goes_back());
    close_attempt(quiet_since_ns_);
  }
  if (!attempt_open_ && session_open_ && time_ns - session_.end_ns >= session_gap_ns_) close_session();
}

void sessionizer::close_attempt(std::int64_t end_ns) {
  attempt_.end_ns = end_ns;
  session_.end_ns = end_ns;
  session_.playing_ns += attempt_.end_ns - attempt_.start_ns;
  session_.note_count += attempt_.note_count;
  ++session_.attempt_count;
  attempts_.push_back(attempt_);
  attempt_open_ = false;
}

/// Whether the playing broke off before the silence that a strike at `time_ns` ends: the interval
/// across the silence dwarfs every interval between the attempt's recent events.
bool sessionizer::broke_off(std::int64_t time_ns) const noexcept {
  const std::size_t n = std::min(history_count_, history_events);
  if (n < 3) return false;  // too little played to know its pace
  std::int64_t longest = 0;
  for (std::size_t i = history_count_ - n + 1; i < history_count_; ++i) {
    longest = std::max(longest, history_[i % history_events].time_ns - history_[(i - 1) % history_events].time_ns);
  }
  const std::int64_t across = time_ns - history_[(history_count_ - 1) % history_events].time_ns;
  return across >= broke_off_ratio * longest;
}

/// Whether the events after the silence play again a passage of the events before it.
bool sessionizer::goes_back() const noexcept {
  const std::size_t n = std::min(history_count_, history_events);
  if (probe_count_ < probe_events || n < probe_events) return false;
  for (std::size_t start = history_count_ - n; start + probe_events <= history_count_; ++start) {
    std::size_t same = 0;
    for (std::size_t k = 0; k < probe_events; ++k) {
      same += static_cast<std::size_t>(history_[(start + k) % history_events].top_pitch == probe_[k].top_pitch);
    }
    if (same + probe_mismatches >= probe_events) return true;
  }
  return false;
}

/// Decides a pending restart: either the attempt ends at the silence and a new one holds the notes
/// since, or the silence was part of the music and the attempt goes on.
void sessionizer::resolve_restart(bool restart) {
  restart_pending_ = false;
  if (restart) {
    const std::uint64_t notes_since = attempt_.first_note + attempt_.note_count - restart_first_note_;
    attempt_.note_count -= notes_since;
    close_attempt(restart_end_ns_);
    const std::int64_t start_ns = probe_[0].time_ns;  // the first strike after the silence
    attempt_ = {start_ns, start_ns, restart_first_note_, notes_since, sessions_seen_ - 1};
    attempt_open_ = true;
    ++attempts_seen_;
    history_count_ = 0;
  }
  for (std::size_t k = 0; k < probe_count_; ++k) history_[history_count_++ % history_events] = probe_[k];
  probe_count_ = 0;
}

/// Records a strike in the open attempt's events, or in the events after a silence, deciding the
/// restart once there are enough of them.
void sessionizer::track_onset(std::int64_t time_ns, std::uint8_t pitch) {
  if (restart_pending_) {
    if (probe_count_ > 0 && time_ns - probe_[probe_count_ - 1].time_ns < event_merge_ns) {
      auto& top = probe_[probe_count_ - 1].top_pitch;
      top = std::max(top, pitch);
      return;
    }
    if (probe_count_ < probe_events) {
      probe_[probe_count_++] = {time_ns, pitch};
      return;
    }
    resolve_restart(goes_back());  // the probe's last event is complete: decide, then record as usual
  }
  if (history_count_ > 0) {
    auto& last = history_[(history_count_ - 1) % history_events];
    if (time_ns - last.time_ns < event_merge_ns) {
      last.top_pitch = std::max(last.top_pitch, pitch);
      return;
    }
  }
  history_[history_count_++ % history_events] = {time_ns, pitch};
}

void sessionizer::close_session() {
  sessions_.push_back(session_);
  session_open_ = false;
}

void sessionizer::note_on(std::int64_t time_ns, std::uint8_t channel, std::uint8_t pitch) {
  check_event("note_on", time_ns, channel, pitch);
  step_clock(time_ns);
  if (!attempt_open_) {
    if (!session_open_) {
      session_ = {time_ns, time_ns, attempts_seen_, 0, 0, 0};
      session_open_ = true;
      ++sessions_seen_;
    }
    attempt_ = {time_ns, time_ns, notes_seen_, 0, sessions_seen_ - 1};
    attempt_open_ = true;
    ++attempts_seen_;
    history_count_ = 0;
  } else if (nothing_sounds() && !restart_pending_ && restart_gap_ns_ > 0 &&
             time_ns - sound_stopped_ns_ >= restart_gap_ns_ && broke_off(time_ns)) {
    // A silence shorter than attempt_gap after playing that broke off: a restart if what comes next
    // goes back to what was just played. Decided once enough events have come.
    restart_pending_ = true;
    restart_end_ns_ = sound_stopped_ns_;
    restart_first_note_ = notes_seen_;
  }
  ++attempt_.note_count;
  ++notes_seen_;
  if (restart_gap_ns_ > 0) track_onset(time_ns, pitch);
  const auto key = static_cast<std::uint16_t>(channel * 128U + pitch);
  if (key_down_since_[key] == up) {
    ++keys_down_;
    held_.push_back(key);
  }
  key_down_since_[key] = time_ns;  // a strike again restarts the stuck-key clock
  ++key_strikes_[key];
  if (pedal_down_since_[channel] != up) hold_sound(channel);
}

void sessionizer::note_off(std::int64_t time_ns, std::uint8_t channel, std::uint8_t pitch) {
  check_event("note_off", time_ns, channel, pitch);
  step_clock(time_ns);
  const auto key = static_cast<std::uint16_t>(channel * 128U + pitch);
  if (key_down_since_[key] == up) return;  // released already (or stuck and released)
  if (--key_strikes_[key] > 0) return;
  key_down_since_[key] = up;
  --keys_down_;
  if (silent()) quiet_since_ns_ = time_ns;
  if (nothing_sounds()) sound_stopped_ns_ = time_ns;
}

void sessionizer::sustain(std::int64_t time_ns, std::uint8_t channel, bool down) {
  check_event("sustain", time_ns, channel);
  step_clock(time_ns);
  const std::size_t ch = channel;
  if (down && pedal_down_since_[ch] == up) {
    pedal_down_since_[ch] = time_ns;
    ++pedals_down_;
    // Pressed in silence, the pedal holds no sound until a key is struck. It keeps the attempt open
    // (the pianist is about to play on) but does not hide a restart. A sound that stopped at this very
    // instant counts as sounding, so that the order of simultaneous events does not matter.
    if (!nothing_sounds() || (attempt_open_ && sound_stopped_ns_ == time_ns)) hold_sound(ch);
  } else if (!down && pedal_down_since_[ch] != up) {
    const bool held_sound = pedal_holds_sound_[ch];
    lift_pedal(ch);
    if (silent()) quiet_since_ns_ = time_ns;
    if (held_sound && nothing_sounds()) sound_stopped_ns_ = time_ns;
  }
}

void sessionizer::hold_sound(std::size_t channel) {
  if (!pedal_holds_sound_[channel]) ++pedals_holding_;
  pedal_holds_sound_[channel] = true;
}

void sessionizer::lift_pedal(std::size_t channel) {
  pedal_down_since_[channel] = up;
  --pedals_down_;
  if (pedal_holds_sound_[channel]) --pedals_holding_;
  pedal_holds_sound_[channel] = false;
}

void sessionizer::advance(std::int64_t time_ns) {
  check_event("advance", time_ns);
  step_clock(time_ns);
}

void sessionizer::finish() {
  if (attempt_open_) {
    if (restart_pending_) resolve_restart(goes_back());
    if (!silent()) quiet_since_ns_ = clock_ns_;  // still sounding when the stream ended
    close_attempt(quiet_since_ns_);
  }
  if (session_open_) close_session();
}

std::vector<attempt_span> sessionizer::take_attempts() { return std::exchange(attempts_, {}); }
std::vector<session_span> sessionizer::take_sessions() { return std::exchange(sessions_, {}); }
std::vector<session_diagnostic> sessionizer::take_diagnostics() { return std::exchange(diagnostics_, {}); }

practice_split split_practice(const performance& perf, const sessionizer_options& options) {
  detail::require_note_seconds(perf.notes, "continuo::split_practice");
  // Every note-on, note-off and sustain change as one time-ordered stream. At one instant, releases
  // come first (so a release and a new strike together leave no gap), then strikes in note order,
  // then the releases of what was pressed at that very instant (a note or a pedal press of no
  // length, as files hold: released before its strike, it would stay down until taken as stuck).
  enum kind : std::uint8_t { release, pedal_up, pedal_down, strike, instant_release, instant_pedal_up };
  struct item {
    std::int64_t time_ns;
    kind what;
    std::uint32_t index;  // note index, or channel for the pedal
  };
  const auto& notes = perf.notes;
  // Notes and pedals pressed past the end of the clock are left out; those released past it are
  // released there. Notes are in onset order, so the ones left out are the last.
  constexpr double clock_end_s = static_cast<double>(sessionizer::max_time_ns) / 1e9;
  const auto clock_ns = [](double seconds) {
    return seconds < clock_end_s ? to_ns(seconds) : sessionizer::max_time_ns;
  };
  const auto in_clock = static_cast<std::uint32_t>(
      std::partition_point(notes.onset_s.begin(), notes.onset_s.end(), [](double t) { return t < clock_end_s; }) -
      notes.onset_s.begin());
  std::vector<item> stream;
  stream.reserve(std::size_t{in_clock} * 2 + perf.pedals.size() * 2);
  for (std::uint32_t i = 0; i < in_clock; ++i) {
    const std::int64_t on_ns = clock_ns(notes.onset_s[i]);
    const std::int64_t off_ns = clock_ns(notes.offset_s[i]);
    stream.push_back({on_ns, strike, i});
    stream.push_back({off_ns, off_ns == on_ns ? instant_release : release, i});
  }
  // The pedal acts on a channel: spans of several tracks merge into one state per channel.
  std::array<std::vector<std::pair<std::int64_t, std::int64_t>>, 16> held;
  for (const auto& p : perf.pedals) {
    if (p.kind == pedal_kind::sustain && p.onset_s < clock_end_s) {
      held[p.channel & 0xFU].emplace_back(clock_ns(p.onset_s), clock_ns(p.offset_s));
    }
  }
  for (std::uint32_t ch = 0; ch < 16; ++ch) {
    auto& spans = held[ch];
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 0; i < spans.size();) {
      auto [down, up_ns] = spans[i];
      while (++i < spans.size() && spans[i].first <= up_ns) up_ns = std::max(up_ns, spans[i].second);
      stream.push_back({down, pedal_down, ch});
      stream.push_back({up_ns, up_ns == down ? instant_pedal_up : pedal_up, ch});
    }
  }
  std::sort(stream.begin(), stream.end(), [](const item& a, const item& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.what != b.what ? a.what < b.what : a.index < b.index;
  });

  sessionizer s(options);
  for (const auto& e : stream) {
    switch (e.what) {
      case strike: s.note_on(e.time_ns, notes.channel[e.index], notes.pitch[e.index]); break;
      case release:
      case instant_release: s.note_off(e.time_ns, notes.channel[e.index], notes.pitch[e.index]); break;
      case pedal_down: s.sustain(e.time_ns, static_cast<std::uint8_t>(e.index), true); break;
      case pedal_up:
      case instant_pedal_up: s.sustain(e.time_ns, static_cast<std::uint8_t>(e.index), false); break;
    }
  }
  s.finish();
  practice_split split{s.take_sessions(), s.take_attempts(), s.take_diagnostics()};
  if (in_clock < notes.size()) {
    split.diagnostics.push_back(
        {diagnostic_id::clock_limit, sessionizer::max_time_ns,
         std::to_string(notes.size() - in_clock) + " note(s) from " + std::to_string(notes.onset_s[in_clock]) +
             " s on start past the sessionizer's clock (2^62 ns, about 146 years) and were left out"});
  }
  return split;
}

}  // namespace continuo

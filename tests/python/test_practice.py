"""Sessions, attempts and features from Python: the C++ sessionizer and features through the binding."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import continuo


def scale_bursts() -> continuo.Performance:
    """Three bursts of a C major scale (8 eighth notes at 120 bpm), 1 s and then 20 s apart."""
    onsets: list[float] = []
    for start in (0.0, 5.0, 29.0):
        onsets += [start + 0.25 * k for k in range(8)]
    onset_s = np.array(onsets)
    pitch = np.tile(np.array([60, 62, 64, 65, 67, 69, 71, 72]), 3)
    return continuo.from_notes({"onset_s": onset_s, "offset_s": onset_s + 0.2, "pitch": pitch, "velocity": 70})


def test_sessions_split_attempts_at_the_gap() -> None:
    perf = scale_bursts()
    practice = continuo.sessions(perf, attempt_gap=3.0)
    assert [(round(a.start_s, 3), round(a.end_s, 3)) for a in practice.attempts] == [(0.0, 1.95), (5.0, 6.95), (29.0, 30.95)]
    assert [a.first_note for a in practice.attempts] == [0, 8, 16]
    assert len(practice.sessions) == 1 and practice.sessions[0].attempt_count == 3
    assert practice.sessions[0].playing_s == pytest.approx(3 * 1.95)
    merged = continuo.sessions(perf, attempt_gap=4.0, restart_gap=0, session_gap=10.0)
    assert len(merged.attempts) == 2 and len(merged.sessions) == 2
    # Played again from its start after 3 s, the scale is a restart, whatever the attempt gap.
    assert len(continuo.sessions(perf, attempt_gap=4.0).attempts) == 3
    assert list(practice.to_pandas()["note_count"]) == [8, 8, 8]


def test_the_live_sessionizer_agrees_with_sessions() -> None:
    perf = scale_bursts()
    live = continuo.Sessionizer(attempt_gap=3.0)
    notes = perf.notes
    events = sorted(
        [(int(round(t * 1e9)), 1, int(p)) for t, p in zip(notes["onset_s"], notes["pitch"])]
        + [(int(round(t * 1e9)), 0, int(p)) for t, p in zip(notes["offset_s"], notes["pitch"])]
    )
    for time_ns, on, pitch in events:
        (live.note_on if on else live.note_off)(time_ns, 0, pitch)
    live.finish()
    assert live.take_attempts() == list(continuo.sessions(perf, attempt_gap=3.0).attempts)
    assert not live.in_attempt


def test_features_name_every_column_and_measure_the_scale() -> None:
    perf = scale_bursts()
    practice = continuo.sessions(perf)
    columns = continuo.features(perf, practice.attempts)
    assert list(columns) == list(continuo.FEATURE_NAMES)
    assert all(len(v) == 3 for v in columns.values())
    assert columns["note_count"].tolist() == [8, 8, 8]
    assert columns["pitch_range"].tolist() == [12, 12, 12]
    assert columns["ioi_median_s"] == pytest.approx([0.25] * 3)
    whole = continuo.features(perf)
    assert whole["note_count"].tolist() == [24] and whole["key_sharps"].tolist() == [0]


def restart() -> continuo.Performance:
    """A line of 12 notes that breaks off, and 1.5 s later starts again from its fifth note."""
    line = np.array([60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 77, 76, 74, 72])
    first = 0.2 * np.arange(12)
    again = first[-1] + 0.15 + 1.5 + 0.2 * np.arange(12)
    onset_s = np.concatenate([first, again])
    pitch = np.concatenate([line[:12], line[4:]])
    return continuo.from_notes({"onset_s": onset_s, "offset_s": onset_s + 0.15, "pitch": pitch, "velocity": 70})


def test_sessions_split_at_a_restart_unless_told_not_to() -> None:
    perf = restart()
    practice = continuo.sessions(perf)
    assert [(a.first_note, a.note_count) for a in practice.attempts] == [(0, 12), (12, 12)]
    assert practice.attempts[1].start_s == pytest.approx(0.2 * 11 + 0.15 + 1.5)
    assert len(continuo.sessions(perf, restart_gap=0).attempts) == 1
    live = continuo.Sessionizer()
    for t, p in zip(perf.notes["onset_s"], perf.notes["pitch"]):
        live.note_on(int(round(t * 1e9)), 0, int(p))
        live.note_off(int(round((t + 0.15) * 1e9)), 0, int(p))
    live.finish()
    assert live.take_attempts() == list(practice.attempts)


def test_bad_thresholds_raise() -> None:
    with pytest.raises(ValueError, match="attempt_gap"):
        continuo.sessions(scale_bursts(), attempt_gap=0)
    with pytest.raises(ValueError, match="restart_gap"):
        continuo.sessions(scale_bursts(), restart_gap=-1)
    with pytest.raises(ValueError, match="restart_gap"):
        continuo.Sessionizer(restart_gap=float("nan"))
    with pytest.raises(ValueError, match="session_gap must be a number of seconds over 0 up to 1e9, not inf"):
        continuo.Sessionizer(session_gap=float("inf"))
    with pytest.raises(ValueError, match="^stuck must be"):
        continuo.sessions(scale_bursts(), stuck=1e10)


def test_attempts_that_do_not_fit_the_performance_are_refused_naming_the_field() -> None:
    perf = scale_bursts()
    n = len(perf.notes["pitch"])
    A = continuo.Attempt
    for attempt, error, message in [
        (A(float("nan"), 10.0, 0, 5, 0), ValueError, r"attempts\[0\]\.start_s must be a finite number"),
        (A(0.0, float("inf"), 0, 5, 0), ValueError, r"attempts\[0\]\.end_s must be a finite number"),
        (A(5.0, 1.0, 0, 5, 0), ValueError, "start_s 5.0 is after end_s 1.0"),
        (A(0.0, 10.0, n + 1, 0, 0), ValueError, f"are not among the performance's {n} notes"),
        (A(0.0, 10.0, 2, n - 1, 0), ValueError, f"are not among the performance's {n} notes"),
        (A(0.0, 10.0, 1.7, 5, 0), TypeError, r"first_note must be a whole number, not 1\.7"),  # type: ignore[arg-type]
        (A(0.0, 10.0, 0, "5", 0), TypeError, "note_count must be a whole number"),  # type: ignore[arg-type]
        ((0.0, 10.0, 0, 5, 0), TypeError, "must be a continuo.Attempt"),
    ]:
        with pytest.raises(error, match=message):
            continuo.features(perf, [attempt])  # type: ignore[list-item]
    # A generator is read once, and gives what the list gives.
    attempts = continuo.sessions(perf).attempts
    by_generator = continuo.features(perf, (a for a in attempts))
    assert all(np.array_equal(v, continuo.features(perf, attempts)[k]) for k, v in by_generator.items())


def test_what_is_not_a_performance_is_a_type_error_saying_where_one_comes_from() -> None:
    for call in (continuo.sessions, continuo.features, continuo.estimate_tempo, continuo.estimate_key):
        with pytest.raises(TypeError, match="perf must be a continuo.Performance .* not str"):
            call("take.mid")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start_s must be a number of seconds or None"):
        continuo.estimate_tempo(scale_bursts(), "0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="down must be True"):
        continuo.Sessionizer().sustain(0, 0, None)  # type: ignore[arg-type]


def test_a_note_of_no_length_holds_no_key() -> None:
    # Released before it was struck, a note of no length stayed down until taken as stuck (120 s).
    perf = continuo.from_notes(
        {"onset_s": [1.0, 1.5, 300.0], "offset_s": [1.0, 1.6, 300.5], "pitch": [60, 64, 67]}, ppq=480, tempo=120.0
    )
    practice = continuo.sessions(perf)
    assert [(a.start_s, a.end_s) for a in practice.attempts] == [(1.0, 1.6), (300.0, 300.5)]
    assert practice.diagnostics == ()


def test_practice_tables_are_named() -> None:
    practice = continuo.sessions(scale_bursts())
    assert len(practice.to_pandas("sessions")) == len(practice.sessions)
    with pytest.raises(ValueError, match="no table 'session': choose 'attempts' or 'sessions'"):
        practice.to_pandas("session")  # type: ignore[arg-type]


def test_live_events_out_of_range_raise_and_change_nothing() -> None:
    live = continuo.Sessionizer()
    with pytest.raises(ValueError, match="time_ns -1 is outside 0 to 2"):
        live.note_on(-1, 0, 60)
    with pytest.raises(ValueError, match="channel 16 is not 0-15"):
        live.note_on(0, 16, 60)
    with pytest.raises(ValueError, match="pitch 128 is not 0-127"):
        live.note_off(0, 0, 128)
    with pytest.raises(ValueError, match="advance: time_ns"):
        live.advance(2**62 + 1)
    assert not live.in_session
    live.note_on(0, 0, 60)
    twin = copy.copy(live)  # the same state from here on, but its own
    live.note_off(500_000_000, 0, 60)
    live.finish()
    assert [(a.start_s, a.end_s) for a in live.take_attempts()] == [(0.0, 0.5)]
    assert twin.keys_down == 1 and twin.take_attempts() == []
    twin.note_off(2_000_000_000, 0, 60)
    twin.finish()
    assert [(a.start_s, a.end_s) for a in twin.take_attempts()] == [(0.0, 2.0)]


def metronomic_c_major(seconds: float = 40.0, bpm: float = 120.0, bass: bool = True) -> continuo.Performance:
    """Quarter notes up and down a C major scale, with C and G in the bass on every fourth beat."""
    beat_s = 60.0 / bpm
    onsets = np.arange(0.0, seconds, beat_s)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62])
    pitch = scale[np.arange(len(onsets)) % len(scale)]
    chords = onsets[::4] if bass else onsets[:0]
    return continuo.from_notes({
        "onset_s": np.concatenate([onsets, chords, chords]),
        "offset_s": np.concatenate([onsets, chords, chords]) + 0.9 * beat_s,
        "pitch": np.concatenate([pitch, np.full(len(chords), 48), np.full(len(chords), 43)]),
        "velocity": 70,
    })  # fmt: skip


def test_estimate_tempo_finds_a_metronome_in_any_window() -> None:
    perf = metronomic_c_major(bpm=120.0, bass=False)  # with the bass, 60 bpm (half notes) is as fair a reading
    whole = continuo.estimate_tempo(perf)
    assert whole.bpm == pytest.approx(120.0, rel=1e-3) and whole.tempo_spread == pytest.approx(0.0, abs=1e-6)
    assert 0 < whole.confidence <= 1 and whole.beat_count > 70
    assert continuo.estimate_tempo(perf, 10.0, 20.0).bpm == pytest.approx(120.0, rel=1e-3)
    empty = continuo.estimate_tempo(perf, 100.0, 200.0)
    assert empty.bpm == 0 and empty.confidence == 0
    assert continuo.estimate_tempo(perf, 20.0, 10.0).bpm == 0  # an empty window, not an error
    assert continuo.estimate_tempo(perf, -np.inf, np.inf) == whole
    for estimate in (continuo.estimate_tempo, continuo.estimate_key):
        with pytest.raises(ValueError, match="start_s must be a number of seconds or None"):
            estimate(perf, float("nan"), 10.0)
        with pytest.raises(ValueError, match="end_s must be a number of seconds or None"):
            estimate(perf, 0.0, float("nan"))


def test_estimate_key_names_the_signature_and_takes_a_profile() -> None:
    perf = metronomic_c_major()
    key = continuo.estimate_key(perf)
    assert key.sharps == 0 and key.name == "C major" and key.note_count == len(perf.notes["pitch"])
    assert continuo.estimate_key(perf, 0.0, 5.0, profile="krumhansl_kessler").note_count == 10 + 2 * 3
    up_a_fifth = continuo.from_notes({**perf.notes, "pitch": perf.notes["pitch"] + 7})
    assert continuo.estimate_key(up_a_fifth).sharps == 1
    assert [continuo.key_name(s) for s in (-6, 6, 5 + 12 * 10**30)] == ["Gb major", "Gb major", "B major"]
    assert continuo.key_name(np.float64(3.0), minor=np.float64(1.0)) == "F# minor"  # as the features columns hold them
    with pytest.raises(ValueError, match="unknown key profile 'shepard'"):
        continuo.estimate_key(perf, profile="shepard")  # type: ignore[arg-type]

"""Sessions, attempts and features from Python: the C++ sessionizer and features through the binding."""

from __future__ import annotations

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
    merged = continuo.sessions(perf, attempt_gap=4.0, session_gap=10.0)
    assert len(merged.attempts) == 2 and len(merged.sessions) == 2
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


def test_bad_thresholds_raise() -> None:
    with pytest.raises(ValueError, match="attempt_gap"):
        continuo.sessions(scale_bursts(), attempt_gap=0)

"""Embeddings and passages from Python: the C++ embedding and passage discovery through the binding."""

from __future__ import annotations

import numpy as np
import pytest

import continuo
from synthetic_music import two_voice


def phrase(seed: int, events: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Onsets (in beats) and pitches of a random two-voice phrase."""
    return two_voice(seed, events)


def performance(parts: list[tuple[int, float]]) -> continuo.Performance:
    """Plays phrase(seed) at each bpm in turn, 5 s apart."""
    onsets, pitches, now = [], [], 0.0
    for seed, bpm in parts:
        beats, pitch = phrase(seed)
        onset = now + beats * 60.0 / bpm
        onsets.append(onset)
        pitches.append(pitch)
        now = float(onset[-1]) + 5.0
    onset_s = np.concatenate(onsets)
    return continuo.from_notes(
        {"onset_s": onset_s, "offset_s": onset_s + 0.1, "pitch": np.concatenate(pitches), "velocity": 70}
    )


def test_embed_is_a_unit_float32_vector_robust_to_tempo() -> None:
    a = continuo.embed(performance([(1, 80)]))
    b = continuo.embed(performance([(1, 110)]))
    c = continuo.embed(performance([(2, 80)]))
    assert a.dtype == np.float32 and a.shape == (1024,)
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-5)
    assert float(a @ b) > 0.95
    assert float(a @ c) < 0.5
    assert np.array_equal(a, continuo.embed(performance([(1, 80)])))


def test_embed_of_a_range_and_transposition_invariance() -> None:
    perf = performance([(1, 80), (2, 80)])
    first = continuo.embed(perf, 0.0, 20.0)
    assert float(first @ continuo.embed(performance([(1, 80)]))) > 0.8
    onset, pitch = phrase(3)
    up = continuo.embed_notes(onset, pitch + 5, transposition_invariant=True)
    assert float(up @ continuo.embed_notes(onset, pitch, transposition_invariant=True)) > 0.95
    assert float(continuo.embed_notes(onset, pitch + 5) @ continuo.embed_notes(onset, pitch)) < 0.5
    assert not continuo.embed_notes(np.zeros(0), np.zeros(0, np.uint8)).any()


def test_embed_windows_rows_match_embed_of_their_notes() -> None:
    perf = performance([(1, 80), (2, 90), (3, 100)])
    vectors, windows = continuo.embed_windows(perf, seconds=10.0, hop=2.5)
    assert vectors.shape == (len(windows), 1024) and len(windows) > 5
    onset, pitch = perf.notes["onset_s"], perf.notes["pitch"]
    k = len(windows) // 2
    first, last = int(windows.first_note[k]), int(windows.last_note[k])
    assert np.array_equal(vectors[k], continuo.embed_notes(onset[first:last], pitch[first:last]))
    assert int(windows.last_note[-1]) == len(onset)
    two, _ = continuo.embed_windows(perf, seconds=10.0, hop=2.5, threads=2)
    assert np.array_equal(vectors, two)
    by_events, _ = continuo.embed_windows(perf, events=30, hop_events=10)
    assert by_events.shape[1] == 1024
    with pytest.raises(ValueError):
        continuo.embed_windows(perf, seconds=0.0)


def test_embeddings_refuse_what_would_give_no_vector_or_no_end() -> None:
    perf = continuo.from_notes({"onset_s": [0.0, 1.0, 2.0], "offset_s": [0.5, 1.5, 2.5], "pitch": [60, 62, 64]})
    for weight in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="triple_weight must be a finite number of 0 or more"):
            continuo.embed(perf, triple_weight=weight)
        with pytest.raises(ValueError, match="rhythm_weight"):
            continuo.embed_windows(perf, rhythm_weight=weight)
    for hop in (1e-9, 1e-300):  # hop by hop, these would take hours or never end
        with pytest.raises(ValueError, match="at most a million windows may overlap"):
            continuo.embed_windows(perf, 0.5, hop)
    with pytest.raises(ValueError, match="seconds and hop must be finite"):
        continuo.embed_windows(perf, float("inf"))
    with pytest.raises(ValueError, match="pitch 200 of note 1 is not 0-127"):
        continuo.embed_notes([0.0, 1.0], [60, 200])
    with pytest.raises(ValueError, match="triple_dimension must be at most 2\\^20"):
        continuo.embed(perf, triple_dimension=10**9)


def test_passages_finds_a_drilled_phrase_with_its_tempo() -> None:
    monday = performance([(100, 90), (1, 60), (101, 90), (1, 70), (102, 90), (1, 80)])
    tuesday = performance([(1, 90), (103, 90)])
    found = continuo.passages([("mon", 0.0, monday), ("tue", 86_400.0, tuesday)])
    drilled = max(found, key=lambda p: len(p.occurrences))
    assert len(drilled.occurrences) == 4
    assert [o.session for o in drilled.occurrences] == ["mon", "mon", "mon", "tue"]
    ratios = [o.tempo_ratio for o in drilled.occurrences]
    assert ratios == pytest.approx([1.0, 70 / 60, 80 / 60, 90 / 60], rel=0.06)
    frame = drilled.to_pandas()
    assert list(frame["session"]) == ["mon", "mon", "mon", "tue"] and set(frame["passage"]) == {drilled.id}
    again = continuo.passages([("mon", 0.0, monday)])
    assert drilled.id in {p.id for p in again}


def test_passages_rejects_bad_arguments() -> None:
    perf = performance([(1, 80)])
    assert continuo.passages([perf]) == []
    with pytest.raises(ValueError):
        continuo.passages([("a", 0.0, perf), ("a", 1.0, perf)])
    with pytest.raises(ValueError):
        continuo.passages([perf], attempt_gap=0.0)

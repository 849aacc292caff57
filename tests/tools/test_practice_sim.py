"""The practice simulator: deterministic, and its ground truth agrees with its own MIDI output."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import continuo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "practice-sim"))
import practice_sim as sim  # noqa: E402  (a tool's module, beside its script)


def synthetic_piece(name: str, bars: int = 24, bar_s: float = 2.0) -> sim.Piece:
    """A piece of eighth notes, a bar every bar_s seconds, pedalled per bar."""
    onset = np.arange(0, bars * bar_s, bar_s / 8)
    pitch = 60 + (np.arange(len(onset)) * 5) % 24
    return sim.Piece(
        name=name,
        composer="Test",
        title=name,
        onset_s=onset,
        offset_s=onset + bar_s / 8 * 0.9,
        pitch=pitch.astype(np.int64),
        velocity=np.full(len(onset), 70, dtype=np.int64),
        pedal=np.column_stack([np.arange(bars) * bar_s + 0.05, np.arange(bars) * bar_s + bar_s - 0.1]),
        downbeats_s=(np.arange(bars + 1) * bar_s).astype(np.float64),
    )


@pytest.fixture(scope="module")
def simulator() -> sim.Simulator:
    return sim.Simulator([synthetic_piece("a"), synthetic_piece("b", bar_s=1.5), synthetic_piece("c")], seed=7)


def test_the_same_seed_gives_the_same_files(simulator: sim.Simulator, tmp_path: Path) -> None:
    first = simulator.day(0).write(tmp_path / "1")
    again = sim.Simulator(simulator.pieces, seed=7).day(0).write(tmp_path / "2")
    assert first.read_bytes() == again.read_bytes()
    assert (tmp_path / "1" / "day_000.json").read_text() == (tmp_path / "2" / "day_000.json").read_text()
    other = sim.Simulator(simulator.pieces, seed=8).day(0).write(tmp_path / "3")
    assert other.read_bytes() != first.read_bytes()


@pytest.mark.parametrize("index", range(6))
def test_every_note_of_the_file_lies_in_exactly_one_attempt(simulator: sim.Simulator, tmp_path: Path, index: int) -> None:
    path = simulator.day(index).write(tmp_path)
    truth = json.loads(path.with_suffix(".json").read_text())
    perf = continuo.read(path)
    assert perf.status == "ok"
    onsets = perf.notes["onset_s"]
    attempts = [a for s in truth["sessions"] for a in s["attempts"]]
    assert attempts, "a day has attempts"
    tolerance = 1.0 / sim.TICKS_PER_SECOND  # notes are written on a tick grid
    inside = np.zeros(len(onsets), dtype=int)
    for a in attempts:
        hits = (onsets >= a["start_s"] - tolerance) & (onsets <= a["end_s"] + tolerance)
        assert int(hits.sum()) == a["note_count"], a
        inside += hits
    assert (inside == 1).all()
    starts = [a["start_s"] for a in attempts]
    ends = [a["end_s"] for a in attempts]
    assert all(e < s for e, s in zip(ends, starts[1:])), "attempts are separated by pauses"


def test_drills_speed_up_and_stay_inside_the_piece(simulator: sim.Simulator) -> None:
    for index in range(4):
        for session in simulator.day(index).sessions:
            drills = [a for a in session.attempts if a.kind == "drill"]
            for a in drills:
                assert a.bars is not None and 0 <= a.bars[0] < a.bars[1] <= 24
            runs: list[list[float]] = []
            for a, b in zip(drills, drills[1:]):
                if a.bars == b.bars and a.piece == b.piece:
                    assert b.tempo_factor > a.tempo_factor
                    runs.append([a.tempo_factor, b.tempo_factor])
            assert drills == [] or runs, "a drilled passage is played more than once"


def test_sessions_of_one_day_are_far_apart(simulator: sim.Simulator) -> None:
    for index in range(8):
        sessions = simulator.day(index).sessions
        for a, b in zip(sessions, sessions[1:]):
            assert b.start_s - a.end_s > 20 * 60


def test_command_line_writes_days_from_a_corpus(tmp_path: Path) -> None:
    corpus = os.environ.get("CONTINUO_CORPUS")
    if not corpus or not (Path(corpus) / "asap" / "metadata.csv").is_file():
        if os.environ.get("CONTINUO_REQUIRE_CORPUS") == "1":
            pytest.fail("CONTINUO_CORPUS is required but has no asap/metadata.csv")
        pytest.skip("set CONTINUO_CORPUS=../shared/corpus to simulate from ASAP")
    assert sim.main([str(Path(corpus) / "asap"), str(tmp_path), "--days", "2", "--pieces", "12", "--seed", "3"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day_000.json", "day_000.mid", "day_001.json", "day_001.mid"]


def test_a_midi_file_is_practised_bar_by_bar_from_its_time_signatures(tmp_path: Path) -> None:
    # 32 quarter notes in 3/4 at 120 bpm: bars start every 1.5 s.
    onsets = np.arange(32) * 480
    perf = continuo.from_notes(
        {"onset_tick": onsets, "offset_tick": onsets + 400, "pitch": 60 + np.arange(32) % 12},
        time_signatures={"tick": np.array([0]), "numerator": np.array([3]), "denominator": np.array([4])},
    )
    path = tmp_path / "waltz.mid"
    perf.write(path)
    piece = sim.load_midi_piece(path)
    assert piece.downbeats_s[:4] == pytest.approx([0.0, 1.5, 3.0, 4.5])
    assert piece.bar_count == 11  # 32 beats: ten whole bars and the start of an eleventh
    day = sim.Simulator([piece], seed=2).day(0)
    assert day.sessions and all(a.bars is None or a.bars[1] <= piece.bar_count for s in day.sessions for a in s.attempts)

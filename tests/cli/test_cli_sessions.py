"""`continuo sessions`: sessions and attempts of a take, with the features of each attempt, as a table and
as JSON; the thresholds re-split the same take."""

from __future__ import annotations

import csv
import io
import json
import pathlib
from typing import Any

import numpy as np
import pytest

import continuo
from cli_support import run

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
SCALE_NOTES = 29  # two octaves up and down again


def scale(tonic: int, start_s: float, bpm: float) -> tuple[np.ndarray, np.ndarray]:
    """The major scale on `tonic`, two octaves up and down, one note a beat: onsets (s) and pitches."""
    up = [tonic + 12 * octave + step for octave in (0, 1) for step in MAJOR_STEPS] + [tonic + 24]
    pitch = np.array(up + up[-2::-1])
    return start_s + np.arange(len(pitch)) * 60.0 / bpm, pitch


# (tonic, start in seconds, bpm, velocity, name): two attempts 30 s apart, then a third 15 minutes later.
ATTEMPTS = (
    (60, 2.0, 120.0, 60, "C major"),
    (55, 46.0, 100.0, 80, "G major"),  # from G3: no run of 8 notes of the C major scale above (not a restart)
    (62, 946.0, 120.0, 100, "D major"),
)
PEDAL_S = (2.0, 8.0)  # the sustain pedal is down for the first 6 s of the first attempt


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    onsets, pitches, velocities = [], [], []
    for tonic, start_s, bpm, velocity, _ in ATTEMPTS:
        onset, pitch = scale(tonic, start_s, bpm)
        onsets.append(onset)
        pitches.append(pitch)
        velocities.append(np.full(len(pitch), velocity))
    onset = np.concatenate(onsets)
    ticks_per_s = 480 * 2  # from_notes' defaults: 480 PPQ at 120 bpm
    pedal = {
        "tick": np.array([round(t * ticks_per_s) for t in PEDAL_S]),
        "channel": 0,
        "number": 64,
        "value": np.array([127, 0]),
    }
    notes = {"onset_s": onset, "offset_s": onset + 0.3, "pitch": np.concatenate(pitches)}
    perf = continuo.from_notes({**notes, "velocity": np.concatenate(velocities)}, controls=pedal)
    path = tmp_path_factory.mktemp("sessions") / "take.mid"
    perf.write(path)
    return path


def sessions_json(continuo_bin: pathlib.Path, take: pathlib.Path, *options: str) -> dict[str, Any]:
    r = run(continuo_bin, "sessions", take, "--json", *options)
    assert r.returncode == 0, r.describe()
    result: dict[str, Any] = json.loads(r.stdout)
    return result


def test_json_has_each_session_and_attempt_with_its_features(continuo_bin: pathlib.Path, take: pathlib.Path) -> None:
    result = sessions_json(continuo_bin, take)
    assert result["attempt_gap_s"] == 3 and result["restart_gap_s"] == 1 and result["session_gap_s"] == 600
    assert result["diagnostics"] == []
    sessions = result["sessions"]
    assert [len(s["attempts"]) for s in sessions] == [2, 1]
    attempts = [a for s in sessions for a in s["attempts"]]
    assert [a["first_note"] for a in attempts] == [0, SCALE_NOTES, 2 * SCALE_NOTES]
    for a, (_, start_s, bpm, velocity, name) in zip(attempts, ATTEMPTS):
        f = a["features"]
        assert a["note_count"] == SCALE_NOTES and f["note_count"] == SCALE_NOTES
        assert a["start_s"] == pytest.approx(start_s, abs=0.01)
        assert a["end_s"] == pytest.approx(start_s + (SCALE_NOTES - 1) * 60 / bpm + 0.3, abs=0.01)
        assert 60 / f["beat_period_s"] == pytest.approx(bpm, rel=0.04), name
        assert f["tempo_spread"] == pytest.approx(0, abs=0.01)
        assert continuo.key_name(int(f["key_sharps"]), bool(f["key_minor"])) == name
        assert f["velocity_mean"] == velocity and f["pitch_range"] == 24
    first = attempts[0]
    assert first["features"]["sustain_fraction"] == pytest.approx(6 / (first["end_s"] - first["start_s"]), rel=0.01)
    assert attempts[1]["features"]["sustain_fraction"] == 0
    assert sessions[0]["note_count"] == 2 * SCALE_NOTES and sessions[1]["note_count"] == SCALE_NOTES
    assert sessions[0]["playing_s"] == pytest.approx(sum(a["end_s"] - a["start_s"] for a in attempts[:2]), abs=0.01)


def test_csv_has_a_line_per_attempt_with_the_json_features(continuo_bin: pathlib.Path, take: pathlib.Path) -> None:
    r = run(continuo_bin, "sessions", take, "--csv")
    assert r.returncode == 0, r.describe()
    header, *lines = list(csv.reader(io.StringIO(r.stdout)))
    assert header == ["session", "start_s", "end_s", "first_note", *continuo.FEATURE_NAMES]
    attempts = [(k, a) for k, s in enumerate(sessions_json(continuo_bin, take)["sessions"]) for a in s["attempts"]]
    assert len(lines) == len(attempts) == 3
    for line, (session, a) in zip(lines, attempts):
        assert [int(line[0]), int(line[3])] == [session, a["first_note"]]
        assert [float(v) for v in line[1:3]] == pytest.approx([a["start_s"], a["end_s"]], rel=1e-12)
        assert [float(v) for v in line[4:]] == pytest.approx(list(a["features"].values()), rel=1e-12, abs=1e-12)


def test_the_table_shows_tempo_and_key_per_attempt(continuo_bin: pathlib.Path, take: pathlib.Path) -> None:
    r = run(continuo_bin, "sessions", take)
    assert r.returncode == 0, r.describe()
    lines = r.stdout.splitlines()
    assert lines[0] == f"{take}: 2 session(s), 3 attempt(s)"
    assert sum(line.startswith("session ") for line in lines) == 2
    assert "session 2  0:15:46 - " in r.stdout
    rows = [line for line in lines if line.startswith("  0:")]
    assert len(rows) == 3
    for row, (_, _, bpm, velocity, name) in zip(rows, ATTEMPTS):
        assert f"{SCALE_NOTES} notes" in row and f"velocity {velocity:3d}" in row
        assert row.endswith(f"{bpm:3.0f} bpm  {name}"), row


def test_thresholds_resplit_the_same_take(continuo_bin: pathlib.Path, take: pathlib.Path) -> None:
    # One session when sessions may hold 15 minutes of silence.
    one = sessions_json(continuo_bin, take, "--session-gap", "1000")
    assert [len(s["attempts"]) for s in one["sessions"]] == [3]
    # The first two attempts, 30 s apart, become one when an attempt may hold 40 s of silence.
    merged = sessions_json(continuo_bin, take, "--attempt-gap", "40")
    assert [[a["note_count"] for a in s["attempts"]] for s in merged["sessions"]] == [[2 * SCALE_NOTES], [SCALE_NOTES]]


def test_an_attempt_too_short_for_a_tempo_shows_none(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    short = tmp_path / "short.mid"
    onset = np.array([1.0, 1.5])
    continuo.from_notes({"onset_s": onset, "offset_s": onset + 0.4, "pitch": np.array([60, 64])}).write(short)
    r = run(continuo_bin, "sessions", short)
    assert r.returncode == 0, r.describe()
    (row,) = [line for line in r.stdout.splitlines() if line.startswith("  0:")]
    assert "      2 notes" in row and "  - bpm  " in row
    assert sessions_json(continuo_bin, short)["sessions"][0]["attempts"][0]["features"]["beat_period_s"] == 0


def test_a_file_without_notes_has_no_sessions(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.mid"
    nothing = np.zeros(0)
    continuo.from_notes({"onset_s": nothing, "offset_s": nothing, "pitch": nothing.astype(np.uint8)}).write(empty)
    assert sessions_json(continuo_bin, empty)["sessions"] == []
    assert run(continuo_bin, "sessions", empty, "--csv").stdout.count("\n") == 1  # the header alone
    r = run(continuo_bin, "sessions", empty)
    assert r.returncode == 0 and r.stdout.strip() == f"{empty}: 0 session(s), 0 attempt(s)"


def test_the_table_says_when_each_diagnostic_happened(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # A key held for 130 s, past `stuck` (120 s): released at 2:00 with a diagnostic.
    perf = continuo.from_notes({"onset_s": [0.0, 1.0], "offset_s": [130.0, 1.5], "pitch": [60, 64]})
    path = tmp_path / "stuck.mid"
    perf.write(path)
    r = run(continuo_bin, "sessions", path)
    assert r.returncode == 0, r.describe()
    assert "  [stream.stuck] at 0:02:00: key 60 of channel 0 held for 120" in r.stdout, r.stdout

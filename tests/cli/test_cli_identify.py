"""`continuo identify`: which registered piece each attempt played, which bars, how fast; and the bar heatmap."""

from __future__ import annotations

import json
import pathlib

import numpy as np

import continuo
from cli_support import run
from synthetic_music import melody_over_chords

BAR_S = 2.0  # 4/4 at 120 bpm, the default tempo of continuo.from_notes


def piece(seed: int, bars: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A melody in uneven rhythm over a chord on each beat, drawn from `seed`."""
    return melody_over_chords(seed, bars, BAR_S, [0.25, 0.5, 0.5, 0.75, 1.0])


def write(path: pathlib.Path, onset: np.ndarray, pitch: np.ndarray) -> pathlib.Path:
    continuo.from_notes({"onset_s": onset, "offset_s": onset + 0.2, "pitch": pitch}).write(path)
    return path


def test_identifies_drilled_bars_and_counts_their_plays(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    a, b = write(tmp_path / "a.mid", *piece(1)), write(tmp_path / "b.mid", *piece(2))
    onset, pitch = piece(2)
    drill = (onset >= 4 * BAR_S) & (onset < 8 * BAR_S)  # bars 5-8 of piece b
    takes_onset, takes_pitch = [], []
    for k, factor in enumerate((0.7, 0.85, 1.0)):  # slower, then up to tempo, 10 s apart
        takes_onset.append(40.0 * k + (onset[drill] - 4 * BAR_S) / factor)
        takes_pitch.append(pitch[drill])
    take = write(tmp_path / "take.mid", np.concatenate(takes_onset), np.concatenate(takes_pitch))

    r = run(continuo_bin, "identify", take, "--piece", f"first={a}", "--piece", b, "--json")
    assert r.returncode == 0, r.describe()
    result = json.loads(r.stdout)
    attempts = result["attempts"]
    assert [x["piece"] for x in attempts] == ["b", "b", "b"]
    for x, factor in zip(attempts, (0.7, 0.85, 1.0)):
        (where,) = x["placements"]
        assert abs(where["first_bar"] - 5.0) < 0.5 and abs(where["last_bar"] - 8.9) < 0.5
        assert abs(where["tempo_ratio"] - factor) < 0.05
    (heat,) = result["pieces"]
    assert heat["piece"] == "b" and heat["bar_plays"][5:9] == [3, 3, 3, 3] and sum(heat["bar_plays"]) == 12

    text = run(continuo_bin, "identify", take, "--piece", f"first={a}", "--piece", b)
    assert text.returncode == 0 and text.stdout.count("  b  bars 5-8 at ") == 3
    assert "b: plays per bar, bars 1-16 (darkest: 3)" in text.stdout


def test_an_unregistered_piece_is_unknown(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    a = write(tmp_path / "a.mid", *piece(1))
    take = write(tmp_path / "take.mid", *piece(7, bars=8))
    r = run(continuo_bin, "identify", take, "--piece", a, "--json")
    assert r.returncode == 0, r.describe()
    assert [x["piece"] for x in json.loads(r.stdout)["attempts"]] == [None]


def test_an_invalid_reference_exits_2_naming_it(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    take = write(tmp_path / "take.mid", *piece(1, bars=4))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"RIFF? no, just some text")
    r = run(continuo_bin, "identify", take, "--piece", bad)
    assert r.returncode == 2 and "bad.mid" in r.stderr


def test_two_pieces_of_one_name_and_a_reference_without_notes_are_refused(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    a = write(tmp_path / "a.mid", *piece(1))
    take = write(tmp_path / "take.mid", *piece(1, bars=4))
    twice = run(continuo_bin, "identify", take, "--piece", f"x={a}", "--piece", f"x={a}")
    assert twice.returncode == 1
    assert "two pieces are named 'x': give each its own name with --piece NAME=FILE" in twice.stderr
    empty = tmp_path / "empty.mid"
    continuo.from_notes({"onset_s": [], "offset_s": [], "pitch": []}).write(empty)
    r = run(continuo_bin, "identify", take, "--piece", a, "--piece", empty)
    assert r.returncode == 2, r.describe()
    assert f"{empty}: the reference of 'empty' has no notes to recognise it by" in r.stderr


def test_the_split_s_diagnostics_are_shown(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    a = write(tmp_path / "a.mid", *piece(1))
    onset, pitch = piece(1)
    # The piece, and a low A0 (in no chord of it) struck at 0 s and held for 150 s, past `stuck`.
    onsets = np.concatenate([[0.0], onset])
    take = tmp_path / "take.mid"
    notes = {"onset_s": onsets, "offset_s": np.concatenate([[150.0], onset + 0.2]), "pitch": np.concatenate([[21], pitch])}
    continuo.from_notes(notes).write(take)
    r = run(continuo_bin, "identify", take, "--piece", a, "--json")
    assert r.returncode == 0, r.describe()
    (stuck,) = json.loads(r.stdout)["diagnostics"]
    assert stuck["id"] == "stream.stuck" and abs(stuck["time_s"] - 120.0) < 1e-9
    text = run(continuo_bin, "identify", take, "--piece", a)
    assert "  [stream.stuck] at 0:02:00: key " in text.stdout, text.stdout

"""Writing, building from columns, pickling, pandas and the piano roll."""

from __future__ import annotations

import copy
import io
import pathlib
import pickle

import numpy as np
import pytest

import continuo
from midi_bytes import header, note_file, track


def test_write_to_path_file_and_bytes(scale: continuo.Performance, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "scale.mid"
    scale.write(path)
    written = continuo.read(path)
    for name, column in scale.notes.items():
        np.testing.assert_array_equal(written.notes[name], column)  # type: ignore[literal-required]
    assert continuo.read(written.to_bytes()) == written  # what the writer wrote reads back exactly
    scale.write(str(path))
    assert not (tmp_path / "scale.mid.partial").exists()
    buffer = io.BytesIO()
    scale.write(buffer)
    assert buffer.getvalue() == scale.to_bytes() == path.read_bytes()
    assert continuo.read(buffer.getvalue()) == written


def test_write_options(scale: continuo.Performance) -> None:
    rescaled = continuo.read(scale.to_bytes(ppq=480))
    assert rescaled.ppq == 480
    assert rescaled.notes["onset_tick"].tolist() == [i * 480 for i in range(8)]
    np.testing.assert_allclose(rescaled.notes["onset_s"], scale.notes["onset_s"], rtol=1e-15)
    single = continuo.read(scale.to_bytes(format=0))
    assert single.format == 0 and single.track_count == 1
    assert set(single.notes["track"].tolist()) == {0}
    chord = continuo.read(note_file([(0, 96, 60, 80), (0, 96, 64, 80)]))
    assert len(chord.to_bytes(running_status=False)) == len(chord.to_bytes()) + 2  # 2 repeated statuses
    with pytest.raises(ValueError, match="format"):
        scale.to_bytes(format=2)
    with pytest.raises(ValueError, match="ppq"):
        scale.to_bytes(ppq=0)
    with pytest.raises(ValueError, match="pairing"):
        scale.to_bytes(pairing="oldest")  # type: ignore[arg-type]


def test_notes_far_apart_write_and_ticks_past_an_event_s_raise_write_error() -> None:
    # Two notes 2^28 ticks apart: more than a delta time holds, so the writer bridges the silence.
    far = continuo.from_notes({"onset_tick": [0, 2**28 + 5], "offset_tick": [1, 2**28 + 6], "pitch": [60, 61]})
    assert continuo.read(far.to_bytes()).notes["onset_tick"].tolist() == [0, 2**28 + 5]
    late = continuo.from_notes({"onset_tick": [0, 2**40 - 10], "offset_tick": [1, 2**40 - 9], "pitch": [60, 61]}, ppq=1)
    with pytest.raises(continuo.WriteError, match="in the output's division\\) is outside 0 to 2\\^40 - 1"):
        late.to_bytes(ppq=960)


def test_pickle_round_trips_exactly(tmp_path: pathlib.Path) -> None:
    data = header(0, 1, 96) + track([(0, b"\xb0\x40\x7f"), (0, b"\x90\x3c\x50"), (7, b"\xe0\x01\x02"), (30, b"\x80\x3c\x11")])
    for perf in (continuo.read(data, pairing="lifo"), continuo.read(data[:-4])):  # the second is repaired
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            again = pickle.loads(pickle.dumps(perf, protocol=protocol))
            assert again == perf
            assert again.pairing == perf.pairing
            assert again.diagnostics == perf.diagnostics
            assert repr(again) == repr(perf)
    assert copy.copy(perf) is perf and copy.deepcopy(perf) is perf


def test_corrupt_pickles_raise_instead_of_crashing() -> None:
    perf = continuo.read(note_file([(0, 96, 60, 64)] * 3))
    state = perf.__reduce__()[1][0]
    restore = perf.__reduce__()[0]
    assert restore(state) == perf
    for bad in (b"", state[:10], state[:-1], state + b"\0", b"x" * len(state), state[:20] + b"\xff" * 8 + state[28:]):
        with pytest.raises(ValueError, match="not a pickled continuo.Performance"):
            restore(bad)
    # Well formed but out of range: a pitch of 255 would index past every table made by pitch.
    pitch_at = state.index(bytes([60, 60, 60, 64, 64, 64]))
    forged = state[:pitch_at] + b"\xff" + state[pitch_at + 1 :]
    with pytest.raises(ValueError, match="note 0 holds a value out of range"):
        restore(forged)


def test_write_to_a_path_it_cannot_replace_leaves_nothing_behind(tmp_path: pathlib.Path) -> None:
    perf = continuo.read(note_file([(0, 96, 60, 64)]))
    (tmp_path / "take.mid.partial").write_bytes(b"the user's own")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        perf.write(tmp_path / "folder")
    perf.write(tmp_path / "take.mid")
    assert (tmp_path / "take.mid").read_bytes() == perf.to_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "take.mid", "take.mid.partial"]
    assert (tmp_path / "take.mid.partial").read_bytes() == b"the user's own"


def test_equality() -> None:
    a = continuo.read(note_file([(0, 96, 60, 64)]))
    b = continuo.read(note_file([(0, 96, 60, 64)]))
    c = continuo.read(note_file([(0, 96, 61, 64)]))
    assert a == b and a != c and a != "a performance"
    with pytest.raises(TypeError):
        hash(a)


def test_from_notes_in_ticks_with_every_table() -> None:
    perf = continuo.from_notes(
        {"onset_tick": [0, 480, 480], "offset_tick": [480, 960, 1440], "pitch": [60, 64, 67],
         "velocity": [90, 80, 70], "channel": 1, "track": [1, 1, 2]},
        ppq=480,
        tempo=[(0, 100.0), (960, 50.0)],
        controls={"tick": [0, 960], "number": [64, 64], "value": [127, 0], "channel": 1, "track": 1},
        programs={"tick": [0], "program": [12], "channel": [1], "track": [1]},
        pitch_bends={"tick": [240], "value": [-8192], "channel": [1], "track": [1]},
        time_signatures={"tick": [0], "numerator": [6], "denominator": [8]},
        key_signatures={"tick": [0], "sharps": [2], "minor": [False]},
    )  # fmt: skip
    n = perf.notes
    assert n["pitch"].tolist() == [60, 64, 67] and n["track"].tolist() == [1, 1, 2]
    assert n["channel"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(n["offset_s"], [0.6, 1.2, 2.4], rtol=1e-14)
    assert perf.tempo_map.changes["bpm"].tolist() == [100.0, 50.0]
    assert perf.pedals[["onset_tick", "offset_tick", "kind"]].tolist() == [(0, 960, 64)]
    assert perf.programs["program"].tolist() == [12]
    assert perf.pitch_bends["value"].tolist() == [-8192]
    assert perf.time_signatures[["numerator", "denominator"]].tolist() == [(6, 8)]
    assert perf.key_signatures[["sharps", "minor"]].tolist() == [(2, False)]
    assert perf.track_count == 3 and perf.status == "ok"
    assert continuo.read(perf.to_bytes()) == perf


def test_from_notes_in_seconds_rounds_to_ticks() -> None:
    perf = continuo.from_notes({"onset_s": [0.0, 0.5], "offset_s": [0.25, 1.0001], "pitch": [60, 62]}, ppq=96, tempo=60)
    assert perf.notes["onset_tick"].tolist() == [0, 48]
    assert perf.notes["offset_tick"].tolist() == [24, 96]


def test_from_notes_takes_what_read_gives(scale: continuo.Performance) -> None:
    for notes in (scale.notes, scale.note_array()):
        again = continuo.from_notes(notes, ppq=96, tempo=scale.tempo_map, controls=scale.controls)
        for name, column in scale.notes.items():
            np.testing.assert_array_equal(again.notes[name], column)  # type: ignore[literal-required]


@pytest.mark.parametrize(
    ("notes", "error", "match"),
    [
        ({"pitch": [60]}, ValueError, "needs a 'onset_s' column"),
        ({"onset_tick": [0], "offset_tick": [5]}, ValueError, "needs a 'pitch' column"),
        ({"onset_tick": [0], "offset_tick": [5], "pitch": [128]}, ValueError, r"\['pitch'\]\[0\] = 128 is outside \[0, 127\]"),
        ({"onset_tick": [0], "offset_tick": [5], "pitch": [60], "velocity": [0]}, ValueError, "outside"),
        ({"onset_tick": [0], "offset_tick": [5], "pitch": [60.5]}, ValueError, "not a whole number"),
        ({"onset_tick": [0], "offset_tick": [5], "pitch": ["C4"]}, TypeError, "must hold numbers"),
        ({"onset_tick": [9], "offset_tick": [5], "pitch": [60]}, ValueError, "ends .* before it begins"),
        ({"onset_tick": [0, 1], "offset_tick": [5], "pitch": [60, 61]}, ValueError, "has shape"),
        ({"onset_tick": [-1], "offset_tick": [5], "pitch": [60]}, ValueError, "outside"),
        ({"onset_s": [float("nan")], "offset_s": [1.0], "pitch": [60]}, ValueError, "non-negative"),
        ({"onset_s": [0.0, 9.6e14], "offset_s": [1.0, 9.6e14], "pitch": [60, 61]}, ValueError,
         r"notes\['onset_s'\]\[1\] = 960000000000000.0 s lies past tick 2\^40 - 1"),
    ],
)
def test_from_notes_checks_its_input(notes: dict[str, list[object]], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        continuo.from_notes(notes)


def test_from_notes_checks_options() -> None:
    notes = {"onset_tick": [0], "offset_tick": [5], "pitch": [60]}
    with pytest.raises(ValueError, match="ppq"):
        continuo.from_notes(notes, ppq=0)
    with pytest.raises(ValueError, match="tempo"):
        continuo.from_notes(notes, tempo=0.0)
    with pytest.raises(ValueError, match="powers of two"):
        continuo.from_notes(notes, time_signatures={"tick": [0], "numerator": [3], "denominator": [3]})
    with pytest.raises(ValueError, match="sharps"):
        continuo.from_notes(notes, key_signatures={"tick": [0], "sharps": [8]})


def test_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    perf = continuo.read(header(0, 1, 96) + track([(0, b"\xb0\x40\x7f"), (0, b"\x90\x3c\x50"), (30, b"\x80\x3c\x11")]))
    df = perf.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(perf.notes)
    assert df["pitch"].tolist() == [60]
    assert perf.to_pandas("controls")["number"].tolist() == [64]
    assert list(perf.to_pandas("pedals").columns) == list(perf.pedals.dtype.names or ())
    with pytest.raises(ValueError, match="no table"):
        perf.to_pandas("chords")  # type: ignore[arg-type]


def test_piano_roll() -> None:
    perf = continuo.read(note_file([(0, 96, 60, 100), (48, 192, 60, 20), (96, 97, 72, 5)]))  # 120 bpm, 96 PPQ
    roll = perf.piano_roll(fs=10)
    assert roll.shape == (128, 10) and roll.dtype == np.float32
    assert roll[60].tolist() == [100] * 2 + [120] * 3 + [20] * 5
    assert roll[72].tolist() == [0.0] * 10  # shorter than a column: int(5.0) to int(5.05)
    assert perf.piano_roll(fs=10, binary=True)[60].tolist() == [1.0] * 10
    assert perf.piano_roll(fs=10, end_s=0.3).shape == (128, 3)
    assert perf.piano_roll(fs=10, end_s=2.0)[60, 10:].tolist() == [0.0] * 10
    with pytest.raises(ValueError, match="fs"):
        perf.piano_roll(fs=0)
    with pytest.raises(ValueError, match="end_s"):
        perf.piano_roll(end_s=-1)
    with pytest.raises(ValueError, match="too large"):
        perf.piano_roll(fs=1e12)

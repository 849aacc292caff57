"""continuo.read: sources, options, tables, the tempo map, diagnostics and errors."""

from __future__ import annotations

import io
import mmap
import os
import pathlib

import numpy as np
import pytest

import continuo
from midi_bytes import END_OF_TRACK, chunk, header, note_file, tempo, track

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def test_reads_every_kind_of_source(scale_bytes: bytes, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "scale.mid"
    path.write_bytes(scale_bytes)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        sources: list[continuo.Source] = [
            scale_bytes,
            bytearray(scale_bytes),
            memoryview(scale_bytes),
            str(path),
            path,
            io.BytesIO(scale_bytes),
            open(path, "rb"),  # noqa: SIM115 - closed below
        ]
        expected = continuo.read(scale_bytes)
        for source in sources:
            assert continuo.read(source) == expected
            if isinstance(source, io.BufferedReader):
                source.close()
        assert continuo.read(mapped) == expected  # type: ignore[arg-type]
    assert continuo.read(np.frombuffer(scale_bytes, dtype=np.uint8)) == expected  # type: ignore[arg-type]
    interleaved = bytes(b for x in scale_bytes for b in (x, 0))
    assert continuo.read(memoryview(interleaved)[::2]) == expected  # not contiguous: copied once


def test_rejects_what_is_not_bytes(scale_bytes: bytes) -> None:
    with pytest.raises(TypeError, match="path, bytes"):
        continuo.read(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"):
        continuo.read(io.StringIO("MThd"))  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        continuo.read("/nonexistent/file.mid")
    with pytest.raises(ValueError, match="pairing"):
        continuo.read(scale_bytes, pairing="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pedal_threshold"):
        continuo.read(scale_bytes, pedal_threshold=200)
    with pytest.raises(ValueError, match="max_tracks"):
        continuo.Limits(max_tracks=-1)
    with pytest.raises(ValueError, match="max_tick must be an integer in \\[0, 1099511627775\\]"):
        continuo.Limits(max_tick=2**40)  # past what an event holds: it would be ignored


def test_a_source_that_never_ends_is_refused_at_the_limit() -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    for source in ("/dev/zero", pathlib.Path("/dev/zero")):
        with pytest.raises(ValueError, match="cannot read /dev/zero: it holds more than 1073741824 bytes"):
            continuo.read(source)
    with open("/dev/zero", "rb") as f, pytest.raises(ValueError, match="/dev/zero: it holds more than"):
        continuo.read(f)


def test_notes_are_columns_in_seconds_and_ticks(scale: continuo.Performance) -> None:
    notes = scale.notes
    assert list(notes) == [
        "onset_s", "offset_s", "onset_tick", "offset_tick", "pitch", "velocity", "release_velocity", "channel", "track",
    ]  # fmt: skip
    assert notes["pitch"].tolist() == SCALE
    assert notes["onset_tick"].tolist() == [i * 96 for i in range(8)]
    np.testing.assert_allclose(notes["onset_s"], np.arange(8) * 0.5, rtol=1e-15)
    np.testing.assert_allclose(notes["offset_s"], np.arange(1, 9) * 0.5, rtol=1e-15)
    assert set(notes["velocity"].tolist()) == {80}
    assert set(notes["track"].tolist()) == {1}
    dtypes = {k: np.asarray(v).dtype for k, v in notes.items()}
    assert dtypes == {
        "onset_s": np.float64, "offset_s": np.float64, "onset_tick": np.int64, "offset_tick": np.int64,
        "pitch": np.uint8, "velocity": np.uint8, "release_velocity": np.uint8, "channel": np.uint8, "track": np.uint16,
    }  # fmt: skip


def test_note_array_is_one_structured_array(scale: continuo.Performance) -> None:
    records = scale.note_array()
    assert records.dtype.names == tuple(scale.notes)
    for name, column in scale.notes.items():
        np.testing.assert_array_equal(records[name], column)


def test_scalars_and_repr(scale: continuo.Performance) -> None:
    assert scale.format == 1
    assert scale.track_count == 2
    assert scale.ppq == 96
    assert scale.status == "ok"
    assert scale.diagnostics == ()
    assert scale.pairing == "fifo"
    assert scale.duration_tick == 8 * 96
    assert scale.duration_s == 4.0
    assert scale.event_count == 2 + 16  # two end-of-track events, 16 note events
    assert repr(scale) == (
        "continuo.Performance(notes=8, duration_s=4.000, format=1, tracks=2, ppq=96, pairing='fifo', status='ok')"
    )
    assert repr(scale.tempo_map) == "continuo.TempoMap(ppq=96, changes=1, initial_bpm=120)"


def test_performance_cannot_be_built_directly() -> None:
    with pytest.raises(TypeError, match="continuo.read"):
        continuo.Performance()
    with pytest.raises(TypeError):
        continuo.TempoMap()


def test_tempo_map_converts_arrays_both_ways() -> None:
    # 120 bpm, then 60 bpm from tick 192 (two beats at 96 PPQ).
    perf = continuo.read(note_file([(0, 384, 60, 90)], tempos=[(0, 500_000), (192, 1_000_000)]))
    tm = perf.tempo_map
    assert tm.ppq == 96 and not tm.is_smpte and tm.smpte_fps is None
    changes = tm.changes
    assert changes["tick"].tolist() == [0, 192]
    assert changes["us_per_quarter"].tolist() == [500_000, 1_000_000]
    assert changes["bpm"].tolist() == [120.0, 60.0]
    assert changes["time_s"].tolist() == [0.0, 1.0]
    ticks = np.array([[0, 96], [192, 288]])
    seconds = tm.tick_to_seconds(ticks)
    assert seconds.shape == (2, 2)
    np.testing.assert_allclose(seconds, [[0.0, 0.5], [1.0, 2.0]], rtol=1e-15)
    assert tm.tick_to_seconds(240) == 1.5
    assert tm.tick_to_seconds(np.int32(240)) == 1.5
    assert tm.tick_to_seconds(96.5) == pytest.approx(0.5 + 0.5 / 96 / 2, rel=1e-15)
    assert tm.tick_to_seconds(-96) == -0.5  # extrapolates the first tempo
    assert np.isnan(tm.tick_to_seconds(float("nan")))
    np.testing.assert_allclose(tm.seconds_to_tick(np.array([0.0, 0.5, 1.0, 2.0])), [0, 96, 192, 288], rtol=1e-14)
    assert tm.seconds_to_tick(1.5) == 240.0
    np.testing.assert_array_equal(perf.notes["offset_s"], [3.0])
    with pytest.raises(TypeError):
        tm.tick_to_seconds(np.array(["a"]))


def test_tempo_map_round_trips_every_tick() -> None:
    perf = continuo.read(note_file([(0, 10_000, 60, 90)], tempos=[(0, 431_000), (77, 912_345), (5000, 123_457)]))
    ticks = np.arange(0, 10_001)
    back = perf.tempo_map.seconds_to_tick(perf.tempo_map.tick_to_seconds(ticks))
    np.testing.assert_array_equal(np.rint(back), ticks)


def test_smpte_division() -> None:
    division = ((256 - 25) << 8) | 40  # 25 fps, 40 ticks per frame: millisecond ticks
    data = header(0, 1, division) + track([(0, b"\x90\x3c\x40"), (1000, b"\x80\x3c\x00")])
    perf = continuo.read(data)
    assert perf.ppq is None
    tm = perf.tempo_map
    assert tm.is_smpte and tm.smpte_fps == 25 and tm.ticks_per_frame == 40
    assert perf.notes["offset_s"].tolist() == [1.0]
    assert "smpte" in repr(perf) and "smpte_fps=25" in repr(tm)


def test_pedals_controls_programs_bends_signatures() -> None:
    events = [
        (0, b"\xff\x58\x04\x03\x02\x18\x08"),  # 3/4
        (0, b"\xff\x59\x02\xfd\x01"),  # 3 flats, minor
        (0, b"\xc0\x05"),  # program 5
        (0, b"\xb0\x40\x7f"),  # sustain down
        (0, b"\x90\x3c\x50"),
        (48, b"\xe0\x00\x60"),  # bend +4096
        (96, b"\xb0\x40\x00"),  # sustain up
        (96, b"\xb0\x43\x7f"),  # soft down
        (144, b"\x80\x3c\x00"),
        (192, b"\xb0\x43\x00"),
    ]
    perf = continuo.read(header(0, 1, 96) + track(events))
    pedals = perf.pedals
    assert pedals.dtype.names == ("onset_s", "offset_s", "onset_tick", "offset_tick", "kind", "channel", "track")
    assert pedals["kind"].tolist() == [64, 67]
    assert pedals["onset_tick"].tolist() == [0, 96] and pedals["offset_tick"].tolist() == [96, 192]
    assert pedals["offset_s"].tolist() == [0.5, 1.0]
    controls = perf.controls
    assert controls["number"].tolist() == [64, 64, 67, 67]
    assert controls["time_s"].tolist() == [0.0, 0.5, 0.5, 1.0]
    assert perf.programs[["tick", "program"]].tolist() == [(0, 5)]
    assert perf.pitch_bends["value"].tolist() == [4096]
    assert perf.pitch_bends["time_s"].tolist() == [0.25]
    ts = perf.time_signatures
    assert (int(ts["numerator"][0]), int(ts["denominator"][0])) == (3, 4)
    ks = perf.key_signatures
    assert (int(ks["sharps"][0]), bool(ks["minor"][0])) == (-3, True)
    # Sustain lengthens the note to the pedal's release when asked.
    assert perf.notes["offset_tick"].tolist() == [144]
    assert continuo.read(header(0, 1, 96) + track(events), sustain=True).notes["offset_tick"].tolist() == [144]
    held = [(0, b"\xb0\x40\x7f"), (0, b"\x90\x3c\x50"), (48, b"\x80\x3c\x00"), (96, b"\xb0\x40\x00")]
    assert continuo.read(header(0, 1, 96) + track(held), sustain=True).notes["offset_tick"].tolist() == [96]
    assert continuo.read(header(0, 1, 96) + track(held), pedal_threshold=127).pedals["kind"].tolist() == [64]


@pytest.mark.parametrize(
    ("pairing", "expected"),
    [
        ("fifo", [(0, 20, 100), (10, 30, 90)]),
        ("lifo", [(0, 30, 100), (10, 20, 90)]),
        ("close_all", [(0, 20, 100), (10, 20, 90)]),
    ],
)
def test_pairing_policies(pairing: continuo.Pairing, expected: list[tuple[int, int, int]]) -> None:
    events = [(0, b"\x90\x3c\x64"), (10, b"\x90\x3c\x5a"), (20, b"\x80\x3c\x00"), (30, b"\x80\x3c\x00")]
    perf = continuo.read(header(0, 1, 96) + track(events), pairing=pairing)
    n = perf.notes
    got = list(zip(n["onset_tick"].tolist(), n["offset_tick"].tolist(), n["velocity"].tolist()))
    assert got == expected
    assert perf.pairing == pairing


def test_close_all_keeps_notes_struck_on_the_note_off_tick() -> None:
    events = [(0, b"\x90\x3c\x64"), (10, b"\x90\x3c\x5a"), (10, b"\x80\x3c\x00"), (20, b"\x80\x3c\x00")]
    n = continuo.read(header(0, 1, 96) + track(events), pairing="close_all").notes
    assert list(zip(n["onset_tick"].tolist(), n["offset_tick"].tolist())) == [(0, 10), (10, 20)]


def test_damaged_file_is_repaired_with_diagnostics() -> None:
    body = b"\x00\x90\x3c\x40"  # a note-on, then the chunk ends: no note-off, no end of track
    data = header(0, 1, 96) + chunk(b"MTrk", body)
    perf = continuo.read(data)
    assert perf.status == "repaired"
    names = [d.name for d in perf.diagnostics]
    assert names == ["smf.missing_end_of_track", "model.notes_not_closed"]
    d = perf.diagnostics[0]
    assert (d.id, d.offset, d.track) == (211, len(data), 0)
    assert str(d).startswith("[smf.missing_end_of_track] track 0, byte 26: ")
    assert "diagnostics=2" in repr(perf)
    with pytest.raises(continuo.InvalidMidiError) as caught:
        continuo.read(data, strict=True)
    err = caught.value
    assert (err.id, err.name, err.offset, err.track) == (211, "smf.missing_end_of_track", 26, 0)
    assert isinstance(err, continuo.Error) and isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("data", "name", "offset"),
    [
        (b"", "smf.header_not_found", 0),
        (b"RIFF not a midi file at all", "smf.header_not_found", 0),
        (b"MThd\x00\x00\x00\x06\x00", "smf.header_truncated", 0),
    ],
)
def test_nothing_usable_raises_invalid_midi_error(data: bytes, name: str, offset: int) -> None:
    with pytest.raises(continuo.InvalidMidiError) as caught:
        continuo.read(data)
    assert (caught.value.name, caught.value.offset, caught.value.track) == (name, offset, -1)
    assert caught.value.diagnostics[-1] == caught.value.diagnostic


def test_error_names_the_path(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    with pytest.raises(continuo.InvalidMidiError, match=r"empty\.mid: \[smf.header_not_found\]"):
        continuo.read(path)


def test_limits_cut_reading_short() -> None:
    data = note_file([(i * 10, i * 10 + 5, 60, 64) for i in range(100)])
    perf = continuo.read(data, limits=continuo.Limits(max_events=50))
    assert perf.status == "repaired"
    assert perf.diagnostics[0].name == "limit.events"
    assert perf.event_count == 50
    with pytest.raises(continuo.InvalidMidiError, match="limit.events"):
        continuo.read(data, strict=True, limits=continuo.Limits(max_events=50))
    perf = continuo.read(data, limits=continuo.Limits(max_tick=500))
    assert perf.notes["offset_tick"].max() <= 500
    many = header(1, 3, 96) + track([]) + track([]) + track([])
    perf = continuo.read(many, limits=continuo.Limits(max_tracks=1, max_diagnostics=0))
    assert perf.track_count == 1 and [d.name for d in perf.diagnostics] == ["limit.diagnostics"]


def test_default_limits_match_the_library() -> None:
    from continuo import _core

    limits = continuo.Limits()
    assert (limits.max_events, limits.max_tick, limits.max_tracks, limits.max_diagnostics) == _core.DEFAULT_LIMITS


def test_tempo_on_a_later_track_applies_to_all() -> None:
    data = header(1, 2, 96) + track([]) + track([(0, tempo(1_000_000)), (0, b"\x90\x3c\x40"), (96, b"\x80\x3c\x00")])
    assert continuo.read(data).notes["offset_s"].tolist() == [1.0]


def test_running_status_and_velocity_zero_note_off() -> None:
    body = b"\x00\x90\x3c\x40" + b"\x10\x3c\x00" + END_OF_TRACK  # running status, velocity 0 = off
    perf = continuo.read(header(0, 1, 96) + chunk(b"MTrk", body))
    n = perf.notes
    assert (n["offset_tick"].tolist(), n["release_velocity"].tolist()) == ([16], [64])


def test_tempo_map_is_normalised_when_a_same_tick_change_restores_the_tempo() -> None:
    # 120 bpm, then at tick 96 first 60 bpm and then 120 bpm again: one tempo in force throughout.
    data = note_file([(0, 192, 60, 64)], tempos=[(0, 500_000), (96, 1_000_000), (96, 500_000)])
    perf = continuo.read(data)
    assert perf.tempo_map.changes["tick"].tolist() == [0]
    again = continuo.read(perf.to_bytes())
    assert again.tempo_map.changes["tick"].tolist() == perf.tempo_map.changes["tick"].tolist()


def test_pickle_keeps_a_repeated_tempo_exactly() -> None:
    import pickle

    data = note_file([(0, 192, 60, 64)], tempos=[(0, 500_000), (96, 1_000_000), (96, 500_000)])
    perf = continuo.read(data)
    assert pickle.loads(pickle.dumps(perf)) == perf

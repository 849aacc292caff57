"""Property tests (hypothesis): random performances written and read back are equal."""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import continuo

# No example database: the tests must not leave a .hypothesis folder in the work tree.
settings.register_profile("continuo", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("continuo")

PAIRINGS: list[continuo.Pairing] = ["fifo", "lifo", "close_all"]
TICK = st.integers(0, 200_000)

controls_st = st.lists(
    st.tuples(TICK, st.integers(0, 15), st.sampled_from([1, 7, 10, 64, 66, 67, 91]), st.integers(0, 127), st.integers(0, 3)),
    max_size=15,
)
programs_st = st.lists(st.tuples(TICK, st.integers(0, 15), st.integers(0, 127), st.integers(0, 3)), max_size=4)
bends_st = st.lists(st.tuples(TICK, st.integers(-8192, 8191), st.integers(0, 15), st.integers(0, 3)), max_size=6)
tempo_st = st.lists(st.tuples(TICK, st.floats(4.0, 400.0)), max_size=4)
time_sig_st = st.lists(st.tuples(TICK, st.integers(1, 16), st.sampled_from([1, 2, 4, 8, 16])), max_size=3)
key_sig_st = st.lists(st.tuples(TICK, st.integers(-7, 7), st.booleans()), max_size=3)


def table(rows: Sequence[tuple[Any, ...]], names: list[str]) -> dict[str, list[Any]]:
    return {name: [r[i] for r in rows] for i, name in enumerate(names)}


@st.composite
def any_notes(draw: st.DrawFn) -> list[tuple[int, int, int, int, int, int, int]]:
    """Notes that may overlap on one key: each pairing reads those its own way."""
    n = draw(st.integers(0, 40))
    out = []
    for _ in range(n):
        on = draw(TICK)
        out.append((on, on + draw(st.integers(0, 5000)), draw(st.integers(0, 127)), draw(st.integers(1, 127)),
                    draw(st.integers(0, 127)), draw(st.integers(0, 15)), draw(st.integers(0, 3))))  # fmt: skip
    return out


@st.composite
def unambiguous_notes(draw: st.DrawFn) -> list[tuple[int, int, int, int, int, int, int]]:
    """Notes that never overlap on one key (track, channel, pitch), zero-length ones included:
    every pairing reads them as they are."""
    key = st.tuples(st.integers(0, 3), st.integers(0, 15), st.integers(0, 127))
    keys = draw(st.lists(key, min_size=1, max_size=6, unique=True))
    out = []
    for track, channel, pitch in keys:
        now = draw(st.integers(0, 10_000))
        for _ in range(draw(st.integers(0, 8))):
            length = draw(st.integers(0, 3000))
            out.append((now, now + length, pitch, draw(st.integers(1, 127)), draw(st.integers(0, 127)), channel, track))
            now += length + draw(st.integers(0, 2000))
    return out


def build(notes: Sequence[tuple[int, ...]], ppq: int, pairing: continuo.Pairing, **tables: Any) -> continuo.Performance:
    columns = table(notes, ["onset_tick", "offset_tick", "pitch", "velocity", "release_velocity", "channel", "track"])
    return continuo.from_notes(columns, ppq=ppq, pairing=pairing, **tables)


def note_rows(perf: continuo.Performance) -> list[tuple[int, ...]]:
    n = perf.notes
    names = ["onset_tick", "offset_tick", "pitch", "velocity", "release_velocity", "channel", "track"]
    return sorted(zip(*(n[name].tolist() for name in names)))  # type: ignore[literal-required]


@given(
    data=st.data(),
    ppq=st.sampled_from([1, 24, 96, 384, 480, 960, 32767]),
    pairing=st.sampled_from(PAIRINGS),
    tempo=tempo_st,
    controls=controls_st,
    programs=programs_st,
    bends=bends_st,
    time_sigs=time_sig_st,
    key_sigs=key_sig_st,
)
@settings(max_examples=150)
def test_written_performances_read_back_equal(
    data: st.DataObject,
    ppq: int,
    pairing: continuo.Pairing,
    tempo: list[tuple[int, float]],
    controls: list[tuple[int, ...]],
    programs: list[tuple[int, ...]],
    bends: list[tuple[int, ...]],
    time_sigs: list[tuple[int, ...]],
    key_sigs: list[tuple[int, ...]],
) -> None:
    notes = data.draw(any_notes())
    perf = build(
        notes, ppq, pairing,
        tempo=tempo,
        controls=table(controls, ["tick", "channel", "number", "value", "track"]),
        programs=table(programs, ["tick", "channel", "program", "track"]),
        pitch_bends=table(bends, ["tick", "value", "channel", "track"]),
        time_signatures=table(time_sigs, ["tick", "numerator", "denominator"]),
        key_signatures=table(key_sigs, ["tick", "sharps", "minor"]),
    )  # fmt: skip
    assert perf.status == "ok"
    again = continuo.read(perf.to_bytes(), pairing=pairing)
    assert again == perf
    assert continuo.read(perf.to_bytes(format=0, running_status=False), pairing=pairing).notes["pitch"].size == len(notes)
    assert pickle.loads(pickle.dumps(again)) == perf


@given(data=st.data(), ppq=st.sampled_from([1, 96, 480]), pairing=st.sampled_from(PAIRINGS))
@settings(max_examples=150)
def test_unambiguous_notes_come_back_as_given(data: st.DataObject, ppq: int, pairing: continuo.Pairing) -> None:
    notes = data.draw(unambiguous_notes())
    controls = data.draw(controls_st)
    perf = build(notes, ppq, pairing, controls=table(controls, ["tick", "channel", "number", "value", "track"]))
    assert note_rows(perf) == sorted(notes)
    # Controls come back in file order: by track, then tick, then the order given.
    by_track: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for c in sorted(controls, key=lambda c: (c[4], c[0])):
        by_track[c[4]].append(c)
    expected = [c for t in sorted(by_track) for c in by_track[t]]
    got = perf.controls
    assert list(zip(*(got[k].tolist() for k in ("tick", "channel", "number", "value", "track")))) == expected
    # Every pairing policy agrees on such notes.
    for other in PAIRINGS:
        assert note_rows(continuo.read(perf.to_bytes(pairing=other), pairing=other)) == sorted(notes)


@given(notes=unambiguous_notes(), factor=st.integers(2, 10), tempo=tempo_st)
@settings(max_examples=60)
def test_rescaling_ppq_keeps_the_seconds(notes: list[tuple[int, ...]], factor: int, tempo: list[tuple[int, float]]) -> None:
    perf = build(notes, 96, "fifo", tempo=tempo)
    scaled = continuo.read(perf.to_bytes(ppq=96 * factor))
    assert note_rows(scaled) == sorted((a * factor, b * factor, *rest) for a, b, *rest in notes)
    np.testing.assert_allclose(scaled.notes["onset_s"], perf.notes["onset_s"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaled.notes["offset_s"], perf.notes["offset_s"], rtol=1e-12, atol=1e-12)


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    for strict in (False, True):
        try:
            perf = continuo.read(b"MThd\x00\x00\x00\x06" + data, strict=strict, pairing="close_all", sustain=True)
        except continuo.InvalidMidiError as e:
            assert e.diagnostics
            continue
        assert perf.status in ("ok", "repaired")
        perf.note_array(), perf.controls, perf.piano_roll(fs=10)
        assert pickle.loads(pickle.dumps(perf)) == perf

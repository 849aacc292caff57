"""The numpy arrays: views of the C++ buffers without a copy, read-only, and alive on their own."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import continuo
from midi_bytes import header, note_file, track


def address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def many_notes() -> bytes:
    return note_file([(i * 10, i * 10 + 25, 30 + i % 60, 1 + i % 127) for i in range(5000)])


def test_notes_are_not_copied() -> None:
    perf = continuo.read(many_notes())
    first = perf.notes
    second = perf.notes
    for name in first:
        a, b = np.asarray(first[name]), np.asarray(second[name])  # type: ignore[literal-required]
        # Two accesses see the same memory: neither one copied the C++ column.
        assert address(a) == address(b)
        assert np.shares_memory(a, b)
        assert not a.flags.owndata
        assert a.flags.c_contiguous
        assert type(a.base).__name__ == "PyCapsule"
    # Each column is a separate C++ vector: no two share memory.
    addresses = {address(np.asarray(a)) for a in first.values()}
    assert len(addresses) == len(first)


def test_tables_over_performance_vectors_are_not_copied() -> None:
    events = [(0, b"\xff\x58\x04\x03\x02\x18\x08"), (0, b"\xff\x59\x02\x01\x00"), (0, b"\xb0\x40\x7f"), (9, b"\xb0\x40\x00")]
    perf = continuo.read(header(0, 1, 96) + track(events))
    for table in ("pedals", "time_signatures", "key_signatures"):
        a, b = getattr(perf, table), getattr(perf, table)
        assert len(a) == 1
        assert a.ctypes.data == b.ctypes.data
        assert not a.flags.owndata


def test_arrays_are_read_only() -> None:
    perf = continuo.read(many_notes())
    pitch = perf.notes["pitch"]
    with pytest.raises(ValueError, match="read-only"):
        pitch[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        perf.note_array()["pitch"][0] = 1
    with pytest.raises(ValueError):
        pitch.setflags(write=True)  # the base is a capsule, not a writeable array


def test_arrays_outlive_the_performance() -> None:
    perf = continuo.read(many_notes())
    notes = perf.notes
    copies = {name: np.array(column, copy=True) for name, column in notes.items()}
    pedals, tempo, records = perf.pedals, perf.tempo_map.changes, perf.note_array()
    tempo_copy = tempo.copy()
    alive = weakref.ref(perf)
    del perf
    gc.collect()
    assert alive() is None  # the Performance is gone, its arrays are not
    # Churn the allocator so that freed memory would be reused and overwritten.
    garbage = [continuo.read(note_file([(0, 5 + i, 61, 99)])) for i in range(200)]
    junk = [np.full(10_000 + i, 0xAB, dtype=np.uint8) for i in range(50)]
    for name, column in notes.items():
        np.testing.assert_array_equal(column, copies[name])
    np.testing.assert_array_equal(records["pitch"], copies["pitch"])
    np.testing.assert_array_equal(tempo, tempo_copy)
    assert len(pedals) == 0
    del garbage, junk


def test_one_array_keeps_its_buffer_alive_alone() -> None:
    pitch = continuo.read(many_notes()).notes["pitch"]  # the dict and the Performance are gone
    expected = np.array([30 + i % 60 for i in range(5000)], dtype=np.uint8)
    gc.collect()
    _ = [np.ones(50_000) for _ in range(20)]
    assert sorted(pitch.tolist()) == sorted(expected.tolist())


def test_views_and_slices_keep_the_buffer() -> None:
    onset = continuo.read(many_notes()).notes["onset_s"][100:200:2]
    gc.collect()
    assert onset.base is not None
    np.testing.assert_allclose(onset, (np.arange(100, 200, 2) * 10) / 96 * 0.5)


def test_empty_performance_gives_empty_arrays() -> None:
    perf = continuo.read(note_file([]))
    assert all(np.asarray(a).size == 0 for a in perf.notes.values())
    assert perf.note_array().shape == (0,)
    assert perf.piano_roll().shape == (128, 0)

"""Shared fixtures: small files built in code (python_support.py finds the corpus)."""

from __future__ import annotations

import pytest

import continuo
from midi_bytes import note_file


@pytest.fixture
def scale_bytes() -> bytes:
    """A format-1 file at 96 PPQ: a C major scale of quarter notes at 120 bpm on track 1."""
    return note_file([(i * 96, (i + 1) * 96, pitch, 80) for i, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72])])


@pytest.fixture
def scale(scale_bytes: bytes) -> continuo.Performance:
    return continuo.read(scale_bytes)

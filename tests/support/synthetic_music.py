"""Music made up from a seed, for tests that need pieces no corpus holds: the same seed is the same music."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Columns = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]


def two_voice(seed: int, events: int) -> Columns:
    """Onsets (in beats) and pitches of a random melody over a bass note on every other onset."""
    rng = np.random.default_rng(seed)
    beats = np.cumsum(rng.choice([0.25, 0.5, 0.5, 0.75, 1.0, 1.5], size=events)) - 0.25
    melody = np.clip(72 + np.cumsum(rng.integers(-7, 8, size=events)), 55, 96)
    bass = rng.integers(30, 50, size=events)
    onset = np.concatenate([beats, beats[::2]])
    pitch = np.concatenate([melody, bass[::2]])
    order = np.argsort(onset, kind="stable")
    return onset[order], pitch[order]


def melody_over_chords(seed: int, bars: int, bar_s: float, steps: Sequence[float]) -> Columns:
    """Onsets (seconds) and pitches of a melody in uneven rhythm (beat steps drawn from `steps`) over a
    triad on each beat, 4 beats a bar of `bar_s` seconds."""
    rng = np.random.default_rng(seed)
    beat_s = bar_s / 4
    onset: list[float] = []
    pitch: list[int] = []
    melody = 72
    for b in range(bars):
        for beat in range(4):
            root = 48 + int(rng.integers(0, 12))
            onset += [b * bar_s + beat * beat_s] * 3
            pitch += [root, root + 4, root + 7]
        beats = 0.0
        while beats < 4:
            onset.append(b * bar_s + beats * beat_s)
            pitch.append(melody)
            beats += float(rng.choice(steps))
            melody = int(np.clip(melody + rng.integers(-4, 5), 64, 88))
    order = np.argsort(np.asarray(onset), kind="stable")
    return np.asarray(onset)[order], np.asarray(pitch)[order]

"""Drawings of performances with matplotlib (an optional dependency, imported when called).

>>> import continuo, continuo.plot
>>> ax = continuo.plot.piano_roll(continuo.read("take.mid"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._performance import Performance

__all__ = ["piano_roll"]

_PEDAL_NAMES = {64: "sustain", 66: "sostenuto", 67: "soft"}
_NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def _rectangles(x0: np.ndarray, x1: np.ndarray, y: np.ndarray, height: float) -> np.ndarray:
    """Returns (n, 4, 2) vertices of rectangles [x0, x1] x [y - height/2, y + height/2]."""
    low, high = y - height / 2, y + height / 2
    return np.stack([np.stack([x0, low], -1), np.stack([x1, low], -1), np.stack([x1, high], -1), np.stack([x0, high], -1)], 1)


def piano_roll(
    perf: Performance,
    ax: Axes | None = None,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    pitch_range: tuple[int, int] | None = None,
    cmap: str = "viridis",
    pedals: bool = True,
    colorbar: bool = True,
) -> Axes:
    """Draws the notes of `perf` as a piano roll (time in seconds against pitch, colour for
    velocity), with the pedal spans in lanes under the lowest note. Returns the axes.

    - ``ax``: the axes to draw on; a new figure when None.
    - ``start_s``, ``end_s``: the time window (default: the whole performance).
    - ``pitch_range``: (lowest, highest) MIDI key shown (default: the notes' range, padded).
    - ``pedals``: draw sustain, sostenuto and soft pedal spans under the notes.

    Draws one PolyCollection per layer, so a take of 100,000 notes plots in about a second.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 5))
    notes = perf.notes
    onset, offset, pitch = notes["onset_s"], notes["offset_s"], notes["pitch"].astype(np.float64)
    t0 = 0.0 if start_s is None else float(start_s)
    t1 = float(max(perf.duration_s, float(offset.max()) if len(offset) else 0.0)) if end_s is None else float(end_s)
    shown = (offset >= t0) & (onset <= t1)
    if pitch_range is None:
        low, high = (int(pitch[shown].min()) - 2, int(pitch[shown].max()) + 2) if shown.any() else (57, 72)
    else:
        low, high = pitch_range
    shown &= (pitch >= low) & (pitch <= high)

    norm = Normalize(0, 127)
    boxes = PolyCollection(
        list(_rectangles(onset[shown], offset[shown], pitch[shown], 0.8)),
        array=notes["velocity"][shown].astype(np.float64),
        cmap=cmap,
        norm=norm,
        edgecolors="none",
    )
    ax.add_collection(boxes)
    bottom = low - 0.5
    if pedals:
        spans = perf.pedals
        kinds = [k for k in (64, 66, 67) if np.any(spans["kind"] == k)]
        lanes: dict[str, Any] = {}
        for lane, kind in enumerate(kinds):
            y = low - 2.0 - 1.5 * lane
            chosen = (spans["kind"] == kind) & (spans["offset_s"] >= t0) & (spans["onset_s"] <= t1)
            verts = _rectangles(spans["onset_s"][chosen], spans["offset_s"][chosen], np.full(int(chosen.sum()), y), 1.0)
            ax.add_collection(PolyCollection(list(verts), facecolors="0.55", edgecolors="none"))
            lanes[_PEDAL_NAMES[kind]] = y
            bottom = y - 1.0
        if lanes:
            ax.axhline(low - 0.9, color="0.8", linewidth=0.5)
    else:
        lanes = {}
    octave_cs = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(list(lanes.values()) + octave_cs)
    ax.set_yticklabels(list(lanes) + [f"{_NOTE_NAMES[p % 12]}{p // 12 - 1}" for p in octave_cs])
    ax.set_xlim(t0, t1 if t1 > t0 else t0 + 1.0)
    ax.set_ylim(bottom, high + 0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    if colorbar:
        ax.figure.colorbar(boxes, ax=ax, label="velocity", pad=0.01)
    return ax

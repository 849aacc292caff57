"""Deterministic long practice takes for the benchmark: what a digital piano records in an hour.

Each take is a single-track format-0 file at 960 PPQ with the density of MAESTRO's recordings:
chords and runs (10 to 25 notes per second while playing, short pauses between phrases), the
sustain pedal as a continuous CC64 stream (Disklavier-style: a value every 4 ms while it moves,
half-pedalling included), and occasional soft-pedal presses. An hour is 0.84 MB: 58,000 notes and
150,000 control changes. The same seed gives the same bytes on every machine.
"""

from __future__ import annotations

import numpy as np

import continuo

PPQ = 960
BPM = 120.0
TICKS_PER_SECOND = PPQ * BPM / 60.0


def take(minutes: float, seed: int) -> bytes:
    """Returns the bytes of one take of about `minutes` minutes."""
    rng = np.random.default_rng(seed)
    length = minutes * 60.0
    onsets: list[np.ndarray] = []
    now = 0.5
    while now < length:
        phrase = rng.uniform(8.0, 40.0)  # seconds of playing, then a pause
        count = int(phrase * rng.uniform(10.0, 25.0))
        gaps = rng.exponential(phrase / count, count)
        onsets.append(now + np.cumsum(gaps))
        now += phrase + rng.uniform(0.3, 2.0)
    onset_s = np.concatenate(onsets)
    onset_s = onset_s[onset_s < length]
    n = onset_s.size
    centre = 60 + 12 * np.sin(onset_s / 37.0)
    pitch = np.clip(np.rint(centre + rng.normal(0, 7, n)), 21, 108)
    duration = rng.gamma(2.0, 0.18, n) + 0.03
    velocity = np.clip(np.rint(rng.normal(62, 16, n)), 1, 127)
    onset_tick = np.rint(onset_s * TICKS_PER_SECOND).astype(np.int64)
    offset_tick = onset_tick + np.maximum(np.rint(duration * TICKS_PER_SECOND), 1).astype(np.int64)
    # Keep one key from sounding twice at once, as a piano does.
    order = np.lexsort((onset_tick, pitch))
    p, on, off = pitch[order], onset_tick[order], offset_tick[order]
    same = p[1:] == p[:-1]
    off[:-1] = np.where(same, np.minimum(off[:-1], on[1:]), off[:-1])
    keep = off > on

    controls: dict[str, list[int]] = {"tick": [], "number": [], "value": []}
    t = 0.0
    while t < length:  # sustain: press, hold, release, each move a stream of values
        press, hold = rng.uniform(0.1, 0.4), rng.uniform(0.5, 3.0)
        depth = rng.choice([127, 127, 90, 70])  # half-pedalling now and then
        down = np.linspace(0, depth, max(int(press / 0.004), 2))
        for start, values in ((t, down), (t + press + hold, down[::-1])):
            for k, v in enumerate(values):
                controls["tick"].append(int((start + k * 0.004) * TICKS_PER_SECOND))
                controls["number"].append(64)
                controls["value"].append(int(v))
        t += 2 * press + hold + rng.uniform(0.1, 1.5)
        if rng.random() < 0.05:
            controls["tick"] += [int(t * TICKS_PER_SECOND), int((t + 2) * TICKS_PER_SECOND)]
            controls["number"] += [67, 67]
            controls["value"] += [127, 0]
    perf = continuo.from_notes(
        {"onset_tick": on[keep], "offset_tick": off[keep], "pitch": p[keep], "velocity": velocity[order][keep]},
        ppq=PPQ,
        tempo=BPM,
        controls=controls,
    )
    return perf.to_bytes(format=0)


def takes() -> dict[str, bytes]:
    """The generated set: takes of 30, 60 and 120 minutes."""
    return {f"take-{m}min.mid": take(m, seed=m) for m in (30, 60, 120)}

"""Compares continuo with pretty_midi, symusic and mido on one file (run in worker processes).

- ``pairing="close_all"`` must give exactly pretty_midi's notes (start, end, pitch, velocity;
  times within 1e-9 s), except the notes pretty_midi discards, each identified from the file's
  events by the rule that discards it (see ``pretty_midi_discards``);
- ``pairing="fifo"`` must give exactly symusic's notes, in ticks;
- the tempo map must give mido's time in seconds of every event (within 1e-9 s: mido sums
  floating-point deltas, so its own rounding accumulates).
"""

from __future__ import annotations

import io
import pathlib
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import mido
import numpy as np
import pretty_midi
import symusic

import continuo

SECONDS_TOLERANCE = 1e-9

DROPPED_ON_ONSET = "a note-off on the note's own onset tick, with no older note of that key open"
DROPPED_AT_END = "still sounding at the end of its track"


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    discarded: Counter[str] = field(default_factory=Counter)  # notes pretty_midi drops, by reason
    reference_errors: dict[str, str] = field(default_factory=dict)  # tools that cannot read the file
    notes: int = 0


def mido_seconds(mid: mido.MidiFile) -> tuple[np.ndarray, np.ndarray]:
    """Returns every tick that holds an event and mido's time in seconds of it.

    The same sums as ``for msg in mid`` (``MidiFile.__iter__``): tracks merged by absolute tick,
    track 0 first at equal ticks, each delta converted by ``mido.tick2second`` at the tempo set by
    the last tempo event before it. Deltas of 0 add exactly 0.0 there, so summing once per distinct
    tick gives the same floating-point result without copying every message as merge_tracks does.
    """
    ticks_of_tracks = []
    tempo_at: dict[int, int] = {}
    for events in mid.tracks:
        times = np.cumsum([msg.time for msg in events], dtype=np.int64)
        ticks_of_tracks.append(times)
        for msg, tick in zip(events, times.tolist()):
            if msg.type == "set_tempo":
                tempo_at[tick] = msg.tempo  # later tracks come later in the merge: the last one wins
    ticks = np.unique(np.concatenate(ticks_of_tracks)) if ticks_of_tracks else np.zeros(0, np.int64)
    seconds = np.empty(len(ticks))
    tempo, now, previous = 500_000, 0.0, 0
    for i, tick in enumerate(ticks.tolist()):
        if tick != previous:
            now += mido.tick2second(tick - previous, mid.ticks_per_beat, tempo)
        seconds[i] = now
        previous = tick
        tempo = tempo_at.get(tick, tempo)
    return ticks, seconds


def pretty_midi_discards(mid: mido.MidiFile) -> list[tuple[int, int, int, int, int, str]]:
    """Returns (track, channel, pitch, onset tick, velocity, reason) of the notes pretty_midi
    drops, from the events of `mid` after pretty_midi made their times absolute.

    pretty_midi pairs like close_all, but (1) when a note-off finds only notes that began on its
    own tick, it forgets them all, and (2) it drops notes still sounding at the end of a track.
    continuo ends the first there as zero-length notes and closes the second at the end of the
    track (diagnostic model.notes_not_closed).
    """
    out = []
    for index, events in enumerate(mid.tracks):
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for e in events:
            if e.type == "note_on" and e.velocity > 0:
                sounding[(e.channel, e.note)].append((e.time, e.velocity))
            elif e.type == "note_off" or e.type == "note_on":
                key = (e.channel, e.note)
                if key not in sounding:
                    continue
                older = [n for n in sounding[key] if n[0] != e.time]
                same_tick = [n for n in sounding[key] if n[0] == e.time]
                if older and same_tick:
                    sounding[key] = same_tick
                    continue
                del sounding[key]
                out += [(index, key[0], key[1], tick, velocity, DROPPED_ON_ONSET) for tick, velocity in same_tick]
        for (channel, pitch), notes in sounding.items():
            out += [(index, channel, pitch, tick, velocity, DROPPED_AT_END) for tick, velocity in notes]
    return out


def compare_pretty_midi(perf: continuo.Performance, mid: mido.MidiFile, verdict: Verdict) -> None:
    if any(e.type == "set_tempo" for events in mid.tracks[1:] for e in events):
        # pretty_midi reads tempo from track 0 only; no file of these corpora puts it elsewhere.
        verdict.problems.append("tempo events outside track 0: pretty_midi would ignore them")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its warnings about meta events on other tracks
        pm = pretty_midi.PrettyMIDI(mido_object=mid)
    theirs = sorted((n.pitch, n.velocity, n.start, n.end) for inst in pm.instruments for n in inst.notes)

    n = perf.notes
    keys = zip(n["track"].tolist(), n["channel"].tolist(), n["pitch"].tolist(), n["onset_tick"].tolist(), n["velocity"].tolist())
    drop: Counter[tuple[int, int, int, int, int]] = Counter()
    for track, channel, pitch, tick, velocity, reason in pretty_midi_discards(mid):
        drop[(track, channel, pitch, tick, velocity)] += 1
        verdict.discarded[reason] += 1
    keep = []
    for i, key in enumerate(keys):
        if drop[key] > 0:
            drop[key] -= 1
        else:
            keep.append(i)
    if +drop:
        verdict.problems.append(f"pretty_midi drops notes continuo does not have: {list((+drop).items())[:3]}")
        return
    idx = np.array(keep, dtype=np.int64)
    ours = sorted(zip(n["pitch"][idx].tolist(), n["velocity"][idx].tolist(), n["onset_s"][idx].tolist(), n["offset_s"][idx].tolist()))
    if len(ours) != len(theirs):
        verdict.problems.append(f"pretty_midi has {len(theirs)} notes, continuo {len(ours)} after the discarded ones")
        return
    if not ours:
        return
    a, b = np.array(ours), np.array(theirs)
    if not np.array_equal(a[:, :2], b[:, :2]):
        row = int(np.argmax(np.any(a[:, :2] != b[:, :2], axis=1)))
        verdict.problems.append(f"pretty_midi note {b[row].tolist()} vs continuo {a[row].tolist()}")
        return
    worst = float(np.abs(a[:, 2:] - b[:, 2:]).max())
    if worst > SECONDS_TOLERANCE:
        verdict.problems.append(f"pretty_midi times differ by up to {worst:.3g} s")


def compare_symusic(data: bytes, verdict: Verdict) -> None:
    perf = continuo.read(data, pairing="fifo")
    score = symusic.Score.from_midi(data)
    theirs: list[tuple[int, int, int, int]] = []
    for t in score.tracks:
        a = t.notes.numpy()
        theirs += zip(a["time"].tolist(), (a["time"] + a["duration"]).tolist(), a["pitch"].tolist(), a["velocity"].tolist())
    n = perf.notes
    ours = list(zip(n["onset_tick"].tolist(), n["offset_tick"].tolist(), n["pitch"].tolist(), n["velocity"].tolist()))
    if sorted(ours) != sorted(theirs):
        extra, missing = Counter(ours) - Counter(theirs), Counter(theirs) - Counter(ours)
        verdict.problems.append(f"symusic: continuo has {list(extra)[:3]} more, {list(missing)[:3]} fewer")


def compare(path: pathlib.Path) -> Verdict:
    verdict = Verdict()
    data = path.read_bytes()
    perf = continuo.read(data, pairing="close_all")
    verdict.notes = len(perf.notes["pitch"])
    try:
        compare_symusic(data, verdict)
    except RuntimeError as e:  # symusic's own parse errors
        verdict.reference_errors["symusic"] = f"{type(e).__name__}: {e}"
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, ValueError, EOFError, KeyError) as e:
        verdict.reference_errors["mido"] = f"{type(e).__name__}: {e}"
        return verdict
    if mid.type != 2:  # mido cannot merge the independent tracks of format 2
        ticks, seconds = mido_seconds(mid)
        ours = perf.tempo_map.tick_to_seconds(ticks)
        worst = float(np.abs(ours - seconds).max()) if len(ticks) else 0.0
        if worst > SECONDS_TOLERANCE:
            verdict.problems.append(f"mido times differ by up to {worst:.3g} s")
    try:
        compare_pretty_midi(perf, mid, verdict)  # last: pretty_midi rewrites mid's delta times
    except (ValueError, IndexError, KeyError) as e:
        verdict.reference_errors["pretty_midi"] = f"{type(e).__name__}: {e}"
    return verdict

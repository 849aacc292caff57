"""An independent reference for `continuo notes`: mido parses the file, and the note pairing and the
tick-to-seconds conversion below are written from the definitions in continuo/performance.hpp and
continuo/tempo_map.hpp, sharing nothing with continuo's code.

compare_file() runs in worker processes (mido is pure Python, so threads would not help): it takes
and returns plain picklable values."""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import subprocess
from bisect import bisect_right

import mido
import numpy as np
import numpy.typing as npt

POLICIES = ("fifo", "lifo", "close_all")

# Columns compared exactly: onset_tick, offset_tick, pitch, velocity, channel, track.
NoteArray = npt.NDArray[np.int64]


@dataclasses.dataclass
class FileResult:
    """What comparing one file found."""

    path: str
    skipped: str = ""  # why the file was not compared, when it was not
    notes: int = 0
    mismatches: dict[str, str] = dataclasses.field(default_factory=dict)  # policy -> what differs
    max_seconds_error: float = 0.0
    seconds_checked: bool = False
    policies_disagree: bool = False


def pair_notes(
    tracks: list[list[tuple[int, bool, int, int, int]]], end_ticks: list[int], policy: str
) -> NoteArray:
    """Pairs each track's (tick, is_on, channel, pitch, velocity) events, in file order, under
    `policy`: fifo ends the oldest sounding note of the (channel, pitch), lifo the newest, close_all
    every one struck before the note-off's tick (those struck on that tick too when nothing earlier
    sounds). Note-offs with nothing sounding are dropped; notes still sounding end at the track's last
    tick."""
    out: list[tuple[int, int, int, int, int, int]] = []
    for track, (events, end_tick) in enumerate(zip(tracks, end_ticks)):
        sounding: dict[tuple[int, int], collections.deque[tuple[int, int]]] = collections.defaultdict(
            collections.deque
        )
        for tick, is_on, channel, pitch, velocity in events:
            queue = sounding[(channel, pitch)]
            if is_on:
                queue.append((tick, velocity))
            elif not queue:
                continue
            elif policy == "fifo":
                onset, v = queue.popleft()
                out.append((onset, tick, pitch, v, channel, track))
            elif policy == "lifo":
                onset, v = queue.pop()
                out.append((onset, tick, pitch, v, channel, track))
            elif any(onset < tick for onset, _ in queue):
                # close_all: notes struck on this very tick stay sounding...
                kept = collections.deque((onset, v) for onset, v in queue if onset == tick)
                out.extend((onset, tick, pitch, v, channel, track) for onset, v in queue if onset != tick)
                sounding[(channel, pitch)] = kept
            else:
                # ... unless nothing earlier sounds: then they end here, with length 0.
                out.extend((onset, tick, pitch, v, channel, track) for onset, v in queue)
                queue.clear()
        for (channel, pitch), queue in sounding.items():
            out.extend((onset, end_tick, pitch, v, channel, track) for onset, v in queue)
    return sort_rows(np.array(out, dtype=np.int64).reshape(-1, 6))


def sort_rows(rows: NoteArray) -> NoteArray:
    if len(rows) == 0:
        return rows
    return rows[np.lexsort(rows.T[::-1])]


class TempoMap:
    """Seconds of ticks for a metrical division: the tempo changes of every track, ordered by tick
    (at one tick the last one in file order wins), 500000 us per quarter before the first."""

    def __init__(self, ticks_per_quarter: int, changes: list[tuple[int, int]]) -> None:
        by_tick: dict[int, int] = {0: 500_000}
        for tick, tempo in sorted(changes, key=lambda c: c[0]):  # stable: file order within a tick
            by_tick[tick] = tempo
        self.ticks = np.array(sorted(by_tick), dtype=np.int64)
        self.tempos = np.array([by_tick[t] for t in sorted(by_tick)], dtype=np.int64)
        # Exact microsecond * tick sums at the start of each segment, as Python integers.
        starts = [0]
        for i in range(1, len(self.ticks)):
            starts.append(starts[-1] + int(self.ticks[i] - self.ticks[i - 1]) * int(self.tempos[i - 1]))
        self.starts = starts
        self.denominator = ticks_per_quarter * 1_000_000

    def seconds(self, ticks: NoteArray) -> npt.NDArray[np.float64]:
        """Returns the time of each tick, correctly rounded (one division of exact integers)."""
        segment = np.searchsorted(self.ticks, ticks, side="right") - 1
        out = np.empty(len(ticks), dtype=np.float64)
        for i, (tick, s) in enumerate(zip(ticks.tolist(), segment.tolist())):
            numerator = self.starts[s] + (tick - int(self.ticks[s])) * int(self.tempos[s])
            out[i] = numerator / self.denominator  # int / int: correctly rounded
        return out


def seconds_vectorised(tempo: TempoMap, ticks: NoteArray) -> npt.NDArray[np.float64]:
    """TempoMap.seconds with numpy where the integers stay below 2^53 (then every step is exact)."""
    if len(ticks) == 0:
        return np.zeros(0)
    if max(tempo.starts) + int(ticks.max()) * int(tempo.tempos.max()) >= 2**53:
        return tempo.seconds(ticks)
    segment = np.searchsorted(tempo.ticks, ticks, side="right") - 1
    starts = np.array(tempo.starts, dtype=np.int64)
    numerator = starts[segment] + (ticks - tempo.ticks[segment]) * tempo.tempos[segment]
    return numerator.astype(np.float64) / float(tempo.denominator)


def read_with_mido(path: str) -> tuple[list[list[tuple[int, bool, int, int, int]]], list[int], mido.MidiFile]:
    """Returns each track's note events (tick, is_on, channel, pitch, velocity), each track's last
    tick, and the parsed file. A note-on of velocity 0 is a note-off."""
    midi = mido.MidiFile(path)
    tracks = []
    end_ticks = []
    for track in midi.tracks:
        tick = 0
        events = []
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                events.append((tick, True, message.channel, message.note, message.velocity))
            elif message.type in ("note_on", "note_off"):
                events.append((tick, False, message.channel, message.note, 0))
        tracks.append(events)
        end_ticks.append(tick)
    return tracks, end_ticks, midi


def continuo_notes(bin_path: str, path: str, policy: str) -> tuple[NoteArray, npt.NDArray[np.float64]]:
    """Returns `continuo notes --pairing policy` as (ticks and keys, seconds), in the printed order."""
    p = subprocess.run(
        [bin_path, "notes", path, "--csv", "--pairing", policy], capture_output=True, timeout=60, check=True
    )
    text = p.stdout.decode()
    header, _, body = text.partition("\n")
    if not body:
        return np.zeros((0, 6), dtype=np.int64), np.zeros((0, 2))
    table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    # onset_s,offset_s,pitch,velocity,channel,track,onset_tick,offset_tick: ticks are below 2^53.
    keys = table[:, [6, 7, 2, 3, 4, 5]].astype(np.int64)
    return keys, table[:, 0:2]


def describe(ours: NoteArray, theirs: NoteArray) -> str:
    a = {tuple(r) for r in ours.tolist()}
    b = {tuple(r) for r in theirs.tolist()}
    only_ours = sorted(a - b)[:3]
    only_theirs = sorted(b - a)[:3]
    return (
        f"continuo has {len(ours)} notes, mido {len(theirs)}; first only in continuo "
        f"(onset, offset, pitch, velocity, channel, track): {only_ours}, only in mido: {only_theirs}"
    )


def compare_file(bin_path: str, path: str) -> FileResult:
    """Compares `continuo notes` with mido on one file, under every policy."""
    result = FileResult(path)
    inspect = subprocess.run([bin_path, "inspect", path, "--json"], capture_output=True, timeout=60, check=False)
    report = json.loads(inspect.stdout)
    violations = [d for d in report["diagnostics"] if not d["id"].startswith("model.")]
    if violations:
        first = violations[0]
        result.skipped = f"continuo repaired it ([{first['id']}] byte {first['offset']}: {first['message']})"
        return result
    try:
        tracks, end_ticks, midi = read_with_mido(path)
    except Exception as e:  # noqa: BLE001 - any refusal of mido's is a reason to skip, reported as such
        result.skipped = f"mido refuses it ({type(e).__name__}: {e})"
        return result

    division = midi.ticks_per_beat
    tempo = None
    if not division & 0x8000:
        changes = []
        for track in midi.tracks:
            tick = 0
            for message in track:
                tick += message.time
                if message.type == "set_tempo":
                    changes.append((tick, message.tempo))
        tempo = TempoMap(division, changes)

    by_policy = []
    for policy in POLICIES:
        ours, seconds = continuo_notes(bin_path, path, policy)
        theirs = pair_notes(tracks, end_ticks, policy)
        ours_sorted = sort_rows(ours)
        by_policy.append(ours_sorted)
        if not np.array_equal(ours_sorted, theirs):
            result.mismatches[policy] = describe(ours_sorted, theirs)
            continue
        if tempo is not None and len(ours):
            expected = np.stack([seconds_vectorised(tempo, ours[:, 0]), seconds_vectorised(tempo, ours[:, 1])], axis=1)
            result.max_seconds_error = max(result.max_seconds_error, float(np.abs(expected - seconds).max()))
            result.seconds_checked = True
    result.notes = len(by_policy[0])
    result.policies_disagree = any(not np.array_equal(by_policy[0], other) for other in by_policy[1:])
    return result

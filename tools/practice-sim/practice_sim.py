"""Practice simulator: real performances turned into realistic practice with known ground truth.

From performances with beat and downbeat annotations (ASAP's layout: ``metadata.csv`` and
``<performance>_annotations.txt``), it builds days of practice made of warm-ups (scales, arpeggios),
run-throughs that sometimes stumble and restart a bar or two earlier, drilled passages (a bar range
played again and again, slower at first and faster later, by time-stretching the real notes), wrong,
missing and extra notes, pauses drawn from realistic distributions, several pieces in a session and
one or two sessions a day. Each day is a MIDI file, as a recorder would write it, with a JSON ground
truth: its sessions and their attempts, with the piece, the bar range and the tempo factor of each.
The same seed gives the same files.

Command line::

    python tools/practice-sim/practice_sim.py CORPUS OUT_DIR [--days 5] [--seed 1]
    python tools/practice-sim/practice_sim.py piece.mid OUT_DIR   # bars from its time signatures

From Python::

    sim = Simulator(load_pieces(corpus), seed=1)
    day = sim.day(0)            # a Day: notes, pedal and the ground truth
    day.write(out_dir)          # day_000.mid and day_000.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import numpy.typing as npt

import continuo

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TICKS_PER_SECOND = 960  # 480 PPQ at 120 bpm: the file's ticks are plain milliseconds-and-a-bit


@dataclass(frozen=True)
class Piece:
    """One annotated performance: its notes and sustain pedal in seconds, and where its bars start."""

    name: str  # the performance's path in the corpus, without ".mid"
    composer: str
    title: str
    onset_s: FloatArray
    offset_s: FloatArray
    pitch: IntArray
    velocity: IntArray
    pedal: FloatArray  # sustain spans, shape (n, 2): down and up times
    downbeats_s: FloatArray  # the start of every bar, and the end of the last one
    source: Optional[continuo.Performance] = field(default=None, compare=False, repr=False)  # as read

    @property
    def bar_count(self) -> int:
        return len(self.downbeats_s) - 1


def read_annotations(path: Path) -> tuple[FloatArray, FloatArray]:
    """Returns the beat times and the downbeat times of an ASAP annotation file."""
    beats: list[float] = []
    downbeats: list[float] = []
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        time = float(fields[0])
        kind = fields[2].split(",")[0]
        beats.append(time)
        if kind == "db":
            downbeats.append(time)
    return np.asarray(beats), np.asarray(downbeats)


def load_piece(corpus: Path, row: dict[str, str]) -> Optional[Piece]:
    """Reads one performance of ``metadata.csv``; None when it has fewer than four bars."""
    perf = continuo.read(corpus / row["midi_performance"])
    beats, downbeats = read_annotations(corpus / row["performance_annotations"])
    if len(downbeats) < 5 or len(beats) < 2:
        return None
    # The last bar ends one bar length after its downbeat (or at the last beat, if later).
    end = max(downbeats[-1] + float(np.median(np.diff(downbeats))), beats[-1])
    notes = perf.notes
    sustain = perf.pedals[perf.pedals["kind"] == 64]
    return Piece(
        name=row["midi_performance"].removesuffix(".mid"),
        composer=row["composer"],
        title=row["title"],
        onset_s=np.asarray(notes["onset_s"], dtype=np.float64),
        offset_s=np.asarray(notes["offset_s"], dtype=np.float64),
        pitch=np.asarray(notes["pitch"], dtype=np.int64),
        velocity=np.asarray(notes["velocity"], dtype=np.int64),
        pedal=np.column_stack([sustain["onset_s"], sustain["offset_s"]]).astype(np.float64),
        downbeats_s=np.append(downbeats, end),
        source=perf,
    )


def load_midi_piece(path: Path) -> Piece:
    """Reads any MIDI file as a piece to practise, its bars laid out by its time signatures."""
    perf = continuo.read(path)
    ppq = perf.ppq
    if ppq is None:
        raise ValueError(f"{path}: SMPTE timing has no bars; give a file with a metrical (PPQ) division")
    signatures = [(int(t["tick"]), int(t["numerator"]), int(t["denominator"])) for t in perf.time_signatures]
    if not signatures or signatures[0][0] > 0:
        signatures.insert(0, (0, 4, 4))  # the specification's default
    end_tick = max(perf.duration_tick, 1)
    downbeats: list[int] = []
    for k, (tick, numerator, denominator) in enumerate(signatures):
        until = signatures[k + 1][0] if k + 1 < len(signatures) else end_tick
        bar_ticks = max(1, numerator * ppq * 4 // denominator)
        downbeats.extend(range(tick, until, bar_ticks))
        if k + 1 == len(signatures):
            downbeats.append(downbeats[-1] + bar_ticks if downbeats else bar_ticks)
    notes = perf.notes
    sustain = perf.pedals[perf.pedals["kind"] == 64]
    return Piece(
        name=path.stem,
        composer="",
        title=path.stem,
        onset_s=np.asarray(notes["onset_s"], dtype=np.float64),
        offset_s=np.asarray(notes["offset_s"], dtype=np.float64),
        pitch=np.asarray(notes["pitch"], dtype=np.int64),
        velocity=np.asarray(notes["velocity"], dtype=np.int64),
        pedal=np.column_stack([sustain["onset_s"], sustain["offset_s"]]).astype(np.float64),
        downbeats_s=np.asarray(perf.tempo_map.tick_to_seconds(np.asarray(downbeats, dtype=np.int64)), dtype=np.float64),
        source=perf,
    )


def load_pieces(corpus: Path, limit: Optional[int] = None, progress: bool = False) -> list[Piece]:
    """Loads the annotated performances of a corpus in ASAP's layout, in metadata order."""
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pieces: list[Piece] = []
    for i, row in enumerate(rows):
        if limit is not None and len(pieces) >= limit:
            break
        if progress:
            print(f"\rloading performances: {i + 1}/{len(rows)}", end="", file=sys.stderr)
        piece = load_piece(corpus, row)
        if piece is not None:
            pieces.append(piece)
    if progress:
        print(file=sys.stderr)
    return pieces


@dataclass
class Attempt:
    """One stretch of playing from a start to a stop, as the simulated pianist meant it."""

    start_s: float
    end_s: float
    kind: str  # "warmup", "run_through", "restart" (after a stumble) or "drill"
    piece: Optional[str] = None  # Piece.name, None for warm-ups
    composer: Optional[str] = None
    title: Optional[str] = None
    bars: Optional[tuple[int, int]] = None  # first bar and one past the last, 0-based
    tempo_factor: float = 1.0  # played tempo over the performance's own
    note_count: int = 0


@dataclass
class Session:
    start_s: float
    end_s: float
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Pauses:
    """Pause lengths in seconds, as log-normal distributions (median, sigma of the log).

    Real rehearsals of one piece have pauses of 2-105 s (226 over 2 s, 84 over 5 s and 4 over 30 s
    in 3.9 hours): most restarts follow a few seconds' thought, a few a long look at the score.
    """

    after_stumble: tuple[float, float] = (2.0, 0.5)
    between_repetitions: tuple[float, float] = (4.0, 0.6)
    between_activities: tuple[float, float] = (12.0, 0.8)
    longest_s: float = 105.0
    between_sessions_min: tuple[float, float] = (90.0, 0.5)  # minutes

    def draw(self, rng: np.random.Generator, kind: tuple[float, float]) -> float:
        """Returns a pause within a session, in seconds."""
        median, sigma = kind
        return float(min(self.longest_s, median * np.exp(sigma * rng.standard_normal())))


@dataclass
class Habits:
    """How the simulated pianist practises."""

    pauses: Pauses = field(default_factory=Pauses)
    wrong_note: float = 0.02  # chance per note of a neighbouring key instead
    missing_note: float = 0.02
    extra_note: float = 0.01
    stumble_per_bar: float = 0.04  # chance per bar of a run-through that it stops there
    run_through_bars: tuple[int, int] = (8, 32)
    drill_bars: tuple[int, int] = (2, 4)
    drill_repetitions: tuple[int, int] = (3, 8)
    drill_tempo: tuple[float, float] = (0.65, 1.0)  # first and last repetition's tempo factor
    pieces_per_session: tuple[int, int] = (1, 3)
    sessions_per_day: tuple[int, int] = (1, 2)


@dataclass
class Day:
    """A day of practice: what the recorder heard, and what really happened."""

    index: int
    onset_s: FloatArray
    offset_s: FloatArray
    pitch: IntArray
    velocity: IntArray
    pedal: FloatArray  # sustain spans (down, up)
    sessions: list[Session]

    def performance(self) -> continuo.Performance:
        """Returns the day as a continuo performance (480 PPQ, 120 bpm)."""
        notes = {
            "onset_tick": np.rint(self.onset_s * TICKS_PER_SECOND).astype(np.int64),
            "offset_tick": np.rint(self.offset_s * TICKS_PER_SECOND).astype(np.int64),
            "pitch": self.pitch.astype(np.uint8),
            "velocity": self.velocity.astype(np.uint8),
        }
        down = np.rint(self.pedal[:, 0] * TICKS_PER_SECOND).astype(np.int64)
        up = np.rint(self.pedal[:, 1] * TICKS_PER_SECOND).astype(np.int64)
        controls = {
            "tick": np.concatenate([down, up]),
            "number": np.full(2 * len(down), 64, dtype=np.uint8),
            "value": np.concatenate([np.full(len(down), 100), np.zeros(len(up))]).astype(np.uint8),
        }
        order = np.argsort(controls["tick"], kind="stable")
        controls = {k: v[order] for k, v in controls.items()}
        return continuo.from_notes(notes, ppq=480, tempo=120.0, controls=controls)

    def truth(self) -> dict[str, Any]:
        """Returns the ground truth as JSON-ready data."""
        return {"day": self.index, "file": f"day_{self.index:03d}.mid", "sessions": [asdict(s) for s in self.sessions]}

    def write(self, folder: Path) -> Path:
        """Writes day_NNN.mid and day_NNN.json into ``folder``; returns the MIDI file's path."""
        folder.mkdir(parents=True, exist_ok=True)
        midi = folder / f"day_{self.index:03d}.mid"
        self.performance().write(midi)
        (folder / f"day_{self.index:03d}.json").write_text(json.dumps(self.truth(), indent=1))
        return midi


class _Take:
    """Notes and pedal spans being laid out on the day's timeline."""

    def __init__(self) -> None:
        self.onset: list[FloatArray] = []
        self.offset: list[FloatArray] = []
        self.pitch: list[IntArray] = []
        self.velocity: list[IntArray] = []
        self.pedal: list[FloatArray] = []
        self.now_s = 0.0  # when the sound of the last attempt has died away

    def add(self, onset: FloatArray, offset: FloatArray, pitch: IntArray, velocity: IntArray, pedal: FloatArray) -> None:
        self.onset.append(onset)
        self.offset.append(offset)
        self.pitch.append(pitch)
        self.velocity.append(velocity)
        self.pedal.append(pedal.reshape(-1, 2))
        ends = [self.now_s, float(offset.max(initial=0.0))]
        if len(pedal):
            ends.append(float(pedal[:, 1].max()))
        self.now_s = max(ends)


class Simulator:
    """Builds days of practice from annotated performances. Deterministic for a seed."""

    def __init__(self, pieces: list[Piece], seed: int = 1, habits: Optional[Habits] = None) -> None:
        usable = [p for p in pieces if p.bar_count >= 8]
        if not usable:
            raise ValueError("no performance with at least 8 annotated bars to practise")
        self.pieces = usable
        self.seed = seed
        self.habits = habits or Habits()

    def day(self, index: int) -> Day:
        """Returns day ``index``: one or two sessions, a repertoire of one to three pieces each."""
        rng = np.random.default_rng([self.seed, index])
        h = self.habits
        take = _Take()
        sessions: list[Session] = []
        for s in range(int(rng.integers(h.sessions_per_day[0], h.sessions_per_day[1] + 1))):
            if s > 0:
                median, sigma = h.pauses.between_sessions_min
                take.now_s += 60.0 * median * float(np.exp(sigma * rng.standard_normal()))
            session = Session(start_s=take.now_s + 1.0, end_s=0.0)
            self._warm_up(rng, take, session)
            count = int(rng.integers(h.pieces_per_session[0], h.pieces_per_session[1] + 1))
            for piece_index in rng.choice(len(self.pieces), size=min(count, len(self.pieces)), replace=False):
                self._practise(rng, take, session, self.pieces[int(piece_index)])
            session.start_s = session.attempts[0].start_s
            session.end_s = session.attempts[-1].end_s
            sessions.append(session)

        def joined(parts: Iterable[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
            items = list(parts)
            return np.concatenate(items).astype(dtype) if items else np.zeros(0, dtype=dtype)

        order = np.argsort(joined(take.onset, np.float64), kind="stable")
        return Day(
            index=index,
            onset_s=joined(take.onset, np.float64)[order],
            offset_s=joined(take.offset, np.float64)[order],
            pitch=joined(take.pitch, np.int64)[order],
            velocity=joined(take.velocity, np.int64)[order],
            pedal=np.concatenate(take.pedal) if take.pedal else np.zeros((0, 2)),
            sessions=sessions,
        )

    # Activities ---------------------------------------------------------------------------------

    def _pause(self, rng: np.random.Generator, take: _Take, kind: tuple[float, float]) -> None:
        take.now_s += self.habits.pauses.draw(rng, kind)

    def _warm_up(self, rng: np.random.Generator, take: _Take, session: Session) -> None:
        """Scales or arpeggios, two octaves up and down, in a random major key."""
        for _ in range(int(rng.integers(1, 3))):
            self._pause(rng, take, self.habits.pauses.between_activities)
            root = 48 + int(rng.integers(0, 12))
            steps = [0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.6 else [0, 4, 7]
            up = [root + 12 * octave + step for octave in range(2) for step in steps] + [root + 24]
            pitches = np.asarray(up + up[-2::-1], dtype=np.int64)
            step_s = 60.0 / float(rng.uniform(90, 140)) / 4  # sixteenths
            onset = take.now_s + step_s * np.arange(len(pitches)) + rng.normal(0, 0.008, len(pitches))
            onset = np.maximum.accumulate(np.maximum(onset, take.now_s))
            velocity = np.clip(rng.normal(70, 8, len(pitches)), 20, 120).astype(np.int64)
            start = float(onset[0])
            take.add(onset, onset + step_s * 0.9, pitches, velocity, np.zeros((0, 2)))
            session.attempts.append(Attempt(start, take.now_s, "warmup", note_count=len(pitches)))

    def _practise(self, rng: np.random.Generator, take: _Take, session: Session, piece: Piece) -> None:
        """A run-through, one to three drilled passages, and a last run-through."""
        h = self.habits
        self._pause(rng, take, h.pauses.between_activities)
        self._run_through(rng, take, session, piece)
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(h.drill_bars[0], h.drill_bars[1] + 1))
            first = int(rng.integers(0, max(1, piece.bar_count - length)))
            bars = (first, min(piece.bar_count, first + length))
            reps = int(rng.integers(h.drill_repetitions[0], h.drill_repetitions[1] + 1))
            self._pause(rng, take, h.pauses.between_activities)
            for r, factor in enumerate(np.linspace(h.drill_tempo[0], h.drill_tempo[1], reps)):
                if r > 0:
                    self._pause(rng, take, h.pauses.between_repetitions)
                self._play(rng, take, session, piece, bars, float(factor), "drill")
        self._pause(rng, take, h.pauses.between_activities)
        self._run_through(rng, take, session, piece)

    def _run_through(self, rng: np.random.Generator, take: _Take, session: Session, piece: Piece) -> None:
        """Plays from a bar near the start; may stumble, pause and restart a bar or two earlier."""
        h = self.habits
        length = int(rng.integers(h.run_through_bars[0], h.run_through_bars[1] + 1))
        first = int(rng.integers(0, max(1, piece.bar_count // 4)))
        last = min(piece.bar_count, first + length)
        factor = float(rng.uniform(0.9, 1.05))
        kind = "run_through"
        while first < last:
            stumble_at = next((b for b in range(first + 1, last) if rng.random() < h.stumble_per_bar), None)
            stop = stumble_at if stumble_at is not None else last
            # A stumble stops somewhere inside the bar, not on its downbeat.
            fraction = float(rng.uniform(0.2, 0.8)) if stumble_at is not None else 1.0
            self._play(rng, take, session, piece, (first, stop), factor, kind, stop_fraction=fraction)
            if stumble_at is None:
                break
            self._pause(rng, take, h.pauses.after_stumble)
            first = max(0, stumble_at - int(rng.integers(1, 3)))
            kind = "restart"

    def _play(
        self,
        rng: np.random.Generator,
        take: _Take,
        session: Session,
        piece: Piece,
        bars: tuple[int, int],
        factor: float,
        kind: str,
        stop_fraction: float = 1.0,
    ) -> None:
        """Plays bars [first, last) of ``piece`` at ``factor`` times its tempo, from take.now_s."""
        h = self.habits
        begin = float(piece.downbeats_s[bars[0]])
        end = float(piece.downbeats_s[bars[1] - 1] + stop_fraction * (piece.downbeats_s[bars[1]] - piece.downbeats_s[bars[1] - 1]))
        chosen = (piece.onset_s >= begin) & (piece.onset_s < end)
        if not chosen.any():
            return
        start = take.now_s + 0.05
        stretch = 1.0 / factor
        # Notes that sound past a stumble are cut short there, as the hands come off the keys.
        cut = end if stop_fraction < 1.0 else np.inf
        onset = start + (piece.onset_s[chosen] - begin) * stretch
        offset = start + (np.minimum(piece.offset_s[chosen], cut + 0.15) - begin) * stretch
        pitch = piece.pitch[chosen].copy()
        velocity = piece.velocity[chosen].copy()

        wrong = rng.random(len(pitch)) < h.wrong_note
        pitch[wrong] += rng.choice([-2, -1, 1, 2], size=int(wrong.sum()))
        keep = rng.random(len(pitch)) >= h.missing_note
        extra = rng.random(len(pitch)) < h.extra_note
        onset = np.concatenate([onset[keep], onset[extra] + 0.02])
        offset = np.concatenate([offset[keep], offset[extra] + 0.02])
        pitch = np.clip(np.concatenate([pitch[keep], pitch[extra] + rng.choice([-1, 1], size=int(extra.sum()))]), 21, 108)
        velocity = np.concatenate([velocity[keep], np.clip(velocity[extra] - 20, 1, 127)])
        if len(onset) == 0:
            return

        # The pedal goes down with the first note at the earliest: a drilled bar that opens on a rest
        # does not start with the foot on the pedal for the length of that rest.
        first_onset = float(piece.onset_s[chosen].min())
        spans = piece.pedal[(piece.pedal[:, 1] > first_onset) & (piece.pedal[:, 0] < end)]
        pedal = np.clip(spans, first_onset, end + 0.15)
        pedal = start + (pedal - begin) * stretch
        take.add(onset, offset, pitch, velocity, pedal)
        session.attempts.append(
            Attempt(
                start_s=float(onset.min()),
                end_s=take.now_s,
                kind=kind,
                piece=piece.name,
                composer=piece.composer,
                title=piece.title,
                bars=bars,
                tempo_factor=factor,
                note_count=len(onset),
            )
        )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus", type=Path, help="a folder in ASAP's layout (metadata.csv, *_annotations.txt), or a MIDI file to practise"
    )
    parser.add_argument("out", type=Path, help="where to write day_NNN.mid and day_NNN.json")
    parser.add_argument("--days", type=int, default=5, help="days of practice to simulate (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same files (default 1)")
    parser.add_argument("--pieces", type=int, default=None, help="use only the first N performances")
    args = parser.parse_args(argv)
    if args.corpus.is_file():
        pieces = [load_midi_piece(args.corpus)]
    elif (args.corpus / "metadata.csv").is_file():
        pieces = load_pieces(args.corpus, args.pieces, progress=True)
    else:
        parser.error(f"{args.corpus} is neither a MIDI file nor a folder in ASAP's layout (no metadata.csv)")
    sim = Simulator(pieces, seed=args.seed)
    for d in range(args.days):
        path = sim.day(d).write(args.out)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Registered pieces: which one is being played, which bars, how fast (docs/repertoire.md)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._embedding import Passage, SessionLike, session_items
from ._performance import Performance, read
from ._practice import Attempt, sessions

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Alternative",
    "AttemptAnalysis",
    "BarHeatmap",
    "Identification",
    "PassageInPiece",
    "Placement",
    "Repertoire",
    "SessionAnalysis",
    "bar_grid",
]

PieceSource = Union[Performance, str, "os.PathLike[str]", bytes]
"""What :meth:`Repertoire.add` registers: a performance, or a MIDI file (path or bytes)."""


@dataclass(frozen=True)
class Placement:
    """Where a stretch of a query lies in a piece. Bars are 1-based and fractional (3.5 is half-way
    through bar 3; a pickup before the first downbeat is bar 0.x); times in seconds."""

    query_start_s: float
    query_end_s: float
    reference_start_s: float
    reference_end_s: float
    first_bar: float
    last_bar: float
    tempo_ratio: float  #: query tempo over reference tempo (0.7: 30 % slower)
    score: float  #: consistent fingerprint matches

    @property
    def bars(self) -> tuple[int, int]:
        """The first and last bar touched, as whole bar numbers."""
        return int(self.first_bar), int(self.last_bar)


@dataclass(frozen=True)
class Alternative:
    """Another piece the query resembles, with its score."""

    piece: int
    name: str
    score: float
    tempo_ratio: float


@dataclass(frozen=True)
class Identification:
    """Which registered piece a query is (``piece`` is None when unknown), how sure, and where."""

    piece: Optional[int]
    name: Optional[str]
    confidence: float
    score: float
    tempo_ratio: float
    where: Optional[Placement]
    alternatives: tuple[Alternative, ...]
    #: With the fusion on (the default) and the votes alone short of the unknown threshold: the cosine of the query's
    #: embedding to the nearest reference window of the votes' best guess, and its lead over the nearest
    #: window of any other piece (0 when not searched).
    similarity: float = 0.0
    similarity_margin: float = 0.0
    by_fusion: bool = False  #: accepted because the embedding search agreed with the votes' best guess
    query_events: int = 0  #: onset events of the query voted with (chords merged)

    @property
    def known(self) -> bool:
        return self.piece is not None

    def to_pandas(self) -> pandas.DataFrame:
        """Returns the ranking (the piece found, then the alternatives) as a DataFrame."""
        import pandas as pd

        rows = [(self.piece, self.name, self.score, self.tempo_ratio)] if self.known else []
        rows += [(a.piece, a.name, a.score, a.tempo_ratio) for a in self.alternatives]
        return pd.DataFrame(rows, columns=["piece", "name", "score", "tempo_ratio"])


@dataclass(frozen=True)
class AttemptAnalysis:
    """One attempt of a session: its piece and the passages it played."""

    attempt: Attempt
    identification: Identification
    placements: tuple[Placement, ...]


@dataclass(frozen=True)
class BarHeatmap:
    """How many times each bar of a piece was played: ``plays[b]`` for bar b (``plays[0]``: the pickup)."""

    piece: int
    name: str
    plays: npt.NDArray[np.uint32]


@dataclass(frozen=True)
class SessionAnalysis:
    """Per attempt the piece and bars, per piece the bar heatmap."""

    attempts: tuple[AttemptAnalysis, ...]
    heatmaps: tuple[BarHeatmap, ...]

    def to_pandas(self) -> pandas.DataFrame:
        """Returns one row per passage played (an attempt with a stop and restart has several)."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for k, a in enumerate(self.attempts):
            base = {"attempt": k, "start_s": a.attempt.start_s, "end_s": a.attempt.end_s,
                    "piece": a.identification.piece, "name": a.identification.name,
                    "confidence": a.identification.confidence}  # fmt: skip
            if not a.placements:
                rows.append({**base, "first_bar": np.nan, "last_bar": np.nan, "tempo_ratio": np.nan})
            for p in a.placements:
                rows.append({**base, "first_bar": p.first_bar, "last_bar": p.last_bar, "tempo_ratio": p.tempo_ratio})
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class PassageInPiece:
    """A passage found without a score (:func:`continuo.passages`), placed in a registered piece:
    ``placements[k]`` is where its k-th occurrence lies (None when it could not be placed)."""

    passage: Passage
    piece: Optional[int]
    name: Optional[str]
    first_bar: float  #: median over the placed occurrences; nan when none was placed
    last_bar: float
    placements: tuple[Optional[Placement], ...]

    def to_pandas(self) -> pandas.DataFrame:
        """Returns one row per occurrence: the passage's columns and the bars it covered."""
        frame = self.passage.to_pandas()
        frame["piece"] = self.name
        frame["first_bar"] = [np.nan if p is None else p.first_bar for p in self.placements]
        frame["last_bar"] = [np.nan if p is None else p.last_bar for p in self.placements]
        return frame


def _placement(t: tuple[float, float, float, float, float, float, float, float]) -> Placement:
    return Placement(*(float(x) for x in t))


def _identification(t: tuple[Any, ...]) -> Identification:
    piece, name, confidence, score, tempo, where, alternatives, (similarity, margin, by_fusion, events) = t
    known = piece >= 0
    return Identification(
        piece=int(piece) if known else None,
        name=str(name) if known else None,
        confidence=float(confidence),
        score=float(score),
        tempo_ratio=float(tempo),
        where=_placement(where) if known else None,
        alternatives=tuple(Alternative(int(p), str(n), float(s), float(r)) for p, n, s, r in alternatives),
        similarity=float(similarity),
        similarity_margin=float(margin),
        by_fusion=bool(by_fusion),
        query_events=int(events),
    )


def bar_grid(perf: Performance) -> npt.NDArray[np.float64]:
    """Returns the downbeat times (seconds) of a performance's bars from its time signatures (4/4
    before the first) through its tempo map; empty for an SMPTE division."""
    tempo = perf.tempo_map.changes
    sig = perf.time_signatures
    end = max(perf.duration_tick, int(np.max(perf.notes["offset_tick"], initial=0)))
    grid = _core.bar_grid(
        perf._impl.division,
        np.asarray(tempo["tick"], dtype=np.int64), np.asarray(tempo["us_per_quarter"], dtype=np.uint32),
        np.asarray(sig["tick"], dtype=np.int64), np.asarray(sig["numerator"], dtype=np.uint8),
        np.asarray(sig["denominator"], dtype=np.uint8), end,
    )  # fmt: skip
    return np.asarray(grid, dtype=np.float64)


def _columns(perf: Performance, start_s: Optional[float], end_s: Optional[float]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
    notes = perf.notes
    onset = np.asarray(notes["onset_s"], dtype=np.float64)
    pitch = np.asarray(notes["pitch"], dtype=np.uint8)
    if start_s is None and end_s is None:
        return onset, pitch
    lo = 0 if start_s is None else int(np.searchsorted(onset, start_s, side="left"))
    hi = len(onset) if end_s is None else int(np.searchsorted(onset, end_s, side="left"))
    return onset[lo:hi], pitch[lo:hi]


class Repertoire:
    """Registered pieces, and the fingerprint index that recognises them in playing.

    >>> rep = continuo.Repertoire()
    >>> fugue = rep.add("Fugue BWV 846", "bwv846.mid")       # bars from its time signatures
    >>> found = rep.identify(continuo.read("take.mid"), start_s=60, end_s=90)
    >>> found.name, found.where.first_bar, found.tempo_ratio
    ('Fugue BWV 846', 12.4, 0.82)

    ``transposition_invariant=True`` hashes intervals instead of pitches, so a transposed performance
    matches (with more chance matches). ``min_score`` and ``min_score_ratio`` set when the best piece is
    reported as unknown (docs/repertoire.md calibrates them); ``min_score_per_event`` also accepts a short
    or sparse query's best piece when its score is that share of the query's onset events, at least
    ``min_scaled_score`` and ``min_scaled_score_ratio`` times the next piece's (0 turns it off). The fusion (on by default; ``fusion=False``
    turns it off) also embeds 10-s windows of each reference and, when the votes fall short, accepts their
    best guess if the query's embedding is nearest to it by ``fusion_min_margin`` (a cosine difference) or
    more. Queries release the GIL and may run
    from several threads; ``add`` waits for running queries.
    """

    def __init__(
        self,
        transposition_invariant: bool = False,
        *,
        min_score: Optional[float] = None,
        min_score_ratio: Optional[float] = None,
        refine: bool = False,
        fusion: Optional[bool] = None,
        fusion_min_margin: Optional[float] = None,
        min_score_per_event: Optional[float] = None,
        min_scaled_score: Optional[float] = None,
        min_scaled_score_ratio: Optional[float] = None,
    ) -> None:
        defaults = _core.REPERTOIRE_DEFAULTS
        self._impl = _core.Repertoire(
            bool(transposition_invariant),
            float(defaults["min_score"] if min_score is None else min_score),
            float(defaults["min_score_ratio"] if min_score_ratio is None else min_score_ratio),
            bool(refine),
            fusion=bool(defaults["fusion"] if fusion is None else fusion),
            fusion_min_margin=float(defaults["fusion_min_margin"] if fusion_min_margin is None else fusion_min_margin),
            min_score_per_event=float(defaults["min_score_per_event"] if min_score_per_event is None else min_score_per_event),
            min_scaled_score=float(defaults["min_scaled_score"] if min_scaled_score is None else min_scaled_score),
            min_scaled_score_ratio=float(
                defaults["min_scaled_score_ratio"] if min_scaled_score_ratio is None else min_scaled_score_ratio
            ),
        )
        self.transposition_invariant = bool(transposition_invariant)
        self._names: list[str] = []
        self._lock = threading.Lock()

    def add(self, name: str, piece: PieceSource, downbeats_s: Optional[Sequence[float] | npt.ArrayLike] = None) -> int:
        """Registers a piece from a reference (a score MIDI or a performance; a path, bytes or a
        :class:`Performance`) and returns its id. Its bars come from ``downbeats_s`` (seconds on the
        reference's clock) or else from its time signatures (:func:`bar_grid`). Pieces registered
        under one name (a score with and without its repeats) count as one piece when ranking."""
        perf = piece if isinstance(piece, Performance) else read(piece)
        onset, pitch = _columns(perf, None, None)
        if downbeats_s is None:
            downbeats = bar_grid(perf)
        else:
            downbeats = np.asarray(downbeats_s, dtype=np.float64).reshape(-1)
        return self._add(name, onset, pitch, downbeats)

    def add_notes(self, name: str, onset_s: npt.ArrayLike, pitch: npt.ArrayLike, downbeats_s: npt.ArrayLike = ()) -> int:
        """Registers notes given as columns (onsets sorted, in seconds; MIDI pitches)."""
        onset, pitches = self._notes(onset_s, pitch)
        return self._add(name, onset, pitches, np.asarray(downbeats_s, dtype=np.float64).reshape(-1))

    def _add(self, name: str, onset: npt.NDArray[np.float64], pitch: npt.NDArray[np.uint8], downbeats: npt.NDArray[np.float64]) -> int:
        with self._lock:
            try:
                piece_id = int(self._impl.add(str(name), onset, pitch, downbeats))
            except _core.CoreError as e:
                raise ValueError(str(e)) from None
            self._names.append(str(name))
        return piece_id

    @property
    def pieces(self) -> tuple[str, ...]:
        """The names of the registered pieces, indexed by piece id."""
        return tuple(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def downbeats(self, piece: int) -> npt.NDArray[np.float64]:
        """Returns the downbeats a piece was registered with."""
        return np.asarray(self._impl.downbeats(self._check(piece)), dtype=np.float64)

    def bar_at(self, piece: int, time_s: float) -> float:
        """Returns the fractional 1-based bar of time ``time_s`` of a piece's reference."""
        return float(self._impl.bar_at(self._check(piece), float(time_s)))

    def identify(self, perf: Performance, start_s: Optional[float] = None, end_s: Optional[float] = None) -> Identification:
        """Returns the piece that the notes of ``perf`` starting in [start_s, end_s) come from."""
        onset, pitch = _columns(perf, start_s, end_s)
        return self.identify_notes(onset, pitch)

    def identify_notes(self, onset_s: npt.ArrayLike, pitch: npt.ArrayLike) -> Identification:
        """Returns the piece of notes given as columns."""
        onset, pitches = self._notes(onset_s, pitch)
        return _identification(self._impl.identify(onset, pitches))

    def locate(
        self, perf: Performance, piece: int, start_s: Optional[float] = None, end_s: Optional[float] = None
    ) -> tuple[Placement, ...]:
        """Returns the passages of piece ``piece`` that the notes play, in order, refined by
        alignment; one per stop-and-restart."""
        onset, pitch = _columns(perf, start_s, end_s)
        return self.locate_notes(onset, pitch, piece)

    def locate_notes(self, onset_s: npt.ArrayLike, pitch: npt.ArrayLike, piece: int) -> tuple[Placement, ...]:
        """Returns the passages of notes given as columns."""
        onset, pitches = self._notes(onset_s, pitch)
        return tuple(_placement(p) for p in self._impl.locate(onset, pitches, self._check(piece)))

    def session_heatmap(self, perf: Performance, *, attempt_gap: float = 3.0, session_gap: float = 600.0) -> SessionAnalysis:
        """Splits ``perf`` into attempts (:func:`continuo.sessions`), identifies and locates each, and
        counts how many times each bar of each piece was played."""
        practice = sessions(perf, attempt_gap=attempt_gap, session_gap=session_gap)
        onset, pitch = _columns(perf, None, None)
        a = practice.attempts
        attempts, heatmaps = self._impl.analyse(
            onset, pitch,
            np.array([x.first_note for x in a], dtype=np.int64), np.array([x.note_count for x in a], dtype=np.int64),
            np.array([x.start_s for x in a], dtype=np.float64), np.array([x.end_s for x in a], dtype=np.float64),
        )  # fmt: skip
        return SessionAnalysis(
            attempts=tuple(
                AttemptAnalysis(x, _identification(ident), tuple(_placement(p) for p in passages))
                for x, (ident, passages) in zip(a, attempts)
            ),
            heatmaps=tuple(BarHeatmap(int(p), str(n), np.asarray(plays, dtype=np.uint32)) for p, n, plays in heatmaps),
        )

    def place(self, passage: Passage, sessions: Sequence[SessionLike]) -> PassageInPiece:
        """Places a passage found without a score in the registered pieces: ``sessions`` is the list
        given to :func:`continuo.passages`. The piece is the one most of its occurrences are identified
        as (by score); each occurrence is then located in that piece.

        >>> found = continuo.passages(days)
        >>> rep.place(found[0], days).first_bar      # bars 17-24 ...
        """
        performances = {session_id: perf for session_id, _, perf in session_items(sessions)}
        columns: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]] = []
        votes: dict[int, float] = {}
        for o in passage.occurrences:
            if o.session not in performances:
                raise ValueError(f"passage {passage.id}: session {o.session!r} is not among the sessions given")
            notes = performances[o.session].notes
            onset, pitch = self._notes(notes["onset_s"][o.first_note : o.last_note], notes["pitch"][o.first_note : o.last_note])
            columns.append((onset, pitch))
            found = self.identify_notes(onset, pitch)
            if found.piece is not None:
                votes[found.piece] = votes.get(found.piece, 0.0) + found.score
        if not votes:
            return PassageInPiece(passage, None, None, np.nan, np.nan, tuple(None for _ in columns))
        piece = max(votes, key=lambda k: (votes[k], -k))
        placements: list[Optional[Placement]] = []
        for onset, pitch in columns:
            located = self.locate_notes(onset, pitch, piece)
            placements.append(max(located, key=lambda p: p.score) if located else None)
        placed = [p for p in placements if p is not None]
        first = float(np.median([p.first_bar for p in placed])) if placed else np.nan
        last = float(np.median([p.last_bar for p in placed])) if placed else np.nan
        return PassageInPiece(passage, piece, self._names[piece], first, last, tuple(placements))

    def __repr__(self) -> str:
        mode = ", transposition_invariant=True" if self.transposition_invariant else ""
        return f"<continuo.Repertoire of {len(self)} pieces{mode}>"

    def _check(self, piece: int) -> int:
        if not 0 <= int(piece) < len(self._names):
            raise IndexError(f"no piece {piece!r}: ids run from 0 to {len(self._names) - 1}")
        return int(piece)

    @staticmethod
    def _notes(onset_s: npt.ArrayLike, pitch: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
        onset = np.asarray(onset_s, dtype=np.float64).reshape(-1)
        pitches = np.asarray(pitch).reshape(-1)
        if onset.shape != pitches.shape:
            raise ValueError(f"onset_s has {onset.size} values but pitch {pitches.size}")
        if pitches.size and (pitches.min() < 0 or pitches.max() > 127):
            raise ValueError("pitches must be MIDI key numbers in [0, 127]")
        return onset, pitches.astype(np.uint8)

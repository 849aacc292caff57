"""Similarity embeddings and score-free passage discovery (the C++ embedding and passages, from Python).

docs/embeddings.md describes the vector's blocks, the passage algorithm and their measured accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._performance import Performance
from ._practice import sessions as split_sessions

if TYPE_CHECKING:
    import pandas

_TRIPLES, _TRIPLE_WEIGHT, _PITCH_WEIGHT, _RHYTHM_WEIGHT = _core.EMBEDDING_DEFAULTS

FloatVector = npt.NDArray[np.float32]


def _range(perf: Performance, start_s: Optional[float], end_s: Optional[float]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    notes = perf.notes
    onset, pitch = notes["onset_s"], notes["pitch"]
    lo = 0 if start_s is None else int(np.searchsorted(onset, start_s, side="left"))
    hi = len(onset) if end_s is None else int(np.searchsorted(onset, end_s, side="left"))
    return onset[lo:hi], pitch[lo:hi]


def embed_notes(
    onset_s: npt.ArrayLike,
    pitch: npt.ArrayLike,
    *,
    transposition_invariant: bool = False,
    triple_dimension: int = _TRIPLES,
    triple_weight: float = _TRIPLE_WEIGHT,
    pitch_weight: float = _PITCH_WEIGHT,
    rhythm_weight: float = _RHYTHM_WEIGHT,
) -> FloatVector:
    """Returns the embedding of notes given as onsets (seconds, non-decreasing) and MIDI pitches: a float32
    vector of ``triple_dimension + 128`` values with L2 norm 1 (all zeros when there are no notes)."""
    onset = np.ascontiguousarray(onset_s, dtype=np.float64)
    keys = np.ascontiguousarray(pitch, dtype=np.uint8)
    if onset.shape != keys.shape or onset.ndim != 1:
        raise ValueError("onset_s and pitch must be 1-D and of the same length")
    if triple_dimension < 0:
        raise ValueError(f"triple_dimension must not be negative, not {triple_dimension}")
    try:
        return _core.embed(onset, keys, triple_dimension, transposition_invariant, triple_weight, pitch_weight,
                           rhythm_weight)  # fmt: skip
    except _core.CoreError as e:  # a weight, the dimension or a pitch out of range
        raise ValueError(str(e)) from None


def embed(
    perf: Performance,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    *,
    transposition_invariant: bool = False,
    triple_dimension: int = _TRIPLES,
    triple_weight: float = _TRIPLE_WEIGHT,
    pitch_weight: float = _PITCH_WEIGHT,
    rhythm_weight: float = _RHYTHM_WEIGHT,
) -> FloatVector:
    """Returns the embedding of the notes of ``perf`` starting in ``[start_s, end_s)`` (all notes by default).

    >>> v = continuo.embed(perf, 30.0, 60.0)          # float32, shape (1024,), norm 1
    >>> float(v @ continuo.embed(other))               # cosine similarity
    """
    onset, pitch = _range(perf, start_s, end_s)
    return embed_notes(
        onset, pitch, transposition_invariant=transposition_invariant, triple_dimension=triple_dimension,
        triple_weight=triple_weight, pitch_weight=pitch_weight, rhythm_weight=rhythm_weight,
    )  # fmt: skip


@dataclass(frozen=True)
class Windows:
    """Where each embedded window lies: notes ``[first_note, last_note)``, onsets of its first and last note."""

    first_note: npt.NDArray[np.int64]
    last_note: npt.NDArray[np.int64]
    start_s: npt.NDArray[np.float64]
    end_s: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.first_note)

    def to_pandas(self) -> pandas.DataFrame:
        """Returns the windows as a DataFrame; pandas is imported only here."""
        import pandas as pd

        return pd.DataFrame(
            {"first_note": self.first_note, "last_note": self.last_note, "start_s": self.start_s, "end_s": self.end_s}
        )


def embed_windows(
    perf: Performance,
    seconds: float = 30.0,
    hop: Optional[float] = None,
    *,
    events: Optional[int] = None,
    hop_events: Optional[int] = None,
    threads: int = 1,
    transposition_invariant: bool = False,
    triple_dimension: int = _TRIPLES,
    triple_weight: float = _TRIPLE_WEIGHT,
    pitch_weight: float = _PITCH_WEIGHT,
    rhythm_weight: float = _RHYTHM_WEIGHT,
) -> tuple[npt.NDArray[np.float32], Windows]:
    """Returns the embeddings of overlapping windows of ``perf`` as an (n, d) float32 array, and the windows.

    Windows last ``seconds`` and start every ``hop`` seconds (a third of the length by default), or, with
    ``events``, hold that many onset events (chords count once) and start every ``hop_events`` events, so
    that the same music gives the same windows at any tempo. Each row equals :func:`embed` of its notes.
    """
    if events is None:
        hop_s = seconds / 3 if hop is None else hop
        if not (0 < seconds < math.inf and 0 < hop_s < math.inf):
            raise ValueError(f"seconds and hop must be finite and over 0, not {seconds!r} and {hop_s!r}")
        length_events = hop_count = 0
    else:
        if events <= 0 or (hop_events is not None and hop_events <= 0):
            raise ValueError(f"events and hop_events must be over 0, not {events!r} and {hop_events!r}")
        hop_s, length_events, hop_count = 1.0, events, hop_events or 0
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    notes = perf.notes
    try:
        vectors, spans = _core.embed_windows(
            np.ascontiguousarray(notes["onset_s"]), np.ascontiguousarray(notes["pitch"]), float(seconds), float(hop_s),
            length_events, hop_count, threads, triple_dimension, transposition_invariant, triple_weight, pitch_weight,
            rhythm_weight,
        )  # fmt: skip
    except _core.CoreError as e:  # a hop too small for the length, a weight or the dimension out of range
        raise ValueError(str(e)) from None
    return vectors, Windows(spans["first_note"], spans["last_note"], spans["start_s"], spans["end_s"])


@dataclass(frozen=True)
class Occurrence:
    """One time a passage was played: notes ``[first_note, last_note)`` of session ``session``."""

    session: str
    start_s: float  # on the session performance's clock
    end_s: float
    first_note: int
    last_note: int
    tempo_ratio: float  # tempo relative to the passage's first occurrence (1.25: 25 % faster)
    bpm: float  # 0 when the beat estimate is not confident enough
    bpm_confidence: float
    matches: int


@dataclass(frozen=True)
class Passage:
    """A passage played again and again; ``id`` stays the same when later sessions are added."""

    id: str
    occurrences: tuple[Occurrence, ...]

    def to_pandas(self) -> pandas.DataFrame:
        """Returns the occurrences as a DataFrame (one row each, with the passage id); pandas is imported only here."""
        import pandas as pd

        rows = [{"passage": self.id, **o.__dict__} for o in self.occurrences]
        return pd.DataFrame(rows, columns=["passage", *Occurrence.__dataclass_fields__])


SessionLike = Union[Performance, tuple[str, float, Performance]]


def session_items(sessions: Sequence[SessionLike]) -> list[tuple[str, float, Performance]]:
    """Returns (id, time_s, performance) for each session: a bare performance is named by its position."""
    items: list[tuple[str, float, Performance]] = []
    for k, item in enumerate(sessions):
        if isinstance(item, Performance):
            items.append((str(k), float(k), item))
        else:
            session_id, time_s, perf = item
            if not isinstance(perf, Performance):
                raise TypeError(f"session {session_id!r}: expected a continuo.Performance, not {type(perf).__name__}")
            items.append((str(session_id), float(time_s), perf))
    ids = [i for i, _, _ in items]
    if len(set(ids)) != len(ids):
        raise ValueError("session ids must be unique")
    return items


def passages(
    sessions: Sequence[SessionLike],
    *,
    attempt_gap: float = 3.0,
    min_matches: int = 12,
    min_events: int = 8,
    min_occurrences: int = 2,
    max_candidates: int = 24,
    min_bpm_confidence: float = 0.3,
    threads: int = 1,
) -> list[Passage]:
    """Finds the passages repeated within and across sessions, with no score (docs/embeddings.md, "Passages").

    Each item is a performance (its id is its position, "0", "1", ...; its time the same number) or a tuple
    ``(session_id, time_s, performance)`` with a stable id and a start time on a shared clock (Unix seconds,
    say). Each performance is split into attempts with :func:`continuo.sessions` (``attempt_gap``). Passages
    come back in order of their first occurrence.

    >>> for p in continuo.passages([("mon", t0, monday), ("tue", t1, tuesday)]):
    ...     print(p.id, [(o.session, round(o.tempo_ratio, 2)) for o in p.occurrences])
    """
    if not attempt_gap > 0:
        raise ValueError(f"attempt_gap must be a number of seconds over 0, not {attempt_gap!r}")
    for name, value in (("min_matches", min_matches), ("min_events", min_events), ("threads", threads)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")
    items = session_items(sessions)
    ids = [i for i, _, _ in items]
    inputs = []
    for session_id, time_s, perf in items:
        notes = perf.notes
        split = split_sessions(perf, attempt_gap=attempt_gap)
        first = np.array([a.first_note for a in split.attempts], dtype=np.int64)
        count = np.array([a.note_count for a in split.attempts], dtype=np.int64)
        inputs.append((session_id, time_s, notes["onset_s"], notes["pitch"], notes["velocity"], first, count,
                       notes["offset_s"]))  # fmt: skip
    found = _core.passages(inputs, attempt_gap, min_matches, min_events, min_occurrences, max_candidates,
                           min_bpm_confidence, threads)  # fmt: skip
    out: list[Passage] = []
    for group_id, occurrences in found:
        out.append(
            Passage(
                f"{group_id:016x}",
                tuple(
                    Occurrence(ids[s], float(a), float(b), int(f), int(la), float(r), float(bpm), float(c), int(m))
                    for s, f, la, a, b, r, bpm, c, m in occurrences
                ),
            )
        )
    return out

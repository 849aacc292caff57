"""Which earlier sessions resemble today's: whole-session embeddings in a ``continuo.Index`` with start times."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

from ._embedding import _TRIPLES, embed
from ._index import Index
from ._performance import Performance

__all__ = ["SessionLibrary", "SimilarSession"]

_FORMAT = "continuo.session_library"
_VERSION = 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_DIMENSION = _TRIPLES + 128  # continuo.embed's default: the triples, 96 pitch and 32 rhythm bins

Time = Union[dt.datetime, int]
"""A point in time: a datetime (a naive one is taken as UTC) or nanoseconds since the Unix epoch."""


def _ns(t: Time) -> int:
    if isinstance(t, dt.datetime):
        aware = t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)
        delta = aware - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        return int(t)
    raise TypeError(f"a time is a datetime or nanoseconds since the Unix epoch, not {type(t).__name__}")


def _datetime(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1_000)


@dataclass(frozen=True)
class SimilarSession:
    """A stored session and its cosine similarity to the query (1 = the same music, about 0 = unrelated).

    A list of them makes a DataFrame as it is: ``pandas.DataFrame(library.similar(...))``.
    """

    session_id: str
    start: dt.datetime  # UTC
    similarity: float


class SessionLibrary:
    """Sessions embedded whole (``continuo.embed``) and kept in a ``continuo.Index`` with their start times,
    to answer "which earlier sessions resemble this one". See docs/embeddings.md.

    >>> library = continuo.SessionLibrary()
    >>> library.add("2024-05-02", continuo.read("may2.mid"), start=datetime(2024, 5, 2, 18, 30))
    >>> library.add("2024-05-03", continuo.read("may3.mid"), start=datetime(2024, 5, 3, 18, 0))
    >>> library.similar("2024-05-03", k=5, before=datetime(2024, 5, 3))   # earlier sessions, best first
    >>> library.save("sessions.cntidx")       # the index, and sessions.cntidx.json beside it

    ``transposition_invariant`` makes a session played in another key as similar as one in the same key;
    ``storage="int8"`` keeps a quarter of the memory (similarities within about 1e-3).
    """

    def __init__(self, *, storage: str = "float32", transposition_invariant: bool = False):
        if storage not in ("float32", "int8"):
            raise ValueError(f"storage is 'float32' or 'int8', not {storage!r}")
        self._invariant = bool(transposition_invariant)
        self._index = Index(_DIMENSION, storage="int8" if storage == "int8" else "float32")
        self._key: dict[str, int] = {}  # session id -> index id
        self._name: dict[int, str] = {}  # index id -> session id
        self._next = 1
        # The ids and the index change together: one lock keeps threads from seeing them apart.
        self._lock = threading.RLock()

    # ---- contents ----

    def add(
        self,
        session_id: str,
        perf: Performance,
        start: Time,
        *,
        start_s: Optional[float] = None,
        end_s: Optional[float] = None,
    ) -> None:
        """Embeds the notes of ``perf`` (those starting in ``[start_s, end_s)``, all by default: pass a
        ``continuo.sessions()`` session's bounds to store one session of a longer recording) and stores them
        under ``session_id`` with its ``start``, replacing any session of that id. A session without notes
        raises ``ValueError``."""
        vector = embed(perf, start_s, end_s, transposition_invariant=self._invariant)
        if not vector.any():
            raise ValueError(f"session {session_id!r} has no notes")
        self.add_vector(session_id, vector, start)

    def add_vector(self, session_id: str, vector: npt.ArrayLike, start: Time) -> None:
        """Stores an embedding made elsewhere (with this library's options) under ``session_id``."""
        if not isinstance(session_id, str):
            raise TypeError(f"session_id must be a str, not {type(session_id).__name__}")
        with self._lock:
            key = self._key.get(session_id)
            if key is None:
                key = self._next
            self._index.add(key, np.asarray(vector, dtype=np.float32), time_ns=_ns(start))
            if key == self._next:
                self._next += 1
                self._key[session_id] = key
                self._name[key] = session_id

    def remove(self, session_id: str) -> bool:
        """Removes a session; returns whether it was there."""
        with self._lock:
            key = self._key.pop(session_id, None)
            if key is None:
                return False
            del self._name[key]
            self._index.remove(key)
            return True

    def __len__(self) -> int:
        return len(self._key)

    def __contains__(self, session_id: object) -> bool:
        return isinstance(session_id, str) and session_id in self._key

    @property
    def session_ids(self) -> list[str]:
        """The stored sessions, oldest first (equal starts by id)."""
        with self._lock:
            return sorted(self._key, key=lambda s: (self.start(s), s))

    def start(self, session_id: str) -> dt.datetime:
        """Returns a stored session's start (UTC); raises ``KeyError`` if absent."""
        with self._lock:
            return _datetime(self._index.metadata(self._key[session_id])[1])

    def vector(self, session_id: str) -> npt.NDArray[np.float32]:
        """Returns a stored session's embedding as the index holds it (normalised; dequantised for int8)."""
        with self._lock:
            return self._index.vector(self._key[session_id])

    @property
    def index(self) -> Index:
        """The underlying index: ids are internal numbers, times nanoseconds since the Unix epoch."""
        return self._index

    # ---- search ----

    def similar(
        self,
        query: Union[str, Performance, npt.ArrayLike],
        k: int = 5,
        *,
        before: Optional[Time] = None,
        after: Optional[Time] = None,
    ) -> list[SimilarSession]:
        """Returns the (at most) ``k`` stored sessions most similar to ``query``, best first.

        ``query`` is a stored session's id (which is then left out of the results), a Performance
        (embedded whole) or an embedding. ``before`` keeps sessions that started strictly before it,
        ``after`` those that started at or after it.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"k must be a non-negative integer, not {k!r}")
        exclude: Optional[int] = None
        if isinstance(query, Performance):
            vector = embed(query, transposition_invariant=self._invariant)
        elif not isinstance(query, str):
            vector = np.asarray(query, dtype=np.float32)
        with self._lock:
            if isinstance(query, str):
                exclude = self._key[query]
                vector = self._index.vector(exclude)
            if len(self._index) == 0 or not np.asarray(vector).any():
                return []
            extra = 1 if exclude is not None else 0
            ids, scores = self._index.search(
                vector,
                k + extra,
                time_from_ns=None if after is None else _ns(after),
                time_to_ns=None if before is None else _ns(before),
            )
            hits: list[SimilarSession] = []
            for key, score in zip(ids[0].tolist(), scores[0].tolist()):
                if key < 0 or key == exclude:
                    continue
                hits.append(SimilarSession(self._name[key], self.start(self._name[key]), float(score)))
            return hits[:k]

    # ---- files ----

    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the index to ``path`` (CNTIDX, docs/search.md) and the session ids and options to
        ``path`` + ``.json`` beside it."""
        path = Path(path)
        with self._lock:
            self._index.save(path)
            sidecar: dict[str, Any] = {
                "format": _FORMAT,
                "version": _VERSION,
                "transposition_invariant": self._invariant,
                "dimension": self._index.dimension,
                "next_id": self._next,
                "sessions": {name: key for name, key in sorted(self._key.items())},
            }
        Path(str(path) + ".json").write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Union[str, os.PathLike[str]]) -> SessionLibrary:
        """Reads a library written by ``save()``; raises ``ValueError`` when the two files do not match."""
        path = Path(path)
        sidecar = json.loads(Path(str(path) + ".json").read_text(encoding="utf-8"))
        if sidecar.get("format") != _FORMAT or sidecar.get("version") != _VERSION:
            raise ValueError(f"{path}.json is not a continuo session library of version {_VERSION}")
        index = Index.load(path)
        if index.dimension != _DIMENSION:
            raise ValueError(f"{path} holds vectors of dimension {index.dimension}, not {_DIMENSION}")
        if sidecar.get("dimension") != index.dimension:
            raise ValueError(f"{path}.json says dimension {sidecar.get('dimension')!r}, {path} holds {index.dimension}")
        library = cls(storage=index.storage, transposition_invariant=bool(sidecar.get("transposition_invariant")))
        library._index = index
        try:
            library._key = {str(name): int(key) for name, key in sidecar["sessions"].items()}
            library._next = int(sidecar["next_id"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{path}.json is damaged: {type(e).__name__} {e}") from None
        library._name = {key: name for name, key in library._key.items()}
        if len(library._name) != len(library._key) or len(library._key) != len(index) or any(
            key not in index for key in library._name
        ):
            raise ValueError(f"{path} and {path}.json do not hold the same sessions")
        if library._name and library._next <= max(library._name):
            raise ValueError(f"{path}.json gives next_id {library._next}, an id already used: it is damaged")
        return library

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<continuo.SessionLibrary: {len(self)} sessions, {self._index.storage}>"


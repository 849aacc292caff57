"""Exact top-k cosine search over embeddings: ``continuo.Index`` (the C++ ``continuo::vector_index``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import Error

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["Index", "IndexDataError"]

_Ints = Union[int, Sequence[int], npt.NDArray[np.integer]]


class IndexDataError(Error, ValueError):
    """A vector the index cannot take (NaN, norm 0) or an index file it cannot load.

    ``name`` is the stable diagnostic id (e.g. ``"index.truncated"``, docs/diagnostics.md), ``id`` its
    number and ``offset`` its position: the byte offset in a file, or the value's index in a vector.
    """

    def __init__(self, name: str, id: int, offset: int, message: str):
        self.name = name
        self.id = id
        self.offset = offset
        super().__init__(message)

    def __reduce__(self) -> tuple[type[IndexDataError], tuple[str, int, int, str]]:
        return (type(self), (self.name, self.id, self.offset, str(self)))


def _raise_from(error: Exception) -> IndexDataError:
    name, id, offset, message = error.args
    return IndexDataError(name, id, offset, message)


def _file_error(error: Exception) -> Exception:
    """A file that cannot be opened, read or written is an OSError, as everywhere in the package; a
    damaged one an IndexDataError."""
    name, _, _, message = error.args
    return OSError(message) if name == "index.io_failed" else _raise_from(error)


def _stored_id(id: int) -> int:
    """``id`` as the index keys it; an integer no id can be raises ``KeyError``, as an absent one does."""
    value = int(id)
    if not 0 <= value < 2**63:
        raise KeyError(id)
    return value


def _ids(ids: _Ints) -> npt.NDArray[np.uint64]:
    a = np.atleast_1d(np.asarray(ids))
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise TypeError("ids must be an integer or a 1-D array of integers")
    if a.size and (a.min() < 0 or (a.dtype == np.uint64 and a.max() > np.iinfo(np.int64).max)):
        raise ValueError("ids must be between 0 and 2**63 - 1 (search results use -1 for 'no hit')")
    return np.ascontiguousarray(a, dtype=np.uint64)


def _column(value: Optional[_Ints], n: int, name: str) -> npt.NDArray[np.int64]:
    if value is None:
        return np.zeros(n, dtype=np.int64)
    a = np.asarray(value)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must be an integer or an array of integers")
    if a.ndim == 0:
        return np.full(n, int(a), dtype=np.int64)
    if a.shape != (n,):
        raise ValueError(f"{name} has {a.size} values for {n} vectors")
    return np.ascontiguousarray(a, dtype=np.int64)


class Index:
    """Exact top-k cosine search over fixed-dimension vectors, with filters on group and time.

    Vectors are L2-normalised when added, so scores are cosine similarities. ``storage="int8"``
    keeps one byte per value (a quarter of the memory) at a small cost in accuracy. Each vector
    carries a ``group`` (e.g. a piece id) and a ``time_ns`` (nanoseconds since the Unix epoch, e.g.
    the session's start) that searches can filter on. Searches release the GIL and may run from
    several threads at once. See docs/search.md.

    >>> index = continuo.Index(256, storage="int8")
    >>> index.add([1, 2], embeddings, group=[7, 9], time_ns=session_start_ns)
    >>> ids, scores = index.search(query, k=5, groups=[7, 8])    # arrays of shape (1, 5)
    """

    def __init__(self, dimension: int, storage: Literal["float32", "int8"] = "float32"):
        if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)):
            raise TypeError("dimension must be an integer")
        try:
            self._core = _core.VectorIndex(int(dimension), storage)
        except _core.IndexCoreError as e:
            raise _raise_from(e) from None

    @classmethod
    def _wrap(cls, core: _core.VectorIndex) -> Index:
        index = cls.__new__(cls)
        index._core = core
        return index

    # ---- contents ----

    def add(
        self,
        ids: _Ints,
        vectors: npt.ArrayLike,
        group: Optional[_Ints] = None,
        time_ns: Optional[_Ints] = None,
    ) -> None:
        """Adds (or replaces) one vector per id; ``vectors`` has one row per id.

        ``group`` and ``time_ns`` are one integer for all, or one per vector (default 0). A row with
        NaN or infinite values or of norm 0 raises ``IndexDataError`` before any row is added.
        """
        id_array = _ids(ids)
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim == 1 and id_array.size == 1:
            v = v[np.newaxis, :]
        if v.ndim != 2 or v.shape[1] != self.dimension:
            raise ValueError(f"vectors must have shape (n, {self.dimension}), not {v.shape}")
        if v.shape[0] != id_array.size:
            raise ValueError(f"{v.shape[0]} vectors for {id_array.size} ids")
        finite = np.isfinite(v)
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            raise IndexDataError(
                "index.value_not_finite", 603, int(col), f"vector {id_array[row]}: value {col} is {v[row, col]}"
            )
        zero = ~v.any(axis=1)
        if zero.any():
            row = int(np.argmax(zero))
            raise IndexDataError("index.zero_vector", 604, 0, f"vector {id_array[row]} has norm 0")
        groups = _column(group, id_array.size, "group")
        times = _column(time_ns, id_array.size, "time_ns")
        try:
            self._core.add(id_array, np.ascontiguousarray(v), groups, times)
        except _core.IndexCoreError as e:
            raise _raise_from(e) from None

    def remove(self, ids: _Ints) -> int:
        """Removes the vectors stored under ``ids`` (absent ids are ignored); returns how many were."""
        return self._core.remove(_ids(ids))

    def __len__(self) -> int:
        return self._core.size()

    def __contains__(self, id: object) -> bool:
        return isinstance(id, (int, np.integer)) and 0 <= int(id) < 2**64 and self._core.contains(int(id))

    def metadata(self, id: int) -> tuple[int, int]:
        """Returns ``(group, time_ns)`` of a stored vector; raises ``KeyError`` if absent."""
        return self._core.metadata(_stored_id(id))

    def vector(self, id: int) -> npt.NDArray[np.float32]:
        """Returns a stored vector as the index holds it: L2-normalised, and dequantised for int8 (values
        within about 1/254 of the norm); raises ``KeyError`` if absent."""
        return self._core.vector(_stored_id(id))

    @property
    def dimension(self) -> int:
        return self._core.dimension

    @property
    def storage(self) -> str:
        return self._core.storage

    @property
    def ids(self) -> npt.NDArray[np.uint64]:
        """The stored ids, in storage order (a copy)."""
        return self._core.ids()

    @property
    def bytes_per_vector(self) -> float:
        """Memory per stored vector: codes, scale, id, metadata and the id lookup table."""
        return self._core.bytes_per_vector

    # ---- search ----

    def search(
        self,
        queries: npt.ArrayLike,
        k: int = 10,
        *,
        group: Optional[int] = None,
        groups: Optional[_Ints] = None,
        time_from_ns: Optional[int] = None,
        time_to_ns: Optional[int] = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Returns the ``k`` most similar stored vectors of each query, best first.

        ``queries`` is one vector or a matrix of one query per row. The result is ``(ids, scores)``,
        both of shape ``(n_queries, k)``; rows with fewer than ``k`` matches are padded with id -1 and
        score -inf. Equal scores are ordered by id. Filters: ``group`` (equal to), ``groups`` (one of),
        and the time range ``[time_from_ns, time_to_ns)``; all given must hold.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError("k must be a non-negative integer")
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[np.newaxis, :]
        if q.ndim != 2 or q.shape[1] != self.dimension:
            raise ValueError(f"queries must have shape (n, {self.dimension}) or ({self.dimension},), not {q.shape}")
        group_list = None if groups is None else [int(g) for g in np.atleast_1d(np.asarray(groups, dtype=np.int64))]
        try:
            ids, scores = self._core.search(
                np.ascontiguousarray(q),
                int(k),
                None if group is None else int(group),
                group_list,
                None if time_from_ns is None else int(time_from_ns),
                None if time_to_ns is None else int(time_to_ns),
            )
        except _core.IndexCoreError as e:
            raise _raise_from(e) from None
        return ids, scores

    # ---- files and pickling ----

    def to_bytes(self) -> bytes:
        """Returns the index in the CNTIDX format (docs/search.md)."""
        return self._core.to_bytes()

    @classmethod
    def from_bytes(cls, data: Buffer) -> Index:
        """Rebuilds an index from ``to_bytes()``; a damaged input raises ``IndexDataError``, a buffer
        that is not contiguous (a strided numpy view) ``ValueError``."""
        try:
            return cls._wrap(_core.VectorIndex.from_bytes(data))
        except _core.IndexCoreError as e:
            raise _raise_from(e) from None

    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the index to ``path`` in the CNTIDX format."""
        try:
            self._core.save(os.fspath(path))
        except _core.IndexCoreError as e:
            raise _file_error(e) from None

    @classmethod
    def load(cls, path: Union[str, os.PathLike[str]]) -> Index:
        """Reads an index written by ``save()``; a damaged file raises ``IndexDataError``, one that cannot
        be opened or read ``OSError``."""
        try:
            return cls._wrap(_core.VectorIndex.load(os.fspath(path)))
        except _core.IndexCoreError as e:
            raise _file_error(e) from None

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return (Index.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return (
            f"<continuo.Index: {len(self)} vectors of dimension {self.dimension}, {self.storage}, "
            f"{self.bytes_per_vector:.0f} bytes per vector>"
        )

"""Reading, building and writing performances: the public API over the private ``_core``."""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Mapping, Sequence, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import InvalidMidiError, WriteError

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Diagnostic",
    "Limits",
    "NoteColumns",
    "Pairing",
    "Performance",
    "Source",
    "Status",
    "TempoMap",
    "from_notes",
    "read",
]

Pairing = Literal["fifo", "lifo", "close_all"]
"""Which open note a note-off closes when several of one key sound: see ``read``."""

Status = Literal["ok", "repaired", "invalid"]
"""How a read went: ``"repaired"`` means something was skipped or fixed (see the diagnostics)."""

Source = Union[str, os.PathLike[str], bytes, bytearray, memoryview, BinaryIO]
"""What ``read`` accepts: a path, bytes-like data, or a binary file object."""

Table = Literal["notes", "pedals", "controls", "programs", "pitch_bends", "time_signatures", "key_signatures"]

_PAIRINGS = ("fifo", "lifo", "close_all")


class NoteColumns(TypedDict):
    """The notes as columns, one read-only array each, sorted by onset (then pitch, channel, track).

    The arrays are views of the C++ buffers (no copy); each keeps those buffers alive on its own.
    """

    onset_s: npt.NDArray[np.float64]
    offset_s: npt.NDArray[np.float64]
    onset_tick: npt.NDArray[np.int64]
    offset_tick: npt.NDArray[np.int64]
    pitch: npt.NDArray[np.uint8]
    velocity: npt.NDArray[np.uint8]
    release_velocity: npt.NDArray[np.uint8]
    channel: npt.NDArray[np.uint8]
    track: npt.NDArray[np.uint16]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found while reading: a stable id and name, where it is, and what was done."""

    id: int
    name: str
    offset: int
    """Byte offset into the input where the problem starts."""
    track: int
    """Index of the track chunk, or -1 for the header and the file as a whole."""
    message: str

    def __str__(self) -> str:
        where = f"track {self.track}, " if self.track >= 0 else ""
        return f"[{self.name}] {where}byte {self.offset}: {self.message}"


@dataclass(frozen=True)
class Limits:
    """Hard limits that no input can break; the defaults never refuse a real recording."""

    max_events: int = 1 << 30
    """Events over all tracks; reading stops there (a ``limit.events`` diagnostic)."""
    max_tick: int = (1 << 40) - 1
    """Absolute tick of any event; a track is cut there (``limit.tick``). At most 2^40 - 1."""
    max_tracks: int = 65535
    """Track chunks read; the rest are skipped (``limit.tracks``)."""
    max_diagnostics: int = 1000
    """Diagnostics kept; then one ``limit.diagnostics``."""

    def __post_init__(self) -> None:
        bounds = {"max_events": 2**64 - 1, "max_tick": 2**40 - 1, "max_tracks": 2**32 - 1, "max_diagnostics": 2**32 - 1}
        for name, top in bounds.items():
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value <= top:
                raise ValueError(f"Limits.{name} must be an integer in [0, {top}], not {value!r}")


_DEFAULT_LIMITS = Limits()
_SERIAL = itertools.count()


def _save(path: str, data: bytes) -> None:
    """Writes ``data`` to a new temporary beside ``path`` (never a file of the user's), then renames it."""
    while True:
        partial = f"{path}.partial-{os.getpid()}-{next(_SERIAL)}"
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _check_pairing(pairing: str) -> None:
    if pairing not in _PAIRINGS:
        raise ValueError(f"pairing must be 'fifo', 'lifo' or 'close_all', not {pairing!r}")


def _within_limit(data: bytes | bytearray | memoryview, limit: int, what: str) -> bytes | bytearray | memoryview:
    if len(data) > limit:
        raise ValueError(
            f"cannot read {what}: it holds more than {limit} bytes, the limit (a MIDI file is seldom over 100 MB; "
            "is it the file you meant?)"
        )
    return data


def _input_bytes(source: Source) -> tuple[bytes | bytearray | memoryview, str | None]:
    """Returns the bytes to parse (without copying bytes-like input) and a name for messages."""
    if isinstance(source, (bytes, bytearray)):
        return source, None
    # A path or a stream is read up to a limit, as the C++ load_file does: /dev/zero never ends.
    limit = _core.DEFAULT_MAX_FILE_BYTES
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with open(path, "rb") as f:
            return _within_limit(f.read(limit + 1), limit, str(path)), str(path)
    read_method = getattr(source, "read", None)
    if callable(read_method):
        data = read_method(limit + 1)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"the file object returned {type(data).__name__}, not bytes: open it in binary mode")
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
        return _within_limit(data, limit, name or "the file object"), name
    buffer: Any = source  # numpy uint8 arrays, mmap objects: anything with the buffer protocol
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            f"read() takes a path, bytes, bytearray, memoryview or binary file object, not {type(source).__name__}"
        ) from None
    return (view if view.c_contiguous else view.tobytes()), None


def read(
    source: Source,
    *,
    strict: bool = False,
    pairing: Pairing = "fifo",
    sustain: bool = False,
    limits: Limits | None = None,
    pedal_threshold: int = 64,
) -> Performance:
    """Reads a Standard MIDI File into a :class:`Performance`.

    ``source`` is a path, ``bytes``, ``bytearray``, ``memoryview`` (any contiguous buffer) or a
    binary file object. The GIL is released while parsing, so threads read files in parallel.

    - ``strict``: stop at the first violation of the SMF specification and raise
      :class:`InvalidMidiError`; by default damaged files are salvaged and every repair is listed
      in ``Performance.diagnostics`` (status ``"repaired"``).
    - ``pairing``: which open note a note-off closes when one key is struck again before its
      release: ``"fifo"`` (the earliest; symusic's behaviour), ``"lifo"`` (the latest) or
      ``"close_all"`` (every note that began before the note-off's tick; pretty_midi's behaviour).
    - ``sustain``: lengthen notes while the sustain pedal (CC64) holds them.
    - ``limits``: hard bounds on events, ticks, tracks and diagnostics (:class:`Limits`).
    - ``pedal_threshold``: a pedal controller value at or above this is "down".

    Raises :class:`InvalidMidiError` when nothing usable is in the input (no header), or on any
    violation with ``strict=True``; ``OSError`` when a path cannot be read; ``ValueError`` when a path
    or file object holds more than 1 GiB (``/dev/zero`` would never end).

    >>> perf = continuo.read("take.mid")
    >>> perf.notes["onset_s"][:3]
    """
    _check_pairing(pairing)
    if not 0 <= pedal_threshold <= 127:
        raise ValueError(f"pedal_threshold must be in [0, 127], not {pedal_threshold!r}")
    lim = _DEFAULT_LIMITS if limits is None else limits
    data, name = _input_bytes(source)
    impl = _core.Performance.read(
        data, bool(strict), pairing, bool(sustain), int(pedal_threshold),
        lim.max_events, lim.max_tick, lim.max_tracks, lim.max_diagnostics,
    )  # fmt: skip
    if impl.status == "invalid":
        raise _invalid(impl, strict, name)
    return Performance._wrap(impl)


def _diagnostics(impl: _core.Performance) -> tuple[Diagnostic, ...]:
    return tuple(Diagnostic(*d) for d in impl.diagnostics())


def _invalid(impl: _core.Performance, strict: bool, name: str | None) -> InvalidMidiError:
    found = _diagnostics(impl)
    # Strict reading stops at the first violation; lenient reading gives up at the last one.
    reader = [d for d in found if d.id < 400] or list(found)
    cause = reader[0] if strict else reader[-1]
    return InvalidMidiError(cause, found, name)


class Performance:
    """Everything played in a MIDI file, in ticks and in seconds. Immutable.

    Build one with :func:`read` or :func:`from_notes`. Arrays it returns are read-only views of
    its C++ buffers and stay valid after the ``Performance`` itself is gone. Pickling round-trips
    exactly; ``==`` compares every field.
    """

    __slots__ = ("_impl", "__weakref__")
    _impl: _core.Performance

    def __init__(self) -> None:
        raise TypeError("build a Performance with continuo.read() or continuo.from_notes()")

    @classmethod
    def _wrap(cls, impl: _core.Performance) -> Performance:
        obj = object.__new__(cls)
        obj._impl = impl
        return obj

    # ---- tables ----------------------------------------------------------------------------

    @property
    def notes(self) -> NoteColumns:
        """The note columns as a dict of 1-D arrays (views, no copy): ``onset_s``, ``offset_s``,
        ``onset_tick``, ``offset_tick``, ``pitch``, ``velocity``, ``release_velocity``,
        ``channel``, ``track``. Bind it once in loops: each access builds a new dict."""
        return self._impl.notes()  # type: ignore[return-value]

    def note_array(self) -> npt.NDArray[np.void]:
        """Returns the notes as one structured array with the fields of :attr:`notes` (one copy)."""
        return self._impl.note_array()

    @property
    def pedals(self) -> npt.NDArray[np.void]:
        """Pedal spans (structured array view): ``onset_s``, ``offset_s``, ``onset_tick``,
        ``offset_tick``, ``kind`` (64 sustain, 66 sostenuto, 67 soft), ``channel``, ``track``."""
        return self._impl.pedals()

    @property
    def controls(self) -> npt.NDArray[np.void]:
        """Control changes in file order: ``tick``, ``time_s``, ``channel``, ``number``,
        ``value``, ``track``."""
        return self._impl.controls()

    @property
    def programs(self) -> npt.NDArray[np.void]:
        """Program changes in file order: ``tick``, ``time_s``, ``channel``, ``program``, ``track``."""
        return self._impl.programs()

    @property
    def pitch_bends(self) -> npt.NDArray[np.void]:
        """Pitch bends in file order, centred on 0 (-8192 to 8191): ``tick``, ``time_s``,
        ``value``, ``channel``, ``track``."""
        return self._impl.pitch_bends()

    @property
    def time_signatures(self) -> npt.NDArray[np.void]:
        """Time signatures by tick: ``tick``, ``time_s``, ``numerator``, ``denominator``,
        ``clocks_per_click``, ``thirty_seconds_per_quarter``."""
        return self._impl.time_signatures()

    @property
    def key_signatures(self) -> npt.NDArray[np.void]:
        """Key signatures by tick: ``tick``, ``time_s``, ``sharps`` (negative for flats), ``minor``."""
        return self._impl.key_signatures()

    @property
    def tempo_map(self) -> TempoMap:
        """The file's time model: tempo changes and conversions between ticks and seconds."""
        return TempoMap._wrap(self._impl)

    # ---- scalars ---------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        """Time of the latest event of any track (end-of-track events included), in seconds."""
        return self._impl.duration_s

    @property
    def duration_tick(self) -> int:
        """Tick of the latest event of any track (end-of-track events included)."""
        return self._impl.duration_tick

    @property
    def status(self) -> Status:
        """``"ok"``, or ``"repaired"`` when something was skipped or fixed (see ``diagnostics``)."""
        return self._impl.status  # type: ignore[return-value]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every problem found while reading, in the order found."""
        return _diagnostics(self._impl)

    @property
    def format(self) -> int:
        """The SMF format of the file: 0, 1 or 2."""
        return self._impl.format

    @property
    def track_count(self) -> int:
        """The number of track chunks read."""
        return self._impl.track_count

    @property
    def event_count(self) -> int:
        """The number of events read over all tracks, end-of-track events included."""
        return self._impl.event_count

    @property
    def ppq(self) -> int | None:
        """Ticks per quarter note, or None for an SMPTE (timecode) division."""
        return self.tempo_map.ppq

    @property
    def pairing(self) -> Pairing:
        """The pairing policy the notes were read with (also the default for :meth:`write`)."""
        return self._impl.pairing  # type: ignore[return-value]

    # ---- conversions -----------------------------------------------------------------------

    def to_pandas(self, table: Table = "notes") -> pandas.DataFrame:
        """Returns one table (the notes by default) as a pandas DataFrame; needs pandas."""
        import pandas as pd

        if table == "notes":
            return pd.DataFrame(dict(self.notes))
        if table not in ("pedals", "controls", "programs", "pitch_bends", "time_signatures", "key_signatures"):
            raise ValueError(f"no table {table!r}")
        records = getattr(self, table)
        return pd.DataFrame({name: records[name] for name in records.dtype.names})

    def piano_roll(self, fs: float = 100.0, *, end_s: float | None = None, binary: bool = False) -> npt.NDArray[np.float32]:
        """Returns a (128, columns) piano roll sampled ``fs`` times a second.

        Cell ``[pitch, c]`` sums the velocities of the notes of that pitch sounding over column
        ``c`` (1 for any with ``binary=True``); note ``i`` covers columns ``int(onset_s * fs)``
        to ``int(offset_s * fs)`` (exclusive), as in pretty_midi's ``get_piano_roll`` without
        pedal; read with ``sustain=True`` to include the pedal. ``columns`` is
        ``int(end_s * fs)``, ``end_s`` defaulting to the last note's offset.
        """
        if not (np.isfinite(fs) and fs > 0):
            raise ValueError(f"fs must be a positive number, not {fs!r}")
        if end_s is not None and not (np.isfinite(end_s) and end_s >= 0):
            raise ValueError(f"end_s must be a non-negative number, not {end_s!r}")
        return self._impl.piano_roll(float(fs), -1.0 if end_s is None else float(end_s), bool(binary))

    def to_bytes(
        self, *, ppq: int | None = None, format: int = 1, running_status: bool = True, pairing: Pairing | None = None
    ) -> bytes:
        """Returns the performance encoded as a Standard MIDI File.

        - ``ppq``: ticks per quarter note of the output; None keeps the file's own division
          (other values rescale every tick, rounding to the nearest).
        - ``format``: 0 (one track) or 1 (a conductor track, then one per source track).
        - ``pairing``: the policy the file will be read with (default: :attr:`pairing`); it orders
          simultaneous note events so that reading the file back gives these notes again.
        """
        if format not in (0, 1):
            raise ValueError(f"format must be 0 or 1, not {format!r}")
        if ppq is not None and not 1 <= ppq <= 0x7FFF:
            raise ValueError(f"ppq must be in [1, 32767], not {ppq!r}")
        if pairing is not None:
            _check_pairing(pairing)
        try:
            return self._impl.write(format, 0 if ppq is None else ppq, bool(running_status), pairing or "")
        except _core.CoreError as e:
            raise WriteError(str(e)) from None

    def write(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        *,
        ppq: int | None = None,
        format: int = 1,
        running_status: bool = True,
        pairing: Pairing | None = None,
    ) -> None:
        """Writes the performance as a Standard MIDI File to a path or a binary file object.

        A path is written through a temporary file of its own beside it and a rename, so a crash never
        leaves half a file, and a failure leaves none. The options are those of :meth:`to_bytes`.
        """
        data = self.to_bytes(ppq=ppq, format=format, running_status=running_status, pairing=pairing)
        if isinstance(target, (str, os.PathLike)):
            _save(os.fspath(target), data)
            return
        target.write(data)

    # ---- Python protocols ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Performance):
            return NotImplemented
        return self._impl.equals(other._impl)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (_restore, (self._impl.state(),))

    def __copy__(self) -> Performance:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Performance:
        return self

    def __repr__(self) -> str:
        ppq = self.ppq
        division = f"ppq={ppq}" if ppq is not None else "smpte"
        problems = f", diagnostics={len(self._impl.diagnostics())}" if self.status != "ok" else ""
        return (
            f"continuo.Performance(notes={self._impl.note_count}, duration_s={self.duration_s:.3f}, "
            f"format={self.format}, tracks={self.track_count}, {division}, pairing={self.pairing!r}, "
            f"status={self.status!r}{problems})"
        )


def _restore(state: bytes) -> Performance:
    """Unpickles a Performance."""
    return Performance._wrap(_core.Performance.from_state(state))


class TempoMap:
    """Maps ticks to seconds and back, exactly (segment starts summed in integers, rounded once)."""

    __slots__ = ("_impl",)
    _impl: _core.Performance

    def __init__(self) -> None:
        raise TypeError("a TempoMap comes from Performance.tempo_map")

    @classmethod
    def _wrap(cls, impl: _core.Performance) -> TempoMap:
        obj = object.__new__(cls)
        obj._impl = impl
        return obj

    @property
    def is_smpte(self) -> bool:
        """True for an SMPTE (timecode) division, whose ticks are fixed fractions of a second."""
        return bool(self._impl.division & 0x8000)

    @property
    def ppq(self) -> int | None:
        """Ticks per quarter note, or None for an SMPTE division."""
        return None if self.is_smpte else self._impl.division & 0x7FFF

    @property
    def smpte_fps(self) -> int | None:
        """Frames per second as stored (24, 25, 29 for 29.97 drop-frame, or 30); None if metrical."""
        return 256 - (self._impl.division >> 8) if self.is_smpte else None

    @property
    def ticks_per_frame(self) -> int | None:
        """Ticks per SMPTE frame; None if metrical."""
        return self._impl.division & 0xFF if self.is_smpte else None

    @property
    def changes(self) -> npt.NDArray[np.void]:
        """The tempo changes in force, from tick 0 on (120 bpm unless the file says otherwise):
        ``tick``, ``time_s``, ``us_per_quarter``, ``bpm``. Repeated tempos are merged."""
        return self._impl.tempo_changes()

    @overload
    def tick_to_seconds(self, ticks: int | float | np.integer[Any] | np.floating[Any]) -> float: ...
    @overload
    def tick_to_seconds(self, ticks: npt.ArrayLike) -> npt.NDArray[np.float64]: ...

    def tick_to_seconds(self, ticks: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
        """Returns the time in seconds of ``ticks`` (a number or an array of any shape).

        Integer ticks convert exactly; fractional ticks interpolate within their tick. Negative
        ticks extrapolate the first tempo; NaN and ticks beyond 2^63 give NaN.
        """
        a = np.asarray(ticks)
        if a.dtype.kind == "u" and a.size and int(a.max()) > 2**63 - 1:
            raise ValueError("ticks beyond 2^63 - 1 do not exist")
        if a.dtype.kind in "iu":
            a = a.astype(np.int64, copy=False)
        elif a.dtype.kind == "f":
            a = a.astype(np.float64, copy=False)
        else:
            raise TypeError(f"ticks must be numbers, not {a.dtype}")
        out = self._impl.tick_to_seconds(np.asarray(a, order="C"))  # keeps 0-d arrays 0-d
        return float(out) if out.ndim == 0 else out

    @overload
    def seconds_to_tick(self, seconds: int | float | np.integer[Any] | np.floating[Any]) -> float: ...
    @overload
    def seconds_to_tick(self, seconds: npt.ArrayLike) -> npt.NDArray[np.float64]: ...

    def seconds_to_tick(self, seconds: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
        """Returns the (fractional) tick at ``seconds``: the inverse of :meth:`tick_to_seconds`.
        Round it (``np.rint``) for the nearest whole tick."""
        a = np.asarray(seconds)
        if a.dtype.kind not in "iuf":
            raise TypeError(f"seconds must be numbers, not {a.dtype}")
        out = self._impl.seconds_to_tick(np.asarray(a, dtype=np.float64, order="C"))
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        changes = self.changes
        if self.is_smpte:
            return f"continuo.TempoMap(smpte_fps={self.smpte_fps}, ticks_per_frame={self.ticks_per_frame})"
        first = float(changes["bpm"][0]) if len(changes) else 120.0
        return f"continuo.TempoMap(ppq={self.ppq}, changes={len(changes)}, initial_bpm={first:.6g})"


# ---- building performances from columns -------------------------------------------------------

TableLike = Union[Mapping[str, Any], npt.NDArray[Any]]
"""A table given as a mapping of column name to values, or as a structured array."""

_MAX_TICK = (1 << 40) - 1  # Limits.max_tick: what read() accepts by default


def _column(table: TableLike, name: str) -> Any:
    if isinstance(table, np.ndarray):
        names = table.dtype.names or ()
        return table[name] if name in names else None
    return table.get(name)


def _rows(table: TableLike, what: str, name: str) -> int:
    value = _column(table, name)
    if value is None:
        raise ValueError(f"{what} needs a {name!r} column")
    return int(np.shape(value)[0]) if np.ndim(value) else 1


def _ints(
    table: TableLike, what: str, name: str, n: int, lo: int, hi: int, default: int | None, dtype: type[np.generic]
) -> npt.NDArray[Any]:
    """Returns column `name` of `table` as `dtype`, after checking that it holds n whole numbers
    in [lo, hi]; a scalar stands for a full column, and a missing column for `default`."""
    value = _column(table, name)
    if value is None:
        if default is None:
            raise ValueError(f"{what} needs a {name!r} column")
        return np.full(n, default, dtype=dtype)
    a = np.asarray(value)
    if a.ndim == 0:
        a = np.full(n, a[()])
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{what}[{name!r}] has shape {a.shape}, expected ({n},)")
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    elif a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.floor(a))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{what}[{name!r}][{i}] = {a[i].item()!r} is not a whole number")
    elif a.dtype.kind not in "iu":
        raise TypeError(f"{what}[{name!r}] must hold numbers, not {a.dtype}")
    if n:
        bad = (a < lo) | (a > hi)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{what}[{name!r}][{i}] = {a[i].item()!r} is outside [{lo}, {hi}]")
    return a.astype(dtype)


def _tempo_table(tempo: float | Sequence[tuple[int, float]] | TempoMap) -> dict[str, npt.NDArray[Any]]:
    if isinstance(tempo, TempoMap):
        changes = tempo.changes
        return {"tick": np.asarray(changes["tick"], np.int64), "us_per_quarter": np.asarray(changes["us_per_quarter"], np.uint32)}
    pairs = [(0, float(tempo))] if isinstance(tempo, (int, float, np.number)) else [(int(t), float(b)) for t, b in tempo]
    # At one tick the last change wins, as in a file; dropping the others here also keeps the
    # map normalised (tempo_map keeps a repeat when a same-tick change restores the tempo before).
    pairs = list({t: (t, b) for t, b in sorted(pairs, key=lambda p: p[0])}.values())
    ticks = np.array([t for t, _ in pairs], dtype=np.int64) if pairs else np.zeros(0, np.int64)
    bpm = np.array([b for _, b in pairs], dtype=np.float64)
    if not np.all(np.isfinite(bpm) & (bpm > 0)):
        raise ValueError("tempo must be positive beats per minute")
    us = np.rint(60e6 / bpm) if len(bpm) else np.zeros(0)
    if np.any((us < 1) | (us > 0xFFFFFF)) or np.any((ticks < 0) | (ticks > _MAX_TICK)):
        raise ValueError("tempo must be within 3.58 and 6e7 bpm, at ticks within [0, 2^40)")
    return {"tick": ticks, "us_per_quarter": us.astype(np.uint32)}


def from_notes(
    notes: TableLike,
    *,
    ppq: int = 480,
    tempo: float | Sequence[tuple[int, float]] | TempoMap = 120.0,
    controls: TableLike | None = None,
    programs: TableLike | None = None,
    pitch_bends: TableLike | None = None,
    time_signatures: TableLike | None = None,
    key_signatures: TableLike | None = None,
    pairing: Pairing = "fifo",
) -> Performance:
    """Builds a :class:`Performance` from columns, e.g. a model's output, ready to ``write``.

    ``notes`` maps column names to arrays (or is a structured array such as
    ``Performance.note_array()``): ``pitch`` and either ``onset_tick``/``offset_tick`` or
    ``onset_s``/``offset_s`` (rounded to the nearest tick), with optional ``velocity`` (64),
    ``release_velocity`` (64), ``channel`` (0) and ``track`` (0). A scalar stands for a whole column.
    ``tempo`` is beats per minute, a list of ``(tick, bpm)`` changes, or a :class:`TempoMap`.
    The other tables take the columns of the matching ``Performance`` properties (``tick``,
    ``channel``, ``number``, ``value``, ``track`` for controls; pedals come from CC64/66/67).

    The result is exactly what reading its own file gives: ``continuo.read(p.to_bytes()) == p``.
    """
    _check_pairing(pairing)
    if not 1 <= ppq <= 0x7FFF:
        raise ValueError(f"ppq must be in [1, 32767], not {ppq!r}")
    tempo_table = _tempo_table(tempo)

    def build(note_table: dict[str, npt.NDArray[Any]], tables: dict[str, dict[str, npt.NDArray[Any]]]) -> _core.Performance:
        try:
            return _core.Performance.from_parts(
                note_table, ppq, tempo_table, tables.get("controls", {}), tables.get("programs", {}),
                tables.get("pitch_bends", {}), tables.get("time_signatures", {}), tables.get("key_signatures", {}),
                pairing,
            )  # fmt: skip
        except _core.CoreError as e:
            raise WriteError(str(e)) from None

    in_ticks = _column(notes, "onset_tick") is not None
    n = _rows(notes, "notes", "onset_tick" if in_ticks else "onset_s")
    cols: dict[str, npt.NDArray[Any]] = {}
    if in_ticks:
        cols["onset_tick"] = _ints(notes, "notes", "onset_tick", n, 0, _MAX_TICK, None, np.int64)
        cols["offset_tick"] = _ints(notes, "notes", "offset_tick", n, 0, _MAX_TICK, None, np.int64)
    else:
        clock = build({}, {})
        for end in ("onset", "offset"):
            seconds = np.asarray(_column(notes, f"{end}_s"), dtype=np.float64)
            if seconds.shape != (n,) or not np.all(np.isfinite(seconds) & (seconds >= 0)):
                raise ValueError(f"notes[{end + '_s'!r}] must hold {n} non-negative numbers")
            ticks = np.rint(clock.seconds_to_tick(seconds))
            if n and not np.all(ticks <= _MAX_TICK):
                i = int(np.argmax(~(ticks <= _MAX_TICK)))
                raise ValueError(f"notes[{end + '_s'!r}][{i}] = {float(seconds[i])!r} s lies past tick 2^40 - 1 "
                                 "at this tempo and ppq, the last an event holds")  # fmt: skip
            cols[f"{end}_tick"] = ticks.astype(np.int64)
    if n and np.any(cols["offset_tick"] < cols["onset_tick"]):
        i = int(np.argmax(cols["offset_tick"] < cols["onset_tick"]))
        raise ValueError(f"note {i} ends (tick {cols['offset_tick'][i]}) before it begins (tick {cols['onset_tick'][i]})")
    cols["pitch"] = _ints(notes, "notes", "pitch", n, 0, 127, None, np.uint8)
    cols["velocity"] = _ints(notes, "notes", "velocity", n, 1, 127, 64, np.uint8)
    cols["release_velocity"] = _ints(notes, "notes", "release_velocity", n, 0, 127, 64, np.uint8)
    cols["channel"] = _ints(notes, "notes", "channel", n, 0, 15, 0, np.uint8)
    cols["track"] = _ints(notes, "notes", "track", n, 0, 65534, 0, np.uint16)

    tables: dict[str, dict[str, npt.NDArray[Any]]] = {}
    specs: dict[str, tuple[TableLike | None, list[tuple[str, int, int, int | None, type[np.generic]]]]] = {
        "controls": (controls, [
            ("tick", 0, _MAX_TICK, None, np.int64), ("channel", 0, 15, 0, np.uint8),
            ("number", 0, 127, None, np.uint8), ("value", 0, 127, None, np.uint8), ("track", 0, 65534, 0, np.uint16),
        ]),
        "programs": (programs, [
            ("tick", 0, _MAX_TICK, None, np.int64), ("channel", 0, 15, 0, np.uint8),
            ("program", 0, 127, None, np.uint8), ("track", 0, 65534, 0, np.uint16),
        ]),
        "pitch_bends": (pitch_bends, [
            ("tick", 0, _MAX_TICK, None, np.int64), ("value", -8192, 8191, None, np.int16),
            ("channel", 0, 15, 0, np.uint8), ("track", 0, 65534, 0, np.uint16),
        ]),
        "time_signatures": (time_signatures, [
            ("tick", 0, _MAX_TICK, None, np.int64), ("numerator", 1, 255, None, np.uint8),
            ("denominator", 1, 64, None, np.uint8), ("clocks_per_click", 0, 255, 24, np.uint8),
            ("thirty_seconds_per_quarter", 0, 255, 8, np.uint8),
        ]),
        "key_signatures": (key_signatures, [
            ("tick", 0, _MAX_TICK, None, np.int64), ("sharps", -7, 7, None, np.int8), ("minor", 0, 1, 0, np.uint8),
        ]),
    }  # fmt: skip
    for what, (table, fields) in specs.items():
        if table is None:
            continue
        rows = _rows(table, what, "tick")
        tables[what] = {name: _ints(table, what, name, rows, lo, hi, d, t) for name, lo, hi, d, t in fields}
    if "time_signatures" in tables:
        den = tables["time_signatures"]["denominator"].astype(np.int64)
        if np.any(den & (den - 1)):
            raise ValueError("time_signatures['denominator'] must be powers of two (1, 2, 4 ... 64)")
    return Performance._wrap(build(cols, tables))

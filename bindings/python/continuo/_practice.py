"""Practice sessions, attempts and their features (the C++ sessionizer and features, from Python)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Literal, Optional

import numpy as np
import numpy.typing as npt

from . import _core
from ._performance import Performance

if TYPE_CHECKING:
    import pandas

#: The names of the feature vector, in order (docs/features.md defines each one).
FEATURE_NAMES: tuple[str, ...] = tuple(_core.feature_names())


@dataclass(frozen=True)
class Attempt:
    """A stretch of continuous playing: notes ``[first_note, first_note + note_count)`` of its performance."""

    start_s: float
    end_s: float
    first_note: int
    note_count: int
    session: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Session:
    """Attempts closer together than the session gap; ``playing_s`` sums their durations."""

    start_s: float
    end_s: float
    first_attempt: int
    attempt_count: int
    note_count: int
    playing_s: float


@dataclass(frozen=True)
class StreamDiagnostic:
    """Something odd in the event stream (a stuck key, the clock going back), and when."""

    id: str
    time_s: float
    message: str


@dataclass(frozen=True)
class Practice:
    """The sessions and attempts of a performance, as lists and as columns."""

    sessions: tuple[Session, ...]
    attempts: tuple[Attempt, ...]
    diagnostics: tuple[StreamDiagnostic, ...]
    session_columns: dict[str, npt.NDArray[np.generic]]
    attempt_columns: dict[str, npt.NDArray[np.generic]]

    def to_pandas(self, table: Literal["attempts", "sessions"] = "attempts") -> pandas.DataFrame:
        """Returns the attempts (or sessions) as a DataFrame; pandas is imported only here."""
        if table not in ("attempts", "sessions"):
            raise ValueError(f"no table {table!r}: choose 'attempts' or 'sessions'")
        import pandas as pd

        return pd.DataFrame(self.attempt_columns if table == "attempts" else self.session_columns)


def _checked(perf: object, function: str) -> Performance:
    """Returns ``perf`` if it is a Performance, else raises a TypeError that says where one comes from."""
    if not isinstance(perf, Performance):
        raise TypeError(
            f"{function}: perf must be a continuo.Performance (from continuo.read or continuo.from_notes), "
            f"not {type(perf).__name__}"
        )
    return perf


# The C++ names of the thresholds, as the library's errors name them, and the keywords that set them here.
_THRESHOLD_KEYWORDS = {
    "sessionizer_options::attempt_gap_s": "attempt_gap",
    "sessionizer_options::restart_gap_s": "restart_gap",
    "sessionizer_options::session_gap_s": "session_gap",
    "sessionizer_options::stuck_s": "stuck",
}


def _threshold_error(error: ValueError) -> ValueError:
    """Returns the library's error about a threshold with the threshold named by its keyword here."""
    message = str(error)
    for cpp, keyword in _THRESHOLD_KEYWORDS.items():
        message = message.replace(cpp, keyword)
    return ValueError(message)


def sessions(
    perf: Performance,
    *,
    attempt_gap: float = 3.0,
    restart_gap: float = 1.0,
    session_gap: float = 600.0,
    stuck: float = 120.0,
) -> Practice:
    """Splits a performance into practice sessions and attempts (docs/sessions.md).

    An attempt ends once no key is down, the sustain pedal is up and nothing has sounded for
    ``attempt_gap`` seconds, or after a silence of ``restart_gap`` seconds or more when the playing
    broke off and what follows goes back to music just played (a restart; 0 turns this off).
    Attempts less than ``session_gap`` seconds apart form a session. A key or pedal held ``stuck``
    seconds is taken as released. The same thresholds give exactly what the live
    :class:`Sessionizer` gives for the same events.
    """
    impl = _checked(perf, "continuo.sessions")._impl
    try:
        s, a, d = _core.split_practice(impl, attempt_gap, restart_gap, session_gap, stuck)
    except ValueError as e:
        raise _threshold_error(e) from None
    session_list = tuple(
        Session(float(s["start_s"][i]), float(s["end_s"][i]), int(s["first_attempt"][i]),
                int(s["attempt_count"][i]), int(s["note_count"][i]), float(s["playing_s"][i]))
        for i in range(len(s["start_s"]))
    )  # fmt: skip
    attempt_list = tuple(
        Attempt(float(a["start_s"][i]), float(a["end_s"][i]), int(a["first_note"][i]), int(a["note_count"][i]),
                int(a["session"][i]))
        for i in range(len(a["start_s"]))
    )  # fmt: skip
    return Practice(session_list, attempt_list, tuple(StreamDiagnostic(*x) for x in d), s, a)


def features(
    perf: Performance, attempts: Optional[Iterable[Attempt]] = None
) -> dict[str, npt.NDArray[np.float64]]:
    """Returns the practice features (docs/features.md) of each attempt as columns named by
    :data:`FEATURE_NAMES`, one row per attempt; without ``attempts``, one row for the whole
    performance. ``attempts`` are this performance's (from :func:`sessions`), in any iterable; one whose
    notes or times do not fit it raises ValueError (TypeError for what is not an Attempt)."""
    perf = _checked(perf, "continuo.features")
    n = len(perf.notes["pitch"])
    if attempts is None:
        rows = _core.features(perf._impl, np.array([0]), np.array([n]), np.array([0.0]), np.array([perf.duration_s]))
    else:
        attempts = list(attempts)  # a generator is read once
        for i, a in enumerate(attempts):
            _check_attempt(a, i, n)
        rows = _core.features(
            perf._impl,
            np.array([a.first_note for a in attempts], dtype=np.int64),
            np.array([a.note_count for a in attempts], dtype=np.int64),
            np.array([a.start_s for a in attempts], dtype=np.float64),
            np.array([a.end_s for a in attempts], dtype=np.float64),
        )
    return {name: np.ascontiguousarray(rows[:, k]) for k, name in enumerate(FEATURE_NAMES)}


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _check_attempt(a: object, i: int, note_count: int) -> None:
    """Raises if ``a`` is not an Attempt whose notes lie among the ``note_count`` notes of its performance
    and whose times are a finite stretch."""
    where = f"continuo.features: attempts[{i}]"
    if not isinstance(a, Attempt):
        raise TypeError(f"{where} must be a continuo.Attempt (from continuo.sessions), not {type(a).__name__}")
    for name in ("first_note", "note_count"):
        if not _is_int(getattr(a, name)):
            raise TypeError(f"{where}.{name} must be a whole number, not {getattr(a, name)!r}")
    for name in ("start_s", "end_s"):
        value = getattr(a, name)
        if not _is_real(value) or not np.isfinite(value):
            raise ValueError(f"{where}.{name} must be a finite number of seconds, not {value!r}")
    if a.start_s > a.end_s:
        raise ValueError(f"{where}: start_s {a.start_s} is after end_s {a.end_s}")
    if not 0 <= a.first_note <= note_count or not 0 <= a.note_count <= note_count - a.first_note:
        raise ValueError(
            f"{where}: notes [{a.first_note}, {a.first_note} + {a.note_count}) are not among the performance's "
            f"{note_count} notes; is it an attempt of another performance?"
        )


KeyProfile = Literal[
    "ensemble", "krumhansl_kessler", "temperley_kostka_payne", "albrecht_shanahan", "bellman_budge", "aarden_essen",
    "sapp",
]


@dataclass(frozen=True)
class Tempo:
    """The beat of some notes, from their onsets alone (docs/tempo_key.md); ``bpm == 0`` when there is none."""

    bpm: float
    beat_period_s: float
    confidence: float
    #: Robust spread of ln(inter-beat interval): 0 for a metronome, 0.05 when beats vary by about 5 %.
    tempo_spread: float
    beat_count: int
    event_count: int


@dataclass(frozen=True)
class Key:
    """The key signature of some notes (docs/tempo_key.md): ``sharps`` > 0 sharps, < 0 flats, in -6..+5."""

    sharps: int
    tonic_pc: int
    minor: bool
    confidence: float
    correlation: float
    note_count: int

    @property
    def name(self) -> str:
        """The best key, e.g. ``"Eb major"`` or ``"F# minor"``."""
        return key_name(self.sharps, self.minor)


def key_name(sharps: float, minor: float = False) -> str:
    """Returns the name of the major key with ``sharps`` (flats if negative), or of its relative minor:
    what the ``key_sharps`` and ``key_minor`` features of :func:`features` stand for (they are floats
    there, and are taken as they are). Signatures are taken enharmonically (+6 is Gb major, as -6 is).

    >>> continuo.key_name(-3), continuo.key_name(3, minor=True)
    ('Eb major', 'F# minor')
    """
    return _core.key_name(int(sharps) % 12, bool(minor))  # names repeat every 12 fifths; any int fits


def _note_range(perf: Performance, start_s: Optional[float], end_s: Optional[float]) -> tuple[int, int]:
    """Returns the notes with onsets in [start_s, end_s) as indices [first, last)."""
    for name, bound in (("start_s", start_s), ("end_s", end_s)):
        if bound is not None and not _is_real(bound):
            raise TypeError(f"{name} must be a number of seconds or None (for the start or the end), not {bound!r}")
        if bound is not None and np.isnan(bound):
            raise ValueError(f"{name} must be a number of seconds or None (for the start or the end), not nan")
    onset = perf.notes["onset_s"]
    first = 0 if start_s is None else int(np.searchsorted(onset, start_s, side="left"))
    last = len(onset) if end_s is None else int(np.searchsorted(onset, end_s, side="left"))
    return first, max(first, last)


def estimate_tempo(perf: Performance, start_s: Optional[float] = None, end_s: Optional[float] = None) -> Tempo:
    """Returns the beat of the notes that start in ``[start_s, end_s)`` (all of them by default),
    estimated from the playing alone: no score, no tempo map.

    >>> t = continuo.estimate_tempo(perf, 0.0, 30.0)   # the first 30 s
    >>> t.bpm, t.confidence
    """
    first, last = _note_range(_checked(perf, "continuo.estimate_tempo"), start_s, end_s)
    return Tempo(*_core.estimate_tempo(perf._impl, first, last))


def estimate_key(
    perf: Performance,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    *,
    profile: KeyProfile = "ensemble",
) -> Key:
    """Returns the key signature of the notes that start in ``[start_s, end_s)`` (all by default),
    by correlating their duration-weighted pitch classes with key ``profile`` (docs/tempo_key.md).

    >>> continuo.estimate_key(perf).name
    'Eb major'
    """
    first, last = _note_range(_checked(perf, "continuo.estimate_key"), start_s, end_s)
    return Key(*_core.estimate_key(perf._impl, first, last, profile))


class Sessionizer:
    """The live sessionizer: push events with a monotonic clock in nanoseconds, take what finished.

    Times run from 0 to 2**62 ns, channels 0-15, pitches 0-127: an event outside these, or a
    threshold that is not a number of seconds over 0 (``restart_gap``: 0 or more) up to 1e9, raises
    ValueError (TypeError for a channel or pitch that is no integer from 0 to 255, or a time that is
    no 64-bit integer). An event older than the one before is the stream's doing: a diagnostic.

    >>> s = Sessionizer(attempt_gap=3.0)
    >>> s.note_on(0, channel=0, pitch=60); s.note_off(500_000_000, channel=0, pitch=60)
    >>> s.advance(10_000_000_000)
    >>> [round(a.end_s, 3) for a in s.take_attempts()]
    [0.5]
    """

    def __init__(
        self, *, attempt_gap: float = 3.0, restart_gap: float = 1.0, session_gap: float = 600.0, stuck: float = 120.0
    ) -> None:
        try:
            self._impl = _core.Sessionizer(attempt_gap, restart_gap, session_gap, stuck)
        except ValueError as e:
            raise _threshold_error(e) from None

    def note_on(self, time_ns: int, channel: int, pitch: int) -> None:
        self._impl.note_on(time_ns, channel, pitch)

    def note_off(self, time_ns: int, channel: int, pitch: int) -> None:
        self._impl.note_off(time_ns, channel, pitch)

    def sustain(self, time_ns: int, channel: int, down: bool) -> None:
        if not isinstance(down, (bool, np.bool_)):
            raise TypeError(f"sustain: down must be True (pressed) or False (lifted), not {down!r}")
        self._impl.sustain(time_ns, channel, bool(down))

    def advance(self, time_ns: int) -> None:
        """Lets time pass with no event, closing an attempt or session whose gap has run out."""
        self._impl.advance(time_ns)

    def finish(self) -> None:
        """Ends the stream: the open attempt and session are closed."""
        self._impl.finish()

    def take_attempts(self) -> list[Attempt]:
        """Returns the attempts finished since the last call (times in seconds of the same clock)."""
        return [Attempt(s / 1e9, e / 1e9, f, n, k) for s, e, f, n, k in self._impl.take_attempts()]

    def take_sessions(self) -> list[Session]:
        return [Session(s / 1e9, e / 1e9, f, a, n, p / 1e9) for s, e, f, a, n, p in self._impl.take_sessions()]

    def take_diagnostics(self) -> list[StreamDiagnostic]:
        return [StreamDiagnostic(i, t / 1e9, m) for i, t, m in self._impl.take_diagnostics()]

    @property
    def in_attempt(self) -> bool:
        """Whether an attempt is open: playing, or silent for less than ``attempt_gap``."""
        return self._impl.in_attempt

    def __copy__(self) -> Sessionizer:
        """A sessionizer in the same state that goes on on its own (to try other events, say)."""
        other = Sessionizer.__new__(Sessionizer)
        other._impl = self._impl.copy()
        return other

    def __deepcopy__(self, memo: dict[int, object]) -> Sessionizer:
        return self.__copy__()

    @property
    def in_session(self) -> bool:
        """Whether a session is open: an attempt is, or one ended less than ``session_gap`` ago."""
        return self._impl.in_session

    @property
    def keys_down(self) -> int:
        """Keys held down now (stuck ones released)."""
        return self._impl.keys_down

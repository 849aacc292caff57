"""The one exception family of continuo: every error about MIDI data is a ``continuo.Error``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._performance import Diagnostic

__all__ = ["Error", "InvalidMidiError", "WriteError"]


class Error(Exception):
    """Base class of every exception continuo raises about MIDI data.

    Bad arguments (a pairing name that does not exist, a negative ``fs``) raise the usual
    ``TypeError`` or ``ValueError``; files that cannot be opened raise ``OSError``.
    """


class InvalidMidiError(Error, ValueError):
    """A file with nothing usable in it, or (with ``strict=True``) any violation of the SMF spec.

    Attributes ``id``, ``name``, ``offset`` and ``track`` locate the diagnostic that made the file
    invalid (``track`` is -1 outside any track chunk); ``diagnostics`` lists every problem found.
    """

    def __init__(self, diagnostic: Diagnostic, diagnostics: tuple[Diagnostic, ...], source: str | None = None):
        self.diagnostic = diagnostic
        self.diagnostics = diagnostics
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{diagnostic}")

    @property
    def id(self) -> int:
        """The stable number of the diagnostic, e.g. 101 for ``smf.header_not_found``."""
        return self.diagnostic.id

    @property
    def name(self) -> str:
        """The stable name of the diagnostic, e.g. ``"smf.header_not_found"``."""
        return self.diagnostic.name

    @property
    def offset(self) -> int:
        """The byte offset into the input where the problem starts."""
        return self.diagnostic.offset

    @property
    def track(self) -> int:
        """The index of the track chunk, or -1 for the header and the file as a whole."""
        return self.diagnostic.track

    def __reduce__(self) -> tuple[type[InvalidMidiError], tuple[Diagnostic, tuple[Diagnostic, ...], str | None]]:
        return (type(self), (self.diagnostic, self.diagnostics, self.source))


class WriteError(Error, ValueError):
    """A performance that cannot be encoded as a Standard MIDI File (e.g. a gap of 2^28 ticks)."""

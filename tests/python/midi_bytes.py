"""Standard MIDI Files built byte by byte, for edge cases no corpus file isolates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from corpus_support import vlq as vlq  # re-exported


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + len(body).to_bytes(4, "big") + body


def header(fmt: int, tracks: int, division: int) -> bytes:
    return chunk(b"MThd", fmt.to_bytes(2, "big") + tracks.to_bytes(2, "big") + division.to_bytes(2, "big"))


END_OF_TRACK = b"\x00\xff\x2f\x00"


def track(events: Iterable[tuple[int, bytes]], end: bool = True) -> bytes:
    """An MTrk chunk of (absolute tick, message bytes) events, in the order given."""
    body = bytearray()
    now = 0
    for tick, message in events:
        body += vlq(tick - now) + message
        now = tick
    if end:
        body += END_OF_TRACK
    return chunk(b"MTrk", bytes(body))


def tempo(us_per_quarter: int) -> bytes:
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def note_file(
    notes: Sequence[tuple[int, int, int, int]], division: int = 96, tempos: Sequence[tuple[int, int]] = ()
) -> bytes:
    """A format-1 file: a conductor track with `tempos` (tick, us per quarter), then a track with
    `notes` (onset tick, offset tick, pitch, velocity) on channel 0, note-offs first at a tick."""
    events: list[tuple[int, int, bytes]] = []
    for on, off, pitch, velocity in notes:
        events.append((on, 1, bytes([0x90, pitch, velocity])))
        events.append((off, 0, bytes([0x80, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    conductor = track((t, tempo(us)) for t, us in tempos)
    return header(1, 2, division) + conductor + track((t, m) for t, _, m in events)

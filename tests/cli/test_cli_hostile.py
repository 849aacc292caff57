"""Hostile inputs made here: an empty file, 100k 0xFF bytes, lengths that declare gigabytes, and a small
valid file cut at every byte. Each is graded (ok, repaired or invalid, with the right exit status),
never kills the tool with a signal, and is read in well under a second."""

from __future__ import annotations

import json
import pathlib
import struct
import time
from typing import Any

import pytest

from cli_support import END_OF_TRACK, EXIT_FOR_STATUS, parallel, run, smf

# Time allowed for one run on a hostile input (sanitizer builds included).
QUICK_S = 5.0


def inspect(bin_path: pathlib.Path, path: pathlib.Path, strict: bool) -> tuple[int, dict[str, Any], float]:
    start = time.monotonic()
    r = run(bin_path, "inspect", path, "--json", *(["--strict"] if strict else []))
    elapsed = time.monotonic() - start
    assert r.returncode >= 0, f"killed by signal {-r.returncode}: {r.describe()}"
    report = json.loads(r.stdout)
    assert r.returncode == EXIT_FOR_STATUS[report["status"]], r.describe()
    return r.returncode, report, elapsed


def ids(report: dict[str, Any]) -> list[str]:
    return [d["id"] for d in report["diagnostics"]]


def header(tracks: int = 1, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, 0, tracks, 96)


def track_chunk(body: bytes, length: int | None = None) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body) if length is None else length) + body


# name -> (bytes, the ids lenient mode reports, status in lenient mode)
HOSTILE: dict[str, tuple[bytes, list[str], str]] = {
    "zero_bytes": (b"", ["smf.header_not_found"], "invalid"),
    "ff_100k": (b"\xff" * 100_000, ["smf.header_not_found"], "invalid"),
    # A sysex length of 2^32 - 1 takes a 5-byte VLQ, one byte more than the format allows.
    "sysex_of_4_gb": (
        header() + track_chunk(bytes([0, 0xF0, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 0xF7]) + END_OF_TRACK),
        ["smf.vlq_too_long"],
        "repaired",
    ),
    # The longest length a 4-byte VLQ holds (256 MB), in a file of 40 bytes.
    "sysex_of_256_mb": (
        header() + track_chunk(bytes([0, 0xF0, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 0xF7]) + END_OF_TRACK),
        ["smf.length_past_end"],
        "repaired",
    ),
    "meta_of_256_mb": (
        header() + track_chunk(bytes([0, 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, 65]) + END_OF_TRACK),
        ["smf.length_past_end"],
        "repaired",
    ),
    "track_chunk_of_4_gb": (header() + track_chunk(END_OF_TRACK, 0xFFFFFFFF), ["smf.chunk_truncated"], "repaired"),
    "65535_tracks_declared_one_present": (header(65535) + track_chunk(END_OF_TRACK), ["smf.missing_tracks"], "repaired"),
    # 200k events whose deltas add up past read_limits::max_tick (2^40 - 1).
    "ticks_past_the_limit": (
        header() + track_chunk(bytes([0xFF, 0xFF, 0xFF, 0x7F, 0x90, 60, 1] * 200_000) + END_OF_TRACK),
        ["limit.tick", "model.notes_not_closed"],
        "repaired",
    ),
    # 100k note-ons on one tick, never released.
    "chord_of_100k_notes": (
        header() + track_chunk(b"".join(bytes([0, 0x90, 60 + i % 8, 100]) for i in range(100_000)) + END_OF_TRACK),
        ["model.notes_not_closed"],
        "repaired",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_graded_quickly_without_a_signal(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path, name: str
) -> None:
    data, expected_ids, expected_status = HOSTILE[name]
    path = tmp_path / f"{name}.mid"
    path.write_bytes(data)
    _, lenient, elapsed = inspect(continuo_bin, path, strict=False)
    assert elapsed < QUICK_S
    assert lenient["status"] == expected_status
    assert ids(lenient) == expected_ids
    _, strict, elapsed = inspect(continuo_bin, path, strict=True)
    assert elapsed < QUICK_S
    violations = [i for i in expected_ids if not i.startswith("model.")]
    assert strict["status"] == ("invalid" if violations else "repaired")
    if violations:
        assert ids(strict)[0] == violations[0]
    # So do the commands that read the notes: exit 2 for an invalid file, else the output, quickly;
    # identify also exits 2 for a reference without notes, which it cannot recognise.
    exit_status = 2 if expected_status == "invalid" else 0
    for command in (["notes", path, "--csv"], ["sessions", path, "--json"], ["identify", path, "--piece", path]):
        start = time.monotonic()
        r = run(continuo_bin, *command)
        expected = 2 if command[0] == "identify" and lenient["notes"] == 0 else exit_status
        assert r.returncode == expected and time.monotonic() - start < QUICK_S, r.describe()


# A small valid file: a tempo, two notes (one by running status), a sysex, the end of the track.
SMALL = smf(
    [bytes([0, 0xFF, 0x51, 3, 7, 0xA1, 0x20, 0, 0x90, 60, 100, 48, 0x80, 60, 64, 0, 0x90, 62, 100, 48, 62, 0])
     + bytes([0, 0xF0, 3, 0x7E, 0x7F, 0xF7])
     + END_OF_TRACK],
    fmt=0,
)


def expected_first_id(cut: int) -> str:
    """The first problem of SMALL cut to `cut` bytes: no MThd tag, a short header, no track, part of
    a chunk header, or a track chunk shorter than it declares."""
    if cut < 4:
        return "smf.header_not_found"
    if cut < 14:
        return "smf.header_truncated"
    if cut == 14:
        return "smf.missing_tracks"
    if cut < 22:
        return "smf.trailing_bytes"
    return "smf.chunk_truncated"


def test_a_valid_file_cut_at_every_byte_is_graded_in_both_modes(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    whole = tmp_path / "whole.mid"
    whole.write_bytes(SMALL)
    assert inspect(continuo_bin, whole, strict=True)[1]["status"] == "ok"

    def check(cut: int) -> list[str]:
        path = tmp_path / f"cut{cut}.mid"
        path.write_bytes(SMALL[:cut])
        problems = []
        for strict in (False, True):
            _, report, elapsed = inspect(continuo_bin, path, strict)
            mode = "strict" if strict else "lenient"
            found = ids(report)
            expected_status = "invalid" if strict or cut < 14 else "repaired"
            if report["status"] != expected_status or not found or found[0] != expected_first_id(cut):
                problems.append(f"cut at {cut} ({mode}): {report['status']} {found}")
            if elapsed >= QUICK_S:
                problems.append(f"cut at {cut} ({mode}): {elapsed:.1f} s")
        return problems

    problems = [p for ps in parallel(check, range(len(SMALL))) for p in ps]
    assert not problems, "\n".join(problems)

"""Helpers for the command-line tests: where the `continuo` binary and the corpus are, running the
binary with a time limit, and running many runs at once."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import pathlib
import struct
import subprocess
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import pytest
from corpus_support import corpus_dir as corpus_dir, require_corpus as require_corpus, vlq as vlq  # re-exported

T = TypeVar("T")
R = TypeVar("R")

# No run of the binary may take longer than this, sanitizer builds included.
TIMEOUT_S = 20.0

# The statuses of `continuo inspect --json` and the exit status that goes with each.
EXIT_FOR_STATUS = {"ok": 0, "repaired": 0, "invalid": 2}

CSV_HEADER = "onset_s,offset_s,pitch,velocity,channel,track,onset_tick,offset_tick"


def binary() -> pathlib.Path:
    """Returns the binary named by CONTINUO_BIN, or skips when it is unset."""
    value = os.environ.get("CONTINUO_BIN")
    if not value:
        pytest.skip("set CONTINUO_BIN to the continuo binary (make test-python does) to run the CLI tests")
    path = pathlib.Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"CONTINUO_BIN={value} is not an executable file")
    return path


def corpus_files(root: pathlib.Path, folder: str) -> list[pathlib.Path]:
    """Returns the files under root/folder, sorted, without the corpus's licences and notes."""
    skip_suffixes = {".md", ".txt", ".csv"}
    return sorted(
        p
        for p in (root / folder).rglob("*")
        if p.is_file() and not p.name.startswith(("LICENSE", "README")) and p.suffix not in skip_suffixes
    )


def midi_files(root: pathlib.Path, folder: str) -> list[pathlib.Path]:
    """Returns the .mid files under root/folder, sorted."""
    return [p for p in corpus_files(root, folder) if p.suffix.lower() in (".mid", ".midi")]


@dataclasses.dataclass(frozen=True)
class Run:
    """One finished run of the binary."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"continuo {' '.join(self.args)} -> exit {self.returncode}\nstderr: {self.stderr[:500]}"


def run(bin_path: pathlib.Path, *args: str | os.PathLike[str], timeout: float = TIMEOUT_S) -> Run:
    """Runs the binary; a run that outlives `timeout` fails the test (a hang)."""
    argv = [str(a) for a in args]
    try:
        p = subprocess.run([str(bin_path), *argv], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"continuo {' '.join(argv)} did not finish within {timeout} s")
    return Run(
        tuple(argv),
        p.returncode,
        p.stdout.decode("utf-8", errors="replace"),
        p.stderr.decode("utf-8", errors="replace"),
    )


def parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Returns function(item) for every item, computed on a thread per core (the work is in the
    subprocesses, so threads are enough)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(function, items))


# --- Standard MIDI Files built byte by byte --------------------------------------------------------


def smf(tracks: Sequence[bytes], fmt: int = 1, division: int = 96, declared: int | None = None) -> bytes:
    """Returns a file with one MTrk chunk per body in `tracks` (bodies as written, end-of-track
    included or not), declaring `declared` tracks (default: as many as there are)."""
    count = len(tracks) if declared is None else declared
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, count, division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


END_OF_TRACK = bytes([0x00, 0xFF, 0x2F, 0x00])

"""The shared corpora from Python: every valid file reads, every damaged one raises or is
repaired with diagnostics, and nothing (damaged files, mutated files) crashes the interpreter.
tests/midi/corpus_test.cpp checks the exact diagnostic of each damaged file; this checks that the
Python API reports them the way its documentation says."""

from __future__ import annotations

import pathlib
import pickle
import random

import pytest

import continuo
from python_support import corpus_files, require_corpus

pytestmark = pytest.mark.corpus


# Files under drywetmidi/Invalid that are valid after all: an MThd chunk of 10 bytes, which the
# specification lets readers skip (tests/midi/corpus_test.cpp explains each folder's files).
VALID_AFTER_ALL = {"candyluv.mid"}


def is_rmid(path: pathlib.Path) -> bool:
    """RIFF-wrapped files (RMID) hold a valid SMF in their "data" chunk; the RIFF chunks after it
    are the container's, not damage to the SMF, so they read as their data chunk alone does."""
    head = path.read_bytes()[:12]
    return head[:4] == b"RIFF" and head[8:12] == b"RMID"


def valid_after_all(path: pathlib.Path) -> bool:
    return path.name in VALID_AFTER_ALL or is_rmid(path)

# Valid files whose tracks end with notes still sounding: the only diagnostic allowed on them.
OPEN_AT_END = "model.notes_not_closed"


def outcome(path: pathlib.Path, strict: bool) -> continuo.Performance | continuo.InvalidMidiError:
    try:
        return continuo.read(path, strict=strict)
    except continuo.InvalidMidiError as e:
        return e


def same_problem(strict: continuo.InvalidMidiError, lenient: continuo.Diagnostic) -> bool:
    """Whether strict mode stopped at the problem lenient mode found first: the same id, place and
    message, but for the repair, which strict mode does not make (docs/diagnostics.md)."""
    s = strict.diagnostic
    what = lenient.message.rsplit("; ", 1)[0]
    return (s.name, s.offset, s.track, s.message) == (
        lenient.name, lenient.offset, lenient.track, f"{what}; strict reading stops here"
    )


def check_graded(path: pathlib.Path) -> str | None:
    """Returns what is wrong with how `path` is graded, or None. Strict mode raises exactly when
    lenient mode finds a violation of the specification, and both name the same first problem."""
    strict, lenient = outcome(path, True), outcome(path, False)
    if isinstance(lenient, continuo.Performance):
        violations = [d for d in lenient.diagnostics if d.name != OPEN_AT_END]
        if lenient.status == "ok" and lenient.diagnostics:
            return "status ok with diagnostics"
        if violations and not isinstance(strict, continuo.InvalidMidiError):
            return f"lenient finds {violations[0]}, strict does not raise"
        if not violations and isinstance(strict, continuo.InvalidMidiError):
            return f"strict raises {strict}, lenient finds nothing"
        if violations and isinstance(strict, continuo.InvalidMidiError) and not same_problem(strict, violations[0]):
            return f"strict stops at {strict.diagnostic}, lenient starts with {violations[0]}"
        assert pickle.loads(pickle.dumps(lenient)) == lenient
        return None
    if not isinstance(strict, continuo.InvalidMidiError):
        return f"lenient raises {lenient}, strict does not"
    if lenient.name not in ("smf.header_not_found", "smf.header_truncated"):
        return f"lenient gives up on {lenient.name}, which is no reason to"
    return None


def test_valid_files_read_in_strict_mode() -> None:
    root = require_corpus()
    files = corpus_files("drywetmidi", "Valid", pattern="*") + corpus_files("large") + corpus_files("asap")
    files += [p for p in corpus_files("symusic") if "corrupted" not in str(p)]
    invalid = corpus_files("drywetmidi", "Invalid", pattern="*")
    files += [p for p in invalid if valid_after_all(p)]
    assert sum(1 for p in invalid if is_rmid(p)) == 6
    assert len(files) > 1000
    failures = {}
    for path in files:
        try:
            perf = continuo.read(path, strict=True)
        except continuo.InvalidMidiError as e:
            failures[str(path.relative_to(root))] = str(e)
            continue
        if any(d.name != OPEN_AT_END for d in perf.diagnostics):
            failures[str(path.relative_to(root))] = str(perf.diagnostics)
    assert failures == {}


def test_damaged_files_raise_or_are_repaired() -> None:
    root = require_corpus()
    damaged = [p for p in corpus_files("drywetmidi", "Invalid", pattern="*") if not valid_after_all(p)]
    damaged += corpus_files("symusic", "MIDIs_corrupted")
    assert len(damaged) == 666 - 7 + 3  # drywetmidi/Invalid: 666 files, 7 of them valid after all
    failures = {}
    for path in damaged:
        strict = outcome(path, True)
        if not isinstance(strict, continuo.InvalidMidiError):
            failures[str(path.relative_to(root))] = "strict mode reads a damaged file without complaint"
        elif problem := check_graded(path):
            failures[str(path.relative_to(root))] = problem
    assert failures == {}


def test_every_file_is_graded_consistently() -> None:
    root = require_corpus()
    files = corpus_files("jazz-soft", pattern="*") + corpus_files("drywetmidi", pattern="*") + corpus_files("symusic")
    failures = {str(p.relative_to(root)): problem for p in files if (problem := check_graded(p))}
    assert failures == {}


def test_mutated_files_never_crash() -> None:
    """Truncations, flipped bytes and spliced chunks of real files: the reader must grade them."""
    root = require_corpus()
    sources = [p.read_bytes() for p in sorted((root / "symusic").rglob("*.mid"))[:12]]
    rng = random.Random(20240611)
    for _ in range(400):
        data = bytearray(rng.choice(sources))
        kind = rng.randrange(3)
        if kind == 0:
            del data[rng.randrange(len(data) + 1) :]
        elif kind == 1:
            for _ in range(rng.randint(1, 20)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            other = rng.choice(sources)
            cut = rng.randrange(len(other) + 1)
            data[rng.randrange(len(data) + 1) :] = other[cut:]
        for strict in (False, True):
            try:
                perf = continuo.read(bytes(data), strict=strict, pairing=rng.choice(["fifo", "lifo", "close_all"]))
            except continuo.InvalidMidiError:
                continue
            perf.note_array(), perf.controls, perf.pedals, perf.to_bytes()

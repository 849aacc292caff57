"""The mido differential: on every MIDI file of the corpus's symusic/ and asap/ folders (and of
drywetmidi/Valid, for its format 2 files, orphan note-offs and notes left sounding), the notes of
`continuo notes --csv --pairing P` (onset and offset ticks, pitch, velocity, channel, track) equal
those that mido's events give under the same pairing policy P (paired in mido_reference.py), and their
seconds equal those of mido's tempo map within 1e-9 s.

Files that mido refuses and files that continuo repairs are skipped with their reason: the readers
recover from damage differently, by design (docs/differences.md)."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pathlib

import pytest

import cli_support
import mido_reference
from mido_reference import POLICIES, FileResult

SECONDS_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def results(continuo_bin: pathlib.Path, corpus: pathlib.Path) -> list[FileResult]:
    """Compares every file once, in one worker process per core (mido is slow: about a minute of CPU)."""
    folders = ("symusic", "asap", "drywetmidi/Valid")
    files = [f for folder in folders for f in cli_support.midi_files(corpus, folder)]
    assert len(files) > 1100, "the corpus's symusic/, asap/ and drywetmidi/Valid folders look incomplete"
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=context) as pool:
        return list(
            pool.map(mido_reference.compare_file, [str(continuo_bin)] * len(files), map(str, files), chunksize=8)
        )


def compared(results: list[FileResult]) -> list[FileResult]:
    return [r for r in results if not r.skipped]


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_notes_equal_mido_notes_under_the_same_pairing_policy(results: list[FileResult], policy: str) -> None:
    mismatches = [f"{r.path}: {r.mismatches[policy]}" for r in compared(results) if policy in r.mismatches]
    assert not mismatches, f"{len(mismatches)} file(s) differ:\n" + "\n".join(mismatches[:20])


@pytest.mark.corpus
@pytest.mark.slow
def test_note_seconds_equal_those_of_midos_tempo_map(results: list[FileResult]) -> None:
    checked = [r for r in compared(results) if r.seconds_checked]
    with_notes = [r for r in compared(results) if r.notes]
    assert len(checked) * 100 >= len(with_notes) * 99, "too few files with a metrical division"
    worst = max(checked, key=lambda r: r.max_seconds_error)
    assert worst.max_seconds_error <= SECONDS_TOLERANCE, f"{worst.path}: off by {worst.max_seconds_error} s"


@pytest.mark.corpus
@pytest.mark.slow
def test_mido_comparison_covers_nearly_every_file_and_tells_the_policies_apart(results: list[FileResult]) -> None:
    skipped = [f"{r.path}: {r.skipped}" for r in results if r.skipped]
    done = compared(results)
    print(f"\ncompared {len(done)} of {len(results)} files, {sum(r.notes for r in done)} notes")
    print("\n".join(f"skipped {s}" for s in skipped))
    # Only the three corrupted files of symusic/MIDIs_corrupted are left out.
    assert len(skipped) <= 3, "\n".join(skipped)
    assert len(done) * 100 >= len(results) * 99
    assert any(r.policies_disagree for r in done), "no file tells the pairing policies apart"

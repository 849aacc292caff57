"""Agreement with the tools users know, on every file of corpus/symusic and corpus/asap:
close_all gives pretty_midi's notes, fifo gives symusic's notes in ticks, and the tempo map gives
mido's seconds. agreement.py holds the comparisons; docs/python.md lists the differences."""

from __future__ import annotations

import multiprocessing
import pathlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest

import agreement
import continuo
from python_support import corpus_dir, corpus_files, require_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


# Files the reference readers refuse outright, and continuo's first diagnostic on them: a data
# byte over 0x7F. mido (so pretty_midi) and symusic raise; continuo drops the message and reads on.
REFUSED = {
    "symusic/MIDIs_corrupted/Issue104_Bizarre_Love_Triangle2.mid": {
        "symusic": "RuntimeError: Get program=208",
        "mido": "OSError: data byte must be in range 0..127",
    },
    "symusic/MIDIs_corrupted/ValueError_Control168.mid": {
        "symusic": "RuntimeError: Get control_value=168",
        "mido": "OSError: data byte must be in range 0..127",
    },
}


def compared_files() -> list[pathlib.Path]:
    return corpus_files("symusic") + corpus_files("asap")


@pytest.fixture(scope="module")
def verdicts() -> dict[str, agreement.Verdict]:
    """Compares every file once, on two worker processes (pretty_midi and mido are slow)."""
    root = require_corpus()
    files = compared_files()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(agreement.compare, files, chunksize=8)
        return {str(p.relative_to(root)): v for p, v in zip(files, results)}


def test_every_file_agrees_with_pretty_midi_symusic_and_mido(verdicts: dict[str, agreement.Verdict]) -> None:
    assert len(verdicts) == 30 + 1074  # symusic: 30 files; asap: 886 performances and 188 scores
    problems = {name: v.problems for name, v in verdicts.items() if v.problems}
    assert problems == {}
    refused = {name: v.reference_errors for name, v in verdicts.items() if v.reference_errors}
    assert refused == REFUSED


def test_refused_files_are_repaired_by_continuo() -> None:
    root = require_corpus()
    for name in REFUSED:
        perf = continuo.read(root / name)
        assert perf.status == "repaired"
        assert perf.diagnostics[0].name == "smf.data_byte_invalid"
        assert len(perf.notes["pitch"]) > 0


def test_pretty_midi_discards_only_notes_whose_note_off_shares_their_onset(
    verdicts: dict[str, agreement.Verdict],
) -> None:
    discarded: Counter[str] = Counter()
    for v in verdicts.values():
        discarded.update(v.discarded)
    # No note is left sounding at the end of a track in these corpora; notes switched off on their
    # own onset tick are in 249 files, scores and performances: docs/python.md shows one of each.
    assert set(discarded) == {agreement.DROPPED_ON_ONSET}
    assert sum(1 for v in verdicts.values() if v.discarded) == 249
    assert verdicts["asap/Liszt/Transcendental_Etudes/9/ADIG07.mid"].discarded == {agreement.DROPPED_ON_ONSET: 3}
    assert verdicts["asap/Schumann/Kreisleriana/3/midi_score.mid"].discarded == {agreement.DROPPED_ON_ONSET: 164}


def test_the_documented_example_of_a_discarded_note() -> None:
    """docs/python.md: in ADIG07.mid, key 86 is struck at tick 187672 and released on that very
    tick (a note-on and a note-off in one tick); pretty_midi forgets the note, continuo keeps it as
    a zero-length note with every pairing."""
    root = require_corpus()
    perf = continuo.read(root / "asap/Liszt/Transcendental_Etudes/9/ADIG07.mid", pairing="close_all")
    n = perf.notes
    hit = [i for i in range(len(n["pitch"])) if n["pitch"][i] == 86 and n["onset_tick"][i] == 187672]
    assert [(int(n["offset_tick"][i]), int(n["velocity"][i])) for i in hit] == [(187672, 15)]
    fifo = continuo.read(root / "asap/Liszt/Transcendental_Etudes/9/ADIG07.mid", pairing="fifo").notes
    assert (187672, 187672, 86) in set(zip(fifo["onset_tick"].tolist(), fifo["offset_tick"].tolist(), fifo["pitch"].tolist()))


def test_discard_rule_on_built_files() -> None:
    """pretty_midi_discards agrees with pretty_midi itself on a file built for the purpose."""
    import io

    import mido
    import pretty_midi

    from midi_bytes import header, track

    events = [(0, b"\x90\x3c\x40"), (0, b"\x80\x3c\x00"), (10, b"\x90\x3e\x40"), (20, b"\x90\x3e\x41"), (20, b"\x80\x3e\x00"), (30, b"\x90\x40\x40")]
    data = header(0, 1, 96) + track(events)
    mid = mido.MidiFile(file=io.BytesIO(data))
    pm = pretty_midi.PrettyMIDI(mido_object=mid)
    kept = sorted((n.pitch, n.velocity) for inst in pm.instruments for n in inst.notes)
    assert kept == [(62, 64)]  # the one note closed by a later note-off
    discarded = sorted(agreement.pretty_midi_discards(mid))
    assert discarded == [
        (0, 0, 60, 0, 64, agreement.DROPPED_ON_ONSET),
        (0, 0, 62, 20, 65, agreement.DROPPED_AT_END),
        (0, 0, 64, 30, 64, agreement.DROPPED_AT_END),
    ]
    perf = continuo.read(data, pairing="close_all")
    verdict = agreement.Verdict()
    agreement.compare_pretty_midi(perf, mido.MidiFile(file=io.BytesIO(data)), verdict)
    assert verdict.problems == []


def test_corpus_is_there_when_required() -> None:
    if corpus_dir() is None:
        require_corpus()
    assert compared_files()

"""The contract of `continuo notes FILE --csv [--pairing fifo|lifo|close_all] [--sustain]`: the header
onset_s,offset_s,pitch,velocity,channel,track,onset_tick,offset_tick, then one row per note sorted by
onset, then pitch; the pairing policy decides which sounding note a note-off ends."""

from __future__ import annotations

import pathlib

import pytest

from cli_support import CSV_HEADER, END_OF_TRACK, corpus_files, parallel, run, smf

# 96 ticks per quarter at the default 120 bpm: a tick lasts 1/192 s.
SECONDS_PER_TICK = 1 / 192

Row = tuple[float, float, int, int, int, int, int, int]


def parse_csv(text: str) -> list[Row]:
    lines = text.splitlines()
    assert lines[0] == CSV_HEADER
    rows: list[Row] = []
    for line in lines[1:]:
        f = line.split(",")
        assert len(f) == 8, line
        rows.append((float(f[0]), float(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5]), int(f[6]), int(f[7])))
    return rows


def notes(bin_path: pathlib.Path, path: pathlib.Path, *options: str) -> list[Row]:
    r = run(bin_path, "notes", path, "--csv", *options)
    assert r.returncode == 0, r.describe()
    return parse_csv(r.stdout)


def ticks(rows: list[Row]) -> list[tuple[int, int, int, int]]:
    """(onset_tick, offset_tick, pitch, velocity) of each row, in the printed order."""
    return [(r[6], r[7], r[2], r[3]) for r in rows]


def check_rows(rows: list[Row]) -> None:
    """Checks the rows' order and ranges, and that their seconds follow their ticks at 120 bpm."""
    assert [(r[6], r[2]) for r in rows] == sorted((r[6], r[2]) for r in rows), "not sorted by onset, then pitch"
    for onset_s, offset_s, pitch, velocity, channel, track, onset, offset in rows:
        assert 0 <= onset <= offset
        assert 0 <= pitch <= 127 and 1 <= velocity <= 127 and 0 <= channel <= 15 and track >= 0
        assert onset_s == pytest.approx(onset * SECONDS_PER_TICK, abs=1e-12)
        assert offset_s == pytest.approx(offset * SECONDS_PER_TICK, abs=1e-12)


@pytest.fixture
def restruck(tmp_path: pathlib.Path) -> pathlib.Path:
    """C4 struck at 0 (velocity 100) and again at 10 (velocity 90) before release, note-offs at 20 and
    30; E4 and D4 struck together at 40 (out of pitch order in the file) and held 8 ticks."""
    path = tmp_path / "restruck.mid"
    body = bytes(
        [0, 0x90, 60, 100, 10, 0x90, 60, 90, 10, 0x80, 60, 64, 10, 0x80, 60, 64]
        + [10, 0x90, 64, 80, 0, 0x90, 62, 70, 8, 0x80, 64, 0, 0, 0x80, 62, 0]
    )
    path.write_bytes(smf([body + END_OF_TRACK]))
    return path


CHORD = [(40, 48, 62, 70), (40, 48, 64, 80)]


def test_notes_csv_prints_the_header_and_rows_sorted_by_onset_then_pitch(
    continuo_bin: pathlib.Path, restruck: pathlib.Path
) -> None:
    r = run(continuo_bin, "notes", restruck, "--csv")
    assert r.returncode == 0, r.describe()
    assert r.stderr == ""
    assert r.stdout.startswith(CSV_HEADER + "\n")
    assert r.stdout.endswith("\n")
    rows = parse_csv(r.stdout)
    check_rows(rows)
    assert ticks(rows)[2:] == CHORD


def test_notes_without_csv_flag_prints_the_same_csv(continuo_bin: pathlib.Path, restruck: pathlib.Path) -> None:
    assert run(continuo_bin, "notes", restruck).stdout == run(continuo_bin, "notes", restruck, "--csv").stdout


def test_notes_fifo_pairing_ends_the_oldest_sounding_note_and_is_the_default(
    continuo_bin: pathlib.Path, restruck: pathlib.Path
) -> None:
    rows = notes(continuo_bin, restruck, "--pairing", "fifo")
    assert ticks(rows) == [(0, 20, 60, 100), (10, 30, 60, 90)] + CHORD
    assert notes(continuo_bin, restruck) == rows


def test_notes_lifo_pairing_ends_the_newest_sounding_note(continuo_bin: pathlib.Path, restruck: pathlib.Path) -> None:
    rows = notes(continuo_bin, restruck, "--pairing", "lifo")
    check_rows(rows)
    assert ticks(rows) == [(0, 30, 60, 100), (10, 20, 60, 90)] + CHORD


def test_notes_close_all_pairing_ends_every_sounding_note(continuo_bin: pathlib.Path, restruck: pathlib.Path) -> None:
    # The second note-off at 30 finds nothing sounding and is dropped.
    rows = notes(continuo_bin, restruck, "--pairing", "close_all")
    check_rows(rows)
    assert ticks(rows) == [(0, 20, 60, 100), (10, 20, 60, 90)] + CHORD


def test_notes_close_all_keeps_a_note_struck_on_the_note_offs_own_tick(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    # C4 at 0, struck again at 10 together with a note-off, end of track at 30: close_all ends the
    # first note and keeps the second (pretty_midi's rule), which the end of the track closes.
    path = tmp_path / "same_tick.mid"
    path.write_bytes(smf([bytes([0, 0x90, 60, 100, 10, 0x90, 60, 90, 0, 0x80, 60, 64, 20, 0xFF, 0x2F, 0])]))
    assert ticks(notes(continuo_bin, path, "--pairing", "close_all")) == [(0, 10, 60, 100), (10, 30, 60, 90)]
    assert ticks(notes(continuo_bin, path, "--pairing", "lifo")) == [(0, 30, 60, 100), (10, 10, 60, 90)]


def test_notes_close_all_ends_a_note_released_on_its_own_onset_tick_when_nothing_earlier_sounds(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    # A drum hit struck and released on one tick, twice: nothing earlier sounds at either note-off, so
    # close_all makes both notes of length 0, as fifo and lifo do (pretty_midi drops them).
    path = tmp_path / "hits.mid"
    path.write_bytes(smf([bytes([0, 0x99, 38, 100, 0, 0x89, 38, 0, 100, 0x99, 38, 90, 0, 0x89, 38, 0]) + END_OF_TRACK]))
    for policy in ("fifo", "lifo", "close_all"):
        rows = notes(continuo_bin, path, "--pairing", policy)
        assert ticks(rows) == [(0, 0, 38, 100), (100, 100, 38, 90)], policy
        assert {r[4] for r in rows} == {9}


def test_notes_sustain_extends_notes_until_the_pedal_is_released(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    # Pedal down at 0 and up at 50; C4 from 10 to 20 sounds until 50, D4 from 60 to 70 is not held.
    path = tmp_path / "pedal.mid"
    body = bytes(
        [0, 0xB0, 64, 127, 10, 0x90, 60, 100, 10, 0x80, 60, 64, 30, 0xB0, 64, 0, 10, 0x90, 62, 100, 10, 0x80, 62, 64]
    )
    path.write_bytes(smf([body + END_OF_TRACK]))
    assert ticks(notes(continuo_bin, path)) == [(10, 20, 60, 100), (60, 70, 62, 100)]
    rows = notes(continuo_bin, path, "--sustain")
    check_rows(rows)
    assert ticks(rows) == [(10, 50, 60, 100), (60, 70, 62, 100)]


def test_notes_of_a_repaired_file_warn_on_stderr_and_of_an_invalid_file_exit_2(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "no_end.mid"
    path.write_bytes(smf([bytes([0, 0x90, 60, 100, 96, 0x80, 60, 64])]))
    r = run(continuo_bin, "notes", path, "--csv")
    assert r.returncode == 0
    assert "repaired" in r.stderr
    assert ticks(parse_csv(r.stdout)) == [(0, 96, 60, 100)]
    strict = run(continuo_bin, "notes", path, "--csv", "--strict")
    assert strict.returncode == 2
    assert strict.stdout == ""
    assert strict.stderr.count("\n") == 1 and "[smf.missing_end_of_track]" in strict.stderr


@pytest.mark.corpus
def test_notes_csv_is_well_formed_and_ordered_on_the_jazz_soft_and_symusic_files(
    continuo_bin: pathlib.Path, corpus: pathlib.Path
) -> None:
    files = [f for f in corpus_files(corpus, "jazz-soft") + corpus_files(corpus, "symusic") if f.suffix == ".mid"]

    def problems(path: pathlib.Path) -> list[str]:
        found = []
        for policy in ("fifo", "lifo", "close_all"):
            r = run(continuo_bin, "notes", path, "--csv", "--pairing", policy)
            if r.returncode < 0 or r.returncode not in (0, 2):
                found.append(f"{path} ({policy}): exit {r.returncode}")
                continue
            if r.returncode == 2:
                continue
            lines = r.stdout.splitlines()
            if not lines or lines[0] != CSV_HEADER:
                found.append(f"{path} ({policy}): header {lines[:1]}")
                continue
            keys = []
            for line in lines[1:]:
                f = line.split(",")
                onset_s, offset_s = float(f[0]), float(f[1])
                onset, offset = int(f[6]), int(f[7])
                if not (0 <= onset_s <= offset_s and 0 <= onset <= offset):
                    found.append(f"{path} ({policy}): row {line}")
                keys.append((onset, int(f[2])))
            if keys != sorted(keys):
                found.append(f"{path} ({policy}): rows not sorted by onset, then pitch")
        return found

    assert len(files) > 90
    found = [p for ps in parallel(problems, files) for p in ps]
    assert not found, "\n".join(found[:30])

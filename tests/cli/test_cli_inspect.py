"""The contract of `continuo inspect FILE [--strict] --json`: one JSON object on one line with status
(ok, repaired or invalid), format, tracks, division, events, notes, duration_s and diagnostics (id,
offset, track, message); exit 0 unless the file is invalid, exit 2 with a one-line error on stderr
when it is; never killed by a signal. Checked on small files built here, then on every file of the
corpus (drywetmidi, jazz-soft, symusic, large and a sample of asap) in strict and lenient mode."""

from __future__ import annotations

import json
import math
import pathlib
import re
from typing import Any

import pytest

from cli_support import END_OF_TRACK, EXIT_FOR_STATUS, corpus_files, parallel, run, smf

DIAGNOSTIC_ID = re.compile(r"^(smf|limit|model)\.[a-z0-9_]+$")
FATAL_HEADER_IDS = {"smf.header_not_found", "smf.header_truncated"}


def inspect_problems(bin_path: pathlib.Path, path: pathlib.Path, strict: bool) -> tuple[list[str], dict[str, Any]]:
    """Runs `inspect --json` on `path` and returns every way the run breaks the contract (empty when
    it keeps it) with the report it printed."""
    args = ["inspect", str(path), "--json"] + (["--strict"] if strict else [])
    r = run(bin_path, *args)
    mode = "strict" if strict else "lenient"
    problems: list[str] = []

    def problem(what: str) -> None:
        problems.append(f"{path} ({mode}): {what}")

    if r.returncode < 0:
        problem(f"killed by signal {-r.returncode}")
        return problems, {}
    lines = r.stdout.splitlines()
    if len(lines) != 1 or not r.stdout.endswith("\n"):
        problem(f"stdout is not one line: {r.stdout[:200]!r}")
        return problems, {}
    try:
        report = json.loads(lines[0])
    except json.JSONDecodeError as e:
        problem(f"stdout is not JSON ({e}): {lines[0][:200]!r}")
        return problems, {}
    if not isinstance(report, dict):
        problem("the JSON is not an object")
        return problems, {}

    status = report.get("status")
    if status not in EXIT_FOR_STATUS:
        problem(f"status {status!r}")
        return problems, report
    if r.returncode != EXIT_FOR_STATUS[status]:
        problem(f"status {status} but exit {r.returncode}")
    if report.get("file") != str(path):
        problem(f"file {report.get('file')!r}")
    for key in ("format", "tracks", "division", "events", "notes"):
        value = report.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problem(f"{key} is {value!r}")
    if report.get("format") not in (0, 1, 2):
        problem(f"format {report.get('format')!r}")
    if not 0 < report.get("division", 0) <= 0xFFFF:
        problem(f"division {report.get('division')!r}")
    duration = report.get("duration_s")
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration < 0:
        problem(f"duration_s is {duration!r}")

    diagnostics = report.get("diagnostics")
    if not isinstance(diagnostics, list):
        problem("diagnostics is not a list")
        return problems, report
    size = path.stat().st_size
    for d in diagnostics:
        if not isinstance(d, dict):
            problem(f"diagnostic {d!r} is not an object")
            continue
        if not isinstance(d.get("id"), str) or not DIAGNOSTIC_ID.match(d["id"]):
            problem(f"diagnostic id {d.get('id')!r}")
        offset = d.get("offset")
        if not isinstance(offset, int) or not 0 <= offset <= size:
            problem(f"diagnostic offset {offset!r} outside the file of {size} bytes")
        track = d.get("track")
        if not isinstance(track, int) or track < -1:
            problem(f"diagnostic track {track!r}")
        message = d.get("message")
        if not isinstance(message, str) or not message or "\n" in message:
            problem(f"diagnostic message {message!r}")
    ids = [d.get("id") for d in diagnostics if isinstance(d, dict)]
    violations = [i for i in ids if isinstance(i, str) and not i.startswith("model.")]

    if (status == "ok") != (not diagnostics):
        problem(f"status {status} with diagnostics {ids}")
    if status == "invalid":
        err = r.stderr.splitlines()
        expected = f"continuo: {path}: invalid MIDI file: [{ids[0] if ids else ''}]"
        if len(err) != 1 or not err[0].startswith(expected):
            problem(f"stderr is not the one-line error {expected!r}...: {r.stderr[:300]!r}")
    elif r.stderr:
        problem(f"stderr of a {status} file: {r.stderr[:300]!r}")
    if strict and violations and (status != "invalid" or len(violations) != 1):
        problem(f"strict mode must stop at its first violation: {status} with {ids}")
    if strict and not violations and status == "invalid":
        problem("invalid in strict mode without a violation")
    if not strict and status == "invalid" and (len(ids) != 1 or ids[0] not in FATAL_HEADER_IDS):
        problem(f"lenient mode gives up only without a usable header, not with {ids}")
    return problems, report


def file_problems(bin_path: pathlib.Path, path: pathlib.Path) -> list[str]:
    """Checks `path` in both modes, and that strict mode stops at lenient mode's first violation."""
    strict_problems, strict = inspect_problems(bin_path, path, True)
    lenient_problems, lenient = inspect_problems(bin_path, path, False)
    problems = strict_problems + lenient_problems
    if strict and lenient:
        first_strict = [(d["id"], d["offset"], d["track"]) for d in strict["diagnostics"] if d["id"][:6] != "model."]
        first_lenient = [(d["id"], d["offset"], d["track"]) for d in lenient["diagnostics"] if d["id"][:6] != "model."]
        if first_strict[:1] != first_lenient[:1]:
            problems.append(f"{path}: strict stops at {first_strict[:1]}, lenient lists {first_lenient[:1]} first")
    return problems


# --- files built here ----------------------------------------------------------------------------------

TWO_NOTES = smf([bytes([0, 0x90, 60, 100, 96, 0x80, 60, 64, 0, 0x90, 64, 90, 96, 0x80, 64, 64]) + END_OF_TRACK])


def test_inspect_json_reports_a_clean_file_exactly(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "two_notes.mid"
    path.write_bytes(TWO_NOTES)
    for mode in ([], ["--strict"]):
        r = run(continuo_bin, "inspect", path, "--json", *mode)
        assert r.returncode == 0, r.describe()
        assert r.stderr == ""
        report = json.loads(r.stdout)
        assert report["status"] == "ok"
        assert report["format"] == 1
        assert report["tracks"] == 1
        assert report["division"] == 96
        assert report["events"] == 5  # four channel messages and the end-of-track event
        assert report["notes"] == 2
        assert report["duration_s"] == pytest.approx(1.0, abs=1e-12)  # 192 ticks at 96 PPQ and 120 bpm
        assert report["diagnostics"] == []


def test_inspect_json_repairs_in_lenient_mode_and_refuses_in_strict_mode(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    # The track has no end-of-track event: repaired leniently, exit 0; invalid in strict mode, exit 2.
    path = tmp_path / "no_end.mid"
    path.write_bytes(smf([bytes([0, 0x90, 60, 100, 96, 0x80, 60, 64])]))
    lenient = run(continuo_bin, "inspect", path, "--json")
    assert lenient.returncode == 0, lenient.describe()
    report = json.loads(lenient.stdout)
    assert report["status"] == "repaired"
    assert report["notes"] == 1
    assert [(d["id"], d["offset"], d["track"]) for d in report["diagnostics"]] == [("smf.missing_end_of_track", 30, 0)]
    assert lenient.stderr == ""

    strict = run(continuo_bin, "inspect", path, "--json", "--strict")
    assert strict.returncode == 2, strict.describe()
    assert json.loads(strict.stdout)["status"] == "invalid"
    assert strict.stderr.count("\n") == 1
    assert strict.stderr.startswith(f"continuo: {path}: invalid MIDI file: [smf.missing_end_of_track] track 0, byte 30")


def test_inspect_json_of_a_file_with_no_header_is_invalid_in_both_modes(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "text.mid"
    path.write_bytes(b"this is not a MIDI file\n")
    for mode in ([], ["--strict"]):
        r = run(continuo_bin, "inspect", path, "--json", *mode)
        assert r.returncode == 2, r.describe()
        report = json.loads(r.stdout)
        assert report["status"] == "invalid"
        assert [d["id"] for d in report["diagnostics"]] == ["smf.header_not_found"]
        assert r.stderr.count("\n") == 1


def test_inspect_without_json_prints_the_status_and_diagnostics_with_the_same_exit_status(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "no_end.mid"
    path.write_bytes(smf([bytes([0, 0x90, 60, 100, 96, 0x80, 60, 64])]))
    lenient = run(continuo_bin, "inspect", path)
    assert lenient.returncode == 0
    assert lenient.stdout.startswith(f"{path}: repaired\n")
    assert "[smf.missing_end_of_track] track 0, byte 30:" in lenient.stdout
    strict = run(continuo_bin, "inspect", path, "--strict")
    assert strict.returncode == 2
    assert strict.stdout.startswith(f"{path}: invalid\n")


def test_inspect_of_a_missing_file_is_an_io_error(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    r = run(continuo_bin, "inspect", tmp_path / "absent.mid", "--json")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "absent.mid" in r.stderr
    assert r.stderr.count("\n") == 1


# --- the corpus ------------------------------------------------------------------------------------------


def corpus_sample(root: pathlib.Path) -> list[pathlib.Path]:
    """Every file of drywetmidi, jazz-soft, symusic and large, and every eighth file of asap."""
    files: list[pathlib.Path] = []
    for folder in ("drywetmidi", "jazz-soft", "symusic", "large"):
        files += corpus_files(root, folder)
    files += corpus_files(root, "asap")[::8]
    return files


@pytest.mark.corpus
def test_inspect_json_keeps_its_contract_on_every_corpus_file_in_both_modes(
    continuo_bin: pathlib.Path, corpus: pathlib.Path
) -> None:
    files = corpus_sample(corpus)
    assert len(files) > 900, "the corpus looks incomplete"
    problems = [p for found in parallel(lambda f: file_problems(continuo_bin, f), files) for p in found]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:50])


@pytest.mark.corpus
def test_inspect_json_grades_the_corpus_folders_as_their_provenance_says(
    continuo_bin: pathlib.Path, corpus: pathlib.Path
) -> None:
    # Valid files and real recordings read ok; every damaged file is graded with a diagnostic.
    # (tests/midi/corpus_test.cpp checks each damaged file's exact diagnostic.)
    def status(path: pathlib.Path) -> str:
        report = json.loads(run(continuo_bin, "inspect", path, "--json", "--strict").stdout)
        if report["status"] == "repaired" and {d["id"] for d in report["diagnostics"]} == {"model.notes_not_closed"}:
            # A valid file with notes still sounding at the end of a track: inspect reads the file into a
            # performance, which closes them there and says so.
            return "ok"
        return str(report["status"])

    ok_folders = ["drywetmidi/Valid", "symusic/Multitrack_MIDIs", "symusic/One_track_MIDIs", "large"]
    ok_files = [f for folder in ok_folders for f in corpus_files(corpus, folder)]
    statuses = parallel(status, ok_files)
    assert {f: s for f, s in zip(ok_files, statuses) if s != "ok"} == {}

    damaged = corpus_files(corpus, "drywetmidi/Invalid") + corpus_files(corpus, "symusic/MIDIs_corrupted")
    # An MThd chunk of 10 bytes is allowed: the one file of drywetmidi/Invalid that is valid after all. The
    # RIFF-wrapped (RMID) files are left out: see corpus_test.cpp's rmid test.
    damaged = [f for f in damaged if f.name != "candyluv.mid" and f.read_bytes()[8:12] != b"RMID"]
    statuses = parallel(status, damaged)
    assert {f: s for f, s in zip(damaged, statuses) if s != "invalid"} == {}

"""Where the output goes wrong: a full disk or closed stdout, an OUT that cannot be written, a file name
that is not UTF-8 in JSON, a silence too long for one delta time, tracks merged into format 0."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess

import pytest

from cli_support import END_OF_TRACK, run, smf, vlq


def note(delta: int, pitch: int, length: int, velocity: int = 80) -> bytes:
    return vlq(delta) + bytes([0x90, pitch, velocity]) + vlq(length) + bytes([0x80, pitch, 0])


def one_note_file(folder: pathlib.Path) -> pathlib.Path:
    """Writes a file of one note, `a.mid` in `folder`, and returns its path."""
    path = folder / "a.mid"
    path.write_bytes(smf([note(0, 60, 96) + END_OF_TRACK]))
    return path


def notes_csv(bin_path: pathlib.Path, path: pathlib.Path) -> list[str]:
    r = run(bin_path, "notes", path, "--csv")
    assert r.returncode == 0, r.describe()
    return r.stdout.splitlines()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["notes", "{file}", "--csv"], ["inspect", "{file}", "--json"], ["--help"]])
def test_a_full_disk_on_stdout_is_an_error(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path, command: list[str]
) -> None:
    path = one_note_file(tmp_path)
    argv = [str(continuo_bin), *(a.replace("{file}", str(path)) for a in command)]
    with open("/dev/full", "wb") as full:
        p = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, timeout=60, check=False)
    assert p.returncode == 1
    assert b"cannot write standard output: No space left on device" in p.stderr


def test_an_out_that_cannot_be_written_leaves_nothing_behind(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = one_note_file(tmp_path)
    out = tmp_path / "folder"
    out.mkdir()
    r = run(continuo_bin, "convert", path, out)
    assert r.returncode == 1, r.describe()
    assert f"cannot write '{out}': Is a directory" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "folder"]  # no folder.partial


def test_json_names_a_file_whose_name_is_not_utf8(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    path = pathlib.Path(os.fsdecode(bytes(tmp_path) + b"/take-\xff\xe2\x82.mid"))
    path.write_bytes(smf([note(0, 60, 96) + END_OF_TRACK]))
    for command in (["inspect", path, "--json"], ["sessions", path, "--json"]):
        r = subprocess.run([str(continuo_bin), *map(str, command)], capture_output=True, timeout=60, check=False)
        assert r.returncode == 0
        report = json.loads(r.stdout.decode("utf-8"))  # strict: raises on a byte that is not UTF-8
        assert report["file"].endswith("take-\ufffd\ufffd\ufffd.mid")


def test_a_silence_longer_than_a_delta_time_is_bridged(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # Text events bridge 3 * 2^27 ticks of silence; the model drops them, so the notes alone are
    # 2^28 + 2^27 ticks apart, more than one delta time can hold.
    text = vlq(2**27) + b"\xff\x01\x01x"
    path = tmp_path / "a.mid"
    path.write_bytes(smf([note(0, 60, 10) + text + text + text + note(0, 62, 10) + END_OF_TRACK], division=480))
    out = tmp_path / "b.mid"
    r = run(continuo_bin, "convert", path, out)
    assert r.returncode == 0, r.describe()
    assert notes_csv(continuo_bin, out) == notes_csv(continuo_bin, path)
    strict = run(continuo_bin, "inspect", out, "--strict", "--json")
    assert json.loads(strict.stdout)["status"] == "ok", strict.describe()


def test_format_0_says_when_merging_tracks_changed_notes(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # Key 60 held for 200 ticks in one track, struck and released inside that in another: in one
    # track, fifo pairs the first release with the first strike.
    path = tmp_path / "a.mid"
    path.write_bytes(smf([END_OF_TRACK, note(0, 60, 200, 100) + END_OF_TRACK, note(50, 60, 50, 50) + END_OF_TRACK]))
    for fmt, warned in (("0", True), ("1", False)):
        r = run(continuo_bin, "convert", path, tmp_path / "b.mid", "--format", fmt)
        assert r.returncode == 0, r.describe()
        assert ("warning: 2 note(s) read back from" in r.stderr) == warned, r.describe()
    separate = tmp_path / "c.mid"
    path.write_bytes(smf([END_OF_TRACK, note(0, 60, 20) + END_OF_TRACK, note(50, 60, 50) + END_OF_TRACK]))
    r = run(continuo_bin, "convert", path, separate, "--format", "0")
    assert "warning" not in r.stderr, r.describe()
    assert [line.rsplit(",", 3)[0] for line in notes_csv(continuo_bin, separate)] == [
        line.rsplit(",", 3)[0] for line in notes_csv(continuo_bin, path)
    ]


def test_convert_over_a_link_replaces_the_file_it_points_to(continuo_bin: pathlib.Path, tmp_path: pathlib.Path) -> None:
    path = one_note_file(tmp_path)
    (tmp_path / "takes").mkdir()
    target = tmp_path / "takes" / "target.mid"
    target.write_bytes(b"old")
    link = tmp_path / "link.mid"
    link.symlink_to(pathlib.Path("takes") / "target.mid")  # relative, as `ln -s` makes them
    dangling = tmp_path / "dangling.mid"
    dangling.symlink_to(tmp_path / "takes" / "new.mid")
    for out in (link, dangling):
        r = run(continuo_bin, "convert", path, out)
        assert r.returncode == 0, r.describe()
        assert out.is_symlink()
        assert notes_csv(continuo_bin, out) == notes_csv(continuo_bin, path)
    assert sorted(p.name for p in (tmp_path / "takes").iterdir()) == ["new.mid", "target.mid"]


def test_convert_keeps_the_permissions_of_the_file_it_replaces(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = one_note_file(tmp_path)
    private = tmp_path / "private.mid"
    private.write_bytes(b"old")
    private.chmod(0o600)
    r = run(continuo_bin, "convert", path, private)
    assert r.returncode == 0, r.describe()
    assert private.stat().st_mode & 0o7777 == 0o600
    assert notes_csv(continuo_bin, private) == notes_csv(continuo_bin, path)


def test_convert_writes_into_a_fifo_rather_than_replacing_it(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = one_note_file(tmp_path)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE) as reader:
        r = run(continuo_bin, "convert", path, fifo)
        received, _ = reader.communicate(timeout=20)
    assert r.returncode == 0, r.describe()
    assert fifo.is_fifo()
    copy = tmp_path / "copy.mid"
    copy.write_bytes(received)
    assert notes_csv(continuo_bin, copy) == notes_csv(continuo_bin, path)


def test_a_reader_that_stops_early_ends_the_tool_without_a_signal_or_a_message(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "a.mid"
    path.write_bytes(smf([b"".join(note(0 if i == 0 else 10, 40 + i % 40, 5) for i in range(20000)) + END_OF_TRACK]))
    for command in (["notes", path, "--csv"], ["sessions", path, "--json"]):
        with subprocess.Popen(
            [str(continuo_bin), *map(str, command)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as p:
            assert p.stdout is not None and p.stderr is not None
            p.stdout.read(1)
            p.stdout.close()  # as `| head -c1` does
            error = p.stderr.read()
            status = p.wait(timeout=20)
        # Negative: killed by a signal. 0 where the output fitted in the pipe before it was closed
        # (the sessions' report can); the 20,000 notes' rows cannot.
        assert status == 1 if command[0] == "notes" else status in (0, 1), (command, status, error)
        assert error == b""


def test_an_input_that_never_ends_is_refused_at_the_limit(continuo_bin: pathlib.Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    r = run(continuo_bin, "inspect", "/dev/zero", "--json")
    assert r.returncode == 1, r.describe()
    assert "cannot read '/dev/zero': it holds more than 1073741824 bytes" in r.stderr


def test_the_repair_warning_names_a_command_that_can_be_pasted(
    continuo_bin: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "Ben's take 1.mid"
    path.write_bytes(smf([note(0, 60, 96)]))  # no end-of-track event: repaired
    r = run(continuo_bin, "notes", path, "--csv")
    assert r.returncode == 0, r.describe()
    command = r.stderr.split("`")[1]
    assert shlex.split(command) == ["continuo", "inspect", str(path)]

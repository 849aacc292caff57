"""Help and usage: `--help` of the tool and of every command exits 0 and names its options; bad usage
exits 1 with a message saying what was wrong."""

from __future__ import annotations

import pathlib

import pytest

from cli_support import END_OF_TRACK, run, smf

COMMAND_OPTIONS = {
    "inspect": ["FILE", "--strict", "--json"],
    "notes": ["FILE", "--csv", "--pairing", "fifo", "lifo", "close_all", "--sustain", "--strict"],
    "convert": ["IN", "OUT", "--ppq", "--format", "--pairing"],
    "sessions": ["FILE", "--attempt-gap", "--restart-gap", "--session-gap", "--json", "--csv"],
    "identify": ["FILE", "--piece", "NAME=", "--attempt-gap", "--restart-gap", "--json"],
}


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_main_help_exits_0_and_lists_every_command(continuo_bin: pathlib.Path, flag: str) -> None:
    r = run(continuo_bin, flag)
    assert r.returncode == 0, r.describe()
    for command in COMMAND_OPTIONS:
        assert f"continuo {command}" in r.stdout
    assert "--version" in r.stdout


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_command_help_exits_0_and_mentions_every_option(continuo_bin: pathlib.Path, command: str, flag: str) -> None:
    r = run(continuo_bin, command, flag)
    assert r.returncode == 0, r.describe()
    assert r.stdout.startswith(f"Usage: continuo {command}")
    for option in COMMAND_OPTIONS[command]:
        assert option in r.stdout, f"{command} --help does not mention {option}"


@pytest.mark.parametrize("extra", [["--help"], ["-h"], ["--json", "--json"], ["--frob"]])
def test_help_wins_over_whatever_else_is_given(continuo_bin: pathlib.Path, extra: list[str]) -> None:
    r = run(continuo_bin, "inspect", "--help", *extra)
    assert r.returncode == 0, r.describe()
    assert r.stdout.startswith("Usage: continuo inspect")


def test_version_exits_0_with_one_line(continuo_bin: pathlib.Path) -> None:
    r = run(continuo_bin, "--version")
    assert r.returncode == 0
    assert r.stdout.startswith("continuo ") and r.stdout.count("\n") == 1


def test_no_arguments_exit_1_with_the_usage(continuo_bin: pathlib.Path) -> None:
    r = run(continuo_bin)
    assert r.returncode == 1
    assert "Usage:" in r.stdout + r.stderr


@pytest.fixture
def valid_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "valid.mid"
    path.write_bytes(smf([bytes([0, 0x90, 60, 100, 96, 0x80, 60, 64]) + END_OF_TRACK]))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["inspect"], "expected one FILE"),
        (["inspect", "{file}", "{file}"], "expected one FILE"),
        (["inspect", "{file}", "--frob"], "unknown option '--frob'"),
        (["notes"], "expected one FILE"),
        (["notes", "{file}", "--pairing"], "--pairing needs a value"),
        (["notes", "{file}", "--pairing", "newest"], "--pairing must be fifo, lifo or close_all, not 'newest'"),
        (["notes", "{file}", "--json"], "unknown option '--json'"),
        (["convert", "{file}"], "expected IN and OUT"),
        (["convert", "{file}", "{out}", "--ppq", "0"], "--ppq must be a whole number from 1 to 32767, not '0'"),
        (["convert", "{file}", "{out}", "--ppq", "96x"], "--ppq must be a whole number from 1 to 32767, not '96x'"),
        (["convert", "{file}", "{out}", "--format", "2"], "--format must be 0 or 1, not '2'"),
        (
            ["sessions", "{file}", "--attempt-gap", "0"],
            "--attempt-gap must be a number of seconds from 0.001 up to 1e7, not '0'",
        ),
        (
            ["sessions", "{file}", "--attempt-gap", "1e-300"],
            "--attempt-gap must be a number of seconds from 0.001 up to 1e7, not '1e-300'",
        ),
        (
            ["sessions", "{file}", "--restart-gap", "-1"],
            "--restart-gap must be a number of seconds from 0 (off) or 0.001 up to 1e7, not '-1'",
        ),
        (["identify", "{file}", "--piece", "{file}", "--attempt-gap", "1e-300"], "--attempt-gap must be a number"),
        (["inspect", "{file}", "--json", "--json"], "--json is given twice; give it once"),
        (["notes", "{file}", "--pairing", "fifo", "--pairing", "lifo"], "--pairing is given twice; give it once"),
        (["sessions", "{file}", "--attempt-gap", "2", "--attempt-gap", "3"], "--attempt-gap is given twice"),
        (["sessions", "{file}", "--json", "--csv"], "choose one of --json and --csv"),
        (["identify", "{file}"], "register at least one piece with --piece [NAME=]FILE"),
        (["identify", "{file}", "--piece"], "--piece needs a value"),
        (["identify", "{file}", "--piece", "name="], "--piece needs [NAME=]FILE, not 'name='"),
    ],
)
def test_bad_usage_exits_1_with_a_message_on_stderr(
    continuo_bin: pathlib.Path, valid_file: pathlib.Path, tmp_path: pathlib.Path, args: list[str], message: str
) -> None:
    argv = [a.format(file=valid_file, out=tmp_path / "out.mid") for a in args]
    r = run(continuo_bin, *argv)
    assert r.returncode == 1, r.describe()
    assert message in r.stderr
    assert r.stdout == ""
    assert not (tmp_path / "out.mid").exists()

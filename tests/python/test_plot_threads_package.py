"""Plots, threads and the package itself: lazy optional imports, __all__, typing."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import continuo
from python_support import corpus_dir, corpus_files
from midi_bytes import header, note_file, track

REPO = pathlib.Path(__file__).resolve().parents[2]


def generated_takes(count: int) -> list[bytes]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(count):
        n = 200 + 50 * i
        on = np.sort(rng.integers(0, 100_000, n))
        notes = {"onset_tick": on, "offset_tick": on + rng.integers(0, 2000, n), "pitch": rng.integers(21, 109, n),
                 "velocity": rng.integers(1, 128, n), "track": rng.integers(0, 3, n)}  # fmt: skip
        controls: dict[str, object] = {"tick": np.sort(rng.integers(0, 100_000, 60)), "number": 64, "value": rng.integers(0, 128, 60)}
        out.append(continuo.from_notes(notes, ppq=480, tempo=[(0, 90.0), (int(on[n // 2]), 135.0)], controls=controls).to_bytes())
    return out


def test_two_threads_read_exactly_what_one_reads() -> None:
    buffers = generated_takes(40)
    if corpus_dir() is not None:
        buffers += [p.read_bytes() for p in corpus_files("asap")[::5]]
    pairings: list[continuo.Pairing] = ["fifo", "close_all"]
    for pairing in pairings:
        one = [continuo.read(b, pairing=pairing) for b in buffers]
        with ThreadPoolExecutor(2) as pool:
            two = list(pool.map(lambda b: continuo.read(b, pairing=pairing), buffers))
        assert two == one
        with ThreadPoolExecutor(2) as pool:  # writing, pickling and converting in threads too
            written = list(pool.map(lambda p: p.to_bytes(), one))
        assert written == [p.to_bytes() for p in one]


def test_threads_share_one_performance() -> None:
    perf = continuo.read(generated_takes(1)[0])
    ticks = np.arange(0, 100_000, 7)
    expected = perf.tempo_map.tick_to_seconds(ticks)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: perf.tempo_map.tick_to_seconds(ticks), range(16)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_plot_piano_roll_with_pedals(tmp_path: pathlib.Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import continuo.plot

    events = [(0, b"\xb0\x40\x7f"), (0, b"\x90\x3c\x50"), (96, b"\x90\x40\x60"), (120, b"\xb0\x40\x00"),
              (130, b"\xb0\x43\x7f"), (192, b"\x80\x3c\x00"), (200, b"\x80\x40\x00"), (210, b"\xb0\x43\x00")]  # fmt: skip
    perf = continuo.read(header(0, 1, 96) + track(events))
    ax = continuo.plot.piano_roll(perf)
    assert len(ax.collections) == 3  # notes, sustain lane, soft lane
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sustain", "soft", "C4"]
    assert ax.get_xlabel() == "time (s)"
    plt.gcf().savefig(tmp_path / "roll.png")
    assert (tmp_path / "roll.png").stat().st_size > 1000
    fig, ax2 = plt.subplots()
    assert continuo.plot.piano_roll(perf, ax2, start_s=0.5, pitch_range=(48, 72), pedals=False, colorbar=False) is ax2
    assert len(ax2.collections) == 1 and ax2.get_xlim()[0] == 0.5
    empty = continuo.plot.piano_roll(continuo.read(note_file([])), colorbar=False)
    assert len(empty.collections) == 1
    plt.close("all")


def test_optional_dependencies_load_only_when_used() -> None:
    code = "import sys, continuo, continuo.plot; print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_public_names() -> None:
    public = {name for name, value in vars(continuo).items() if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public == set(continuo.__all__) - {"__version__"}
    assert all(hasattr(continuo, name) for name in continuo.__all__)
    assert continuo.__version__ == "0.1.0"
    assert issubclass(continuo.InvalidMidiError, continuo.Error)
    assert issubclass(continuo.WriteError, continuo.Error)
    assert (pathlib.Path(continuo.__file__).parent / "py.typed").exists()
    assert (pathlib.Path(continuo.__file__).parent / "_core.pyi").exists()


@pytest.mark.slow
def test_package_and_tests_type_check_under_mypy_strict() -> None:
    pytest.importorskip("mypy")
    env = dict(os.environ, MYPY_CACHE_DIR=str(REPO / ".mypy_cache"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")],
        cwd=REPO, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

"""Reading MIDI files to notes in seconds as numpy arrays: continuo against the Python readers.

    .venv/bin/python bench/python/bench_read.py [--corpus DIR] [--quick] [--out FILE]

Every reader gets the same in-memory buffers (no disk I/O is timed) and must produce the same
thing: onset and offset in seconds, pitch and velocity, as numpy arrays over all tracks. Each
reader runs in its own process, so that peak memory (how far the process's resident set rises
above what it held before reading: imports, buffers) is its own; the fast readers take the best of
several passes per round, over 5 interleaved rounds, and report the median round. Ratios are of
throughput (MB/s), so subsets of different sizes compare fairly.

Sets: the ASAP performances (corpus/asap, without the scores), corpus/symusic, and generated long
takes (takes.py). `--quick` times the slow readers on every 8th file of each set only (the same
files for every reader, so the ratios stay fair). Needs bench/python/requirements.txt.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
FAST = ("continuo", "continuo-2threads", "continuo-core", "symusic")
SLOW = ("pretty_midi", "miditoolkit", "mido", "partitura", "muspy")
ALL = FAST + SLOW
ROUNDS = 5

Reader = Callable[[bytes], int]  # returns the number of notes read


def arrays(onset: Any, offset: Any, pitch: Any, velocity: Any) -> int:
    """The common output: four numpy arrays. Returns the note count."""
    out = (np.asarray(onset, np.float64), np.asarray(offset, np.float64), np.asarray(pitch, np.uint8), np.asarray(velocity, np.uint8))
    return len(out[0])


def reader(tool: str) -> Reader:  # noqa: C901 - one small function per tool
    if tool in ("continuo", "continuo-2threads"):
        import continuo

        def read_continuo(data: bytes) -> int:
            return len(continuo.read(data).notes["onset_s"])

        return read_continuo
    if tool == "symusic":
        import symusic

        def read_symusic(data: bytes) -> int:
            score = symusic.Score.from_midi(data).to("second")
            parts = [t.notes.numpy() for t in score.tracks]
            if not parts:
                return 0
            time_ = np.concatenate([p["time"] for p in parts])
            duration = np.concatenate([p["duration"] for p in parts])
            return arrays(time_, time_ + duration, np.concatenate([p["pitch"] for p in parts]), np.concatenate([p["velocity"] for p in parts]))

        return read_symusic
    if tool == "pretty_midi":
        import pretty_midi

        def read_pretty_midi(data: bytes) -> int:
            notes = [n for inst in pretty_midi.PrettyMIDI(io.BytesIO(data)).instruments for n in inst.notes]
            return arrays([n.start for n in notes], [n.end for n in notes], [n.pitch for n in notes], [n.velocity for n in notes])

        return read_pretty_midi
    if tool == "miditoolkit":
        import miditoolkit

        def read_miditoolkit(data: bytes) -> int:
            midi = miditoolkit.MidiFile(file=io.BytesIO(data))
            seconds = midi.get_tick_to_time_mapping()
            notes = [n for inst in midi.instruments for n in inst.notes]
            start = np.array([n.start for n in notes], dtype=np.int64)
            end = np.array([n.end for n in notes], dtype=np.int64)
            last = len(seconds) - 1
            return arrays(seconds[np.minimum(start, last)], seconds[np.minimum(end, last)], [n.pitch for n in notes], [n.velocity for n in notes])

        return read_miditoolkit
    if tool == "mido":
        import mido

        def read_mido(data: bytes) -> int:
            now = 0.0
            sounding: dict[tuple[int, int], deque[tuple[float, int]]] = defaultdict(deque)
            onset: list[float] = []
            offset: list[float] = []
            pitch: list[int] = []
            velocity: list[int] = []
            for msg in mido.MidiFile(file=io.BytesIO(data)):
                now += msg.time
                if msg.type == "note_on" and msg.velocity > 0:
                    sounding[(msg.channel, msg.note)].append((now, msg.velocity))
                elif msg.type in ("note_on", "note_off") and sounding[(msg.channel, msg.note)]:
                    start, v = sounding[(msg.channel, msg.note)].popleft()
                    onset.append(start)
                    offset.append(now)
                    pitch.append(msg.note)
                    velocity.append(v)
            return arrays(onset, offset, pitch, velocity)

        return read_mido
    if tool == "partitura":
        import mido
        import partitura

        def read_partitura(data: bytes) -> int:
            perf = partitura.load_performance_midi(mido.MidiFile(file=io.BytesIO(data)), quiet=True)
            notes = perf.note_array()
            return arrays(notes["onset_sec"], notes["onset_sec"] + notes["duration_sec"], notes["pitch"], notes["velocity"])

        return read_partitura
    if tool == "muspy":
        import mido
        import muspy

        def read_muspy(data: bytes) -> int:
            music = muspy.from_mido(mido.MidiFile(file=io.BytesIO(data)))
            notes = [n for track in music.tracks for n in track.notes]
            # muspy keeps ticks: seconds through its tempo list (qpm from tick on).
            changes = sorted((t.time, t.qpm) for t in music.tempos) or [(0, 120.0)]
            if changes[0][0] != 0:
                changes.insert(0, (0, 120.0))
            ticks = np.array([c[0] for c in changes], dtype=np.float64)
            per_tick = 60.0 / (np.array([c[1] for c in changes]) * music.resolution)
            starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * per_tick[:-1])])

            def seconds(t: np.ndarray) -> np.ndarray:
                seg = np.searchsorted(ticks, t, side="right") - 1
                out: np.ndarray = starts[seg] + (t - ticks[seg]) * per_tick[seg]
                return out

            on = np.array([n.time for n in notes], dtype=np.float64)
            off = on + np.array([n.duration for n in notes], dtype=np.float64)
            return arrays(seconds(on), seconds(off), [n.pitch for n in notes], [n.velocity for n in notes])

        return read_muspy
    raise SystemExit(f"unknown tool {tool}")


def status_mb(field: str) -> float:
    """Returns a memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak() -> float:
    """Resets the peak resident set (Linux: clear_refs 5) and returns the current one, in MB."""
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return status_mb("VmRSS")


def peak_mb() -> float:
    return status_mb("VmHWM")


def worker(tool: str, listing: pathlib.Path, repeat: int) -> dict[str, Any]:
    """Runs in a fresh process: reads every listed file `repeat` times, keeps the best pass."""
    import warnings

    warnings.simplefilter("ignore")
    buffers: list[Any] = [pathlib.Path(p).read_bytes() for p in json.loads(listing.read_text())]
    if tool == "continuo-core":
        from continuo import _core

        _core.time_core_read(buffers[:5], "fifo", 1)
        before = reset_peak()
        best = min(_core.time_core_read(buffers, "fifo", 1) for _ in range(repeat))
        return {"seconds": best, "notes": -1, "failures": 0, "peak_mb": peak_mb() - before}
    read = reader(tool)
    failures = 0

    def safe(data: bytes) -> int:
        nonlocal failures
        try:
            return read(data)
        except Exception:  # noqa: BLE001 - a reader that cannot read a file is counted, not fatal
            failures += 1
            return 0

    for data in buffers[:3]:
        safe(data)  # warm up: imports, caches
    failures = 0
    before = reset_peak()
    best = float("inf")
    notes = 0
    for _ in range(repeat):
        failures = 0
        start = time.perf_counter()
        if tool == "continuo-2threads":
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:
                notes = sum(pool.map(safe, buffers))
        else:
            notes = sum(safe(data) for data in buffers)
        best = min(best, time.perf_counter() - start)
    return {"seconds": best, "notes": notes, "failures": failures, "peak_mb": peak_mb() - before}


def corpus_sets(corpus: pathlib.Path, scratch: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    sys.path.insert(0, str(HERE))
    from takes import takes

    sets = {
        "asap": sorted(p for p in (corpus / "asap").rglob("*.mid") if p.name != "midi_score.mid"),
        "symusic": sorted((corpus / "symusic").rglob("*.mid")),
        "long takes": [],
    }
    for name, data in takes().items():
        path = scratch / name
        path.write_bytes(data)
        sets["long takes"].append(path)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=pathlib.Path, default=os.environ.get("CONTINUO_CORPUS", "../shared/corpus"))
    parser.add_argument("--quick", action="store_true", help="slow readers on every 8th file only")
    parser.add_argument("--tools", default=",".join(ALL))
    parser.add_argument("--out", type=pathlib.Path, help="also write the markdown tables here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--listing", type=pathlib.Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.listing, args.repeat)))
        return

    tools = args.tools.split(",")
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        sets = corpus_sets(args.corpus, pathlib.Path(scratch))
        for set_name, files in sets.items():
            results: dict[str, dict[str, Any]] = {}
            # The fast readers take turns, round after round, and report their median round: on a
            # shared machine, load that comes and goes then weighs on all of them alike.
            turns = [t for t in tools if t in FAST] * ROUNDS + [t for t in tools if t in SLOW]
            for tool in turns:
                chosen = files[::8] if (args.quick and tool in SLOW) else files
                listing = pathlib.Path(scratch) / "listing.json"
                listing.write_text(json.dumps([str(p) for p in chosen]))
                repeat = 3 if tool in FAST else 1
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", tool, "--listing", str(listing), "--repeat", str(repeat)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r["files"] = len(chosen)
                r["mb"] = sum(p.stat().st_size for p in chosen) / 1e6
                rounds = results[tool]["rounds"] if tool in results else []
                rounds.append(r["seconds"])
                r["rounds"] = rounds
                r["seconds"] = float(np.median(rounds))
                results[tool] = r
                print(f"{set_name:10} {tool:18} {r['files']:5} files {r['seconds']:9.3f} s", file=sys.stderr, flush=True)
            lines += table(set_name, results)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


def table(set_name: str, results: dict[str, dict[str, Any]]) -> list[str]:
    base = results.get("continuo")
    lines = [
        f"### {set_name}",
        "",
        "| reader | files | MB | files/s | MB/s | peak memory (MB) | notes | failed files | continuo's MB/s ÷ this |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tool, r in results.items():
        ratio = (base["mb"] / base["seconds"]) / (r["mb"] / r["seconds"]) if base else float("nan")
        notes = "-" if r["notes"] < 0 else f"{r['notes'] * (1 if r['files'] else 0):,}"
        lines.append(
            f"| {tool} | {r['files']} | {r['mb']:.1f} | {r['files'] / r['seconds']:,.0f} | {r['mb'] / r['seconds']:,.1f} | "
            f"{r['peak_mb']:.1f} | {notes} | {r['failures']} | {ratio:,.2f} |"
        )
    if base and "continuo-core" in results:
        core = results["continuo-core"]["seconds"]
        lines.append("")
        lines.append(f"Binding cost over the C++ core (same buffers): {100 * (base['seconds'] / core - 1):+.1f} %.")
    if base and "continuo-2threads" in results:
        lines.append(f"2 threads over 1: {base['seconds'] / results['continuo-2threads']['seconds']:.2f}× the throughput.")
    lines.append("")
    return lines


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs continuo's benchmarks side by side with its peers and prints one table per corpus.

    bench/run.py --build BUILD_DIR [--corpus DIR] [--budget S] [--rounds N] [--quick] [--groups a,b]
                 [--steady-heap] [--no-mido] [--no-midly]

Every tool reads the same bytes, loaded into memory before anything is timed, each tool and level
in a process of its own:

- continuo and libsmf in the C++ program BUILD_DIR/bin/continuo_bench (JSON on its stdout);
- midly (Rust) in bench/peers/midly, built here with cargo into BUILD_DIR/cargo when cargo is
  installed;
- symusic and mido in worker processes of this script (run.py --worker ...).

Each tool and level reads each file of a corpus in repeated passes, timed in the thread's CPU
time; a file's time is its fastest read, and a corpus's time is the sum of its files' times
(min-of-N: the least disturbed by other jobs on a shared machine). That runs in `--rounds`
processes per tool and level (default 3), the tools taking turns, and the fastest process counts:
on a shared virtual machine a whole process now and then runs 20-30 % slower throughout, whatever
it runs (bench/README.md, "Method"). bench/README.md says what each level runs. Progress goes to
stderr; the tables go to stdout and, with the raw numbers, to BUILD_DIR/bench/results.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent

# The goals, checked at the end of every run.
EVENTS_GOAL_MB_S = 1000.0  # events only, per core
SYMUSIC_GOAL = 2.0  # notes and pedals, in ticks and in seconds
LONG_TAKE_SYMUSIC_GOAL = 3.0  # on the 24 h take
LONG_TAKE_TOLERANCE = 0.10  # 24 h take MB/s within 10 % of the short files' (asap, 0.5 h take)
MEMORY_GOAL = 3.0  # peak extra memory over the file size, on files of 16 KiB or more

# The PPQ and note-off style of each generated take: all three PPQs of the issue, and both ways
# of releasing keys that digital pianos write. The half-hour takes have the 24-hour take's PPQ and
# style, so that comparing the two isolates the effect of length from that of content. The short
# takes come in copies of distinct content (*N), about 2 MB a group: read again and again, one
# file of 0.1 MB is learnt by the branch predictor and reads 1.3 times as fast as unseen music
# (bench/README.md, "Branch prediction").
TAKES = "0.5:960*16,2:384*4,8:480:off,24:960"
MIDO_MAX_BYTES = 2_000_000  # mido parses at ~0.5 MB/s: it times a sample of at most this much

# glibc malloc settings of --steady-heap: no mmap below 32 MiB (its maximum), never give the top of
# the heap back, and grow it 64 MiB at a time, so that repeated reads reuse the same pages.
STEADY_HEAP_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 40),
    "MALLOC_TOP_PAD_": str(64 << 20),
}

LEVELS = ("events", "ticks", "seconds")
CPP_LEVELS = ("continuo/events", "continuo/ticks", "continuo/seconds", "continuo/seconds_reused", "libsmf/events",
              "libsmf/seconds")
LEVEL_TITLES = {
    "events": "events only",
    "ticks": "notes+pedals (ticks)",
    "seconds": "notes (seconds)",
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class group:
    """A corpus group: a name, its files, and what it stands for."""

    name: str
    about: str
    paths: list[Path]
    excluded: dict[str, str] = field(default_factory=dict)  # path -> why
    blobs: list[bytes] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(len(b) for b in self.blobs)


@dataclass
class timing:
    tool: str
    level: str
    runs: str
    best_s: float
    median_pass_s: float
    repeats: int
    files: int
    bytes: int
    failed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    memory: dict[str, Any] | None = None
    note: str = ""
    best_wall_s: float = 0.0
    rounds_mb_s: list[float] = field(default_factory=list)  # each process's MB/s, when timed in several

    @property
    def mb_s(self) -> float:
        return self.bytes / 1e6 / self.best_s if self.best_s > 0 else 0.0

    @property
    def files_s(self) -> float:
        return self.files / self.best_s if self.best_s > 0 else 0.0


def time_passes(
    read: Callable[[bytes], object], blobs: list[bytes], budget_s: float, min_repeats: int, max_repeats: int
) -> tuple[float, float, float, int]:
    """Times `read` like continuo_bench does: a warm-up pass, then passes until the budget is spent;
    each file keeps its fastest time. The clock is the thread's CPU time (the same
    CLOCK_THREAD_CPUTIME_ID as the C++ side), so that waiting for a core on a shared machine is not
    charged to the reader; the wall clock is kept alongside. Results are dropped untimed.
    Returns (best CPU s, best wall s, median pass CPU s, passes)."""
    for b in blobs:
        read(b)
    best = [float("inf")] * len(blobs)
    best_wall = [float("inf")] * len(blobs)
    passes: list[float] = []
    spent = 0.0
    cpu = time.thread_time_ns
    wall = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside a timed read would be charged to that tool
    try:
        while len(passes) < min_repeats or (spent < budget_s and len(passes) < max_repeats):
            total = 0.0
            for i, b in enumerate(blobs):
                w0 = wall()
                t0 = cpu()
                result = read(b)
                t1 = cpu()
                w1 = wall()
                del result
                d = (t1 - t0) * 1e-9
                best[i] = min(best[i], d)
                best_wall[i] = min(best_wall[i], (w1 - w0) * 1e-9)
                total += d
            passes.append(total)
            spent += total
    finally:
        if gc_was_enabled:
            gc.enable()
    return sum(best), sum(best_wall), statistics.median(passes), len(passes)


def symusic_counts(score: Any) -> dict[str, int]:
    return {
        "notes": sum(len(t.notes) for t in score.tracks),
        "pedals": sum(len(t.pedals) for t in score.tracks),
        "controls": sum(len(t.controls) for t in score.tracks),
    }


def python_reader(tool: str, level: str) -> tuple[Callable[[bytes], Any], str]:
    """Returns the read call of a Python peer at a level, and how the README names it."""
    if tool == "symusic":
        import symusic.core  # noqa: PLC0415 - optional peer

        if level == "ticks":
            return symusic.core.ScoreTick.from_midi, 'symusic.Score.from_midi(bytes, ttype="tick")'
        return symusic.core.ScoreSecond.from_midi, 'symusic.Score.from_midi(bytes, ttype="second")'
    import mido  # noqa: PLC0415 - optional peer

    def read(b: bytes) -> object:
        try:
            return mido.MidiFile(file=io.BytesIO(b))
        except Exception:  # noqa: BLE001 - mido rejects damaged files; counted as failures
            return None

    return read, "mido.MidiFile(file=io.BytesIO(bytes))"


def worker(argv: list[str]) -> int:
    """Times one Python peer at one level on a list of files, in a process of its own (as each
    continuo_bench level is), and prints the timing as JSON: run.py --worker TOOL LEVEL LIST
    BUDGET MIN MAX."""
    tool, level, list_file, budget, min_repeats, max_repeats = argv
    paths = [Path(x) for x in Path(list_file).read_text().splitlines() if x]
    blobs = [p.read_bytes() for p in paths]
    read, runs = python_reader(tool, level)
    counts: dict[str, int] = {}
    failed = 0
    for b in blobs:
        result = read(b)
        if result is None:
            failed += 1
        elif tool == "symusic":
            for k, v in symusic_counts(result).items():
                counts[k] = counts.get(k, 0) + v
    best, wall, median, repeats = time_passes(read, blobs, float(budget), int(min_repeats), int(max_repeats))
    t = timing(tool, level, runs, best, median, repeats, len(blobs), sum(len(b) for b in blobs), failed=failed,
               counts=counts, best_wall_s=wall)
    print(json.dumps(t.__dict__))
    return 0


def run_worker(tool: str, level: str, list_file: Path, budget: float, min_repeats: int, max_repeats: int,
               env: dict[str, str]) -> timing:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, level, str(list_file), str(budget),
           str(min_repeats), str(max_repeats)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env)
    return timing(**json.loads(r.stdout))


def run_symusic(g: group, list_file: Path, args: argparse.Namespace, env: dict[str, str]) -> list[timing]:
    out = []
    for level in ("ticks", "seconds"):
        t = run_worker("symusic", level, list_file, args.budget, args.min_repeats, args.max_repeats, env)
        out.append(t)
        log(f"{g.name}: symusic/{level}: {t.mb_s:.1f} MB/s over {t.repeats} passes")
    return out


def run_mido(g: group, out_dir: Path, env: dict[str, str]) -> list[timing]:
    # An even sample of the files, at most MIDO_MAX_BYTES, one pass: mido is two to three orders of
    # magnitude slower, and its ratio does not need a second digit.
    order = sorted(range(len(g.blobs)), key=lambda i: len(g.blobs[i]))
    sample: list[Path] = []
    size = 0
    step = max(1, len(order) // 40)
    for i in order[::step]:
        if size + len(g.blobs[i]) > MIDO_MAX_BYTES:
            continue
        sample.append(g.paths[i])
        size += len(g.blobs[i])
    if not sample:
        return [timing("mido", "events", "", 0, 0, 0, 0, 0, note=f"skipped: every file is over {MIDO_MAX_BYTES / 1e6:g} MB")]
    list_file = out_dir / f"{g.name}.mido.list"
    list_file.write_text("".join(f"{p}\n" for p in sample))
    t = run_worker("mido", "events", list_file, 0.0, 1, 1, env)
    if len(sample) != len(g.blobs):
        t.note = f"sample of {len(sample)} of {len(g.blobs)} files"
    log(f"{g.name}: mido/events: {t.mb_s:.2f} MB/s ({t.note or 'all files'})")
    return [t]


def symusic_peak_rss(path: Path, python: str) -> dict[str, float]:
    """Peak extra resident memory of symusic's parse of one file, in a fresh process (symusic
    allocates in C++, which tracemalloc does not see): the growth of VmHWM, the high-water mark of
    this process's own pages (ru_maxrss would carry over the parent's peak across exec)."""
    code = (
        "import sys, symusic.core as c\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'): return int(line.split()[1]) * 1024\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "cls = c.ScoreTick if sys.argv[2] == 'ticks' else c.ScoreSecond\n"
        "cls.from_midi(cls(480).dumps_midi())  # loads the parser's code pages on a 14-byte file\n"
        "before = hwm()\n"
        "s = cls.from_midi(b)\n"
        "print(hwm() - before)\n"
    )
    out = {}
    for level in ("ticks", "seconds"):
        r = subprocess.run([python, "-c", code, str(path), level], capture_output=True, text=True, check=False)
        try:
            out[level] = float(r.stdout.strip()) / max(path.stat().st_size, 1)
        except ValueError:
            log(f"symusic memory of {path.name}: {r.stderr.strip()[-200:]}")
    return out


def run_program(cmd: list[str], list_file: Path, args: argparse.Namespace, env: dict[str, str]) -> list[timing]:
    """Runs continuo_bench run or midly_bench on a list of files and reads its JSON."""
    cmd = cmd + ["--budget", str(args.budget), "--min-repeats", str(args.min_repeats),
                 "--max-repeats", str(args.max_repeats), f"@{list_file}"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, check=True, env=env)
    data = json.loads(r.stdout)
    out = []
    for x in data["results"]:
        t = timing(x["tool"], x["level"], x["runs"], x["best_s"], x["median_pass_s"], x["repeats"], data["files"],
                   data["bytes"], failed=x["failed"], counts=x["counts"], memory=x["memory"],
                   best_wall_s=x["best_wall_s"])
        out.append(t)
    return out


def fastest_process(rounds: list[list[timing]]) -> list[timing]:
    """Each tool and level's fastest process over the rounds, with every round's MB/s beside it."""
    best: dict[tuple[str, str], timing] = {}
    seen: dict[tuple[str, str], list[float]] = {}
    for results in rounds:
        for t in results:
            key = (t.tool, t.level)
            seen.setdefault(key, []).append(t.mb_s)
            if key not in best or t.best_s < best[key].best_s:
                best[key] = t
    for key, t in best.items():
        t.rounds_mb_s = seen[key]
    return list(best.values())


def build_midly(build: Path) -> Path | None:
    """Builds the midly peer with cargo (crates.io) into BUILD_DIR/cargo; None when that fails."""
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        log("cargo is not installed: the midly column stays empty")
        return None
    manifest = REPO / "bench" / "peers" / "midly" / "Cargo.toml"
    target = build / "cargo"
    log("building the midly peer with cargo")
    r = subprocess.run([cargo, "build", "--release", "--quiet", "--manifest-path", str(manifest), "--target-dir",
                        str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if r.returncode != 0:
        log(f"midly peer did not build, its column stays empty: {r.stderr.strip()[-400:]}")
        return None
    return target / "release" / "midly_bench"


def find_groups(corpus: Path | None, takes: list[dict[str, Any]]) -> list[group]:
    groups = []
    if corpus is not None and corpus.is_dir():
        asap = corpus / "asap"
        if asap.is_dir():
            paths = sorted(p for p in asap.rglob("*.mid") if p.name != "midi_score.mid")
            groups.append(group("asap", "Disklavier performances (ASAP), the typical digital-piano file", paths))
        sym = corpus / "symusic"
        if sym.is_dir():
            groups.append(group("symusic", "symusic's test files: MAESTRO, POP909, multitrack pop, corrupted",
                                sorted(sym.rglob("*.mid"))))
        large = corpus / "large"
        if large.is_dir():
            groups.append(group("large", "mahler.mid: 33 orchestral tracks", sorted(large.rglob("*.mid"))))
    else:
        log(f"no corpus at {corpus}: set CONTINUO_CORPUS; only the generated takes are run")
    by_hours: dict[float, list[dict[str, Any]]] = {}
    for t in takes:
        by_hours.setdefault(t["hours"], []).append(t)
    for hours, copies in by_hours.items():
        t = copies[0]
        style = "note-offs" if t["note_off_messages"] else "velocity-0 note-ons"
        what = "take" if len(copies) == 1 else "takes of distinct content (seeds)"
        about = (f"{len(copies)} generated {hours:g} h {what}, PPQ {t['ticks_per_quarter']}, {style}, "
                 f"{sum(c['notes'] for c in copies)} notes, {sum(c['cc64'] for c in copies)} CC64, "
                 f"{sum(c['passages'] for c in copies)} passages")
        groups.append(group(f"take-{hours:g}h", about, [Path(c["path"]) for c in copies]))
    return groups


def load(g: group, check_symusic: bool) -> None:
    """Reads the files, and leaves out those symusic rejects, so that every tool reads the same set."""
    parse: Callable[[bytes], object] | None = None
    if check_symusic:
        import symusic.core  # noqa: PLC0415

        parse = symusic.core.ScoreTick.from_midi
    kept = []
    for p in g.paths:
        b = p.read_bytes()
        if parse is not None:
            try:
                parse(b)
            except Exception as e:  # noqa: BLE001 - symusic raises RuntimeError on damaged files
                g.excluded[str(p)] = f"symusic: {e}"
                continue
        kept.append(p)
        g.blobs.append(b)
    g.paths = kept


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    try:
        import importlib.metadata as md  # noqa: PLC0415

        for name in ("symusic", "mido"):
            try:
                versions[name] = md.version(name)
            except md.PackageNotFoundError:
                pass
    except ImportError:
        pass
    try:
        versions["libsmf"] = subprocess.run(["pkg-config", "--modversion", "smf"], capture_output=True, text=True,
                                            check=False).stdout.strip()
    except OSError:
        pass
    lock = REPO / "bench" / "peers" / "midly" / "Cargo.lock"
    if lock.exists():
        lines = lock.read_text().splitlines()
        for i, line in enumerate(lines[:-1]):
            if line == 'name = "midly"':
                versions["midly"] = lines[i + 1].split('"')[1]
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=False).stdout.strip()
    except OSError:
        rev = ""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "commit": rev or "(none)",
        **{f"{k}_version": v for k, v in versions.items()},
    }


def fmt_mb(t: timing | None) -> str:
    if t is None:
        return "–"
    if t.note.startswith("skipped"):
        return "skipped"
    v = t.mb_s
    s = f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"
    if t.note:
        s += "*"
    return s


def ratio(a: timing | None, b: timing | None) -> float | None:
    if a is None or b is None or b.mb_s <= 0 or a.mb_s <= 0:
        return None
    return a.mb_s / b.mb_s


def fmt_ratio(r: float | None) -> str:
    return "–" if r is None else f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def group_table(g: group, results: list[timing], symusic_rss: dict[str, float]) -> list[str]:
    by = {(t.tool, t.level): t for t in results}
    median_kb = statistics.median(len(b) for b in g.blobs) / 1024 if g.blobs else 0
    lines = [
        f"### {g.name}: {len(g.blobs)} files, {g.total_bytes / 1e6:.2f} MB (median {median_kb:.0f} KiB)",
        "",
        f"{g.about}.",
        "",
        "| level | continuo MB/s | files/s | symusic MB/s | libsmf MB/s | midly MB/s | mido MB/s | ×symusic | "
        "×libsmf | ×midly | continuo peak memory (median / max ≥16 KiB) | peers' peak memory (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for level in LEVELS:
        c = by.get(("continuo", level))
        s = by.get(("symusic", level))
        l = by.get(("libsmf", level))
        m = by.get(("mido", level))
        r = by.get(("midly", level))
        mem = "–"
        if c is not None and c.memory and c.memory.get("max_ratio", 0) > 0:
            big = c.memory["max_ratio_16k"]
            mem = f"{c.memory['median_ratio']:.1f}× / " + (f"{big:.1f}×" if big > 0 else "(no file ≥16 KiB)")
        peers_mem = ", ".join(f"{t.tool} {t.memory['max_ratio']:.0f}×" for t in (l, r)
                              if t is not None and t.memory and t.memory.get("max_ratio"))
        if level != "events" and symusic_rss.get(level):
            peers_mem = ", ".join(x for x in (peers_mem, f"symusic ~{symusic_rss[level]:.1f}× (RSS, largest file)") if x)
        lines.append(
            f"| {LEVEL_TITLES[level]} | {fmt_mb(c)} | {c.files_s:.0f} | {fmt_mb(s)} | {fmt_mb(l)} | {fmt_mb(r)} | "
            f"{fmt_mb(m)} | {fmt_ratio(ratio(c, s))} | {fmt_ratio(ratio(c, l))} | {fmt_ratio(ratio(c, r))} | {mem} | "
            f"{peers_mem or '–'} |"
            if c is not None
            else f"| {LEVEL_TITLES[level]} | – | – | {fmt_mb(s)} | {fmt_mb(l)} | {fmt_mb(r)} | {fmt_mb(m)} | – | – | – "
            f"| – | {peers_mem or '–'} |"
        )
    notes = []
    full = by.get(("continuo", "seconds"))
    sym_ticks = by.get(("symusic", "ticks"))
    if full is not None and sym_ticks is not None:
        notes.append(f"continuo's full read (every CC kept, seconds too) against symusic's tick parse (which keeps "
                     f"every CC): {fmt_ratio(ratio(full, sym_ticks))}.")
    reused = by.get(("continuo", "seconds_reused"))
    sym_seconds = by.get(("symusic", "seconds"))
    if reused is not None:
        notes.append(f"The same full read through one `performance_reader` reused from file to file (a batch "
                     f"job's way: no memory allocated once the buffers have grown): {fmt_mb(reused)} MB/s, "
                     f"{fmt_ratio(ratio(reused, sym_seconds))} symusic's seconds parse.")
    spread = [f"{t.tool} {t.level} {min(t.rounds_mb_s):.0f}–{max(t.rounds_mb_s):.0f}" for t in results
              if len(t.rounds_mb_s) > 1 and t.tool in ("continuo", "symusic") and t.level in ("ticks", "seconds")]
    if spread:
        rounds = max(len(t.rounds_mb_s) for t in results)
        notes.append(f"Each process of the {rounds} rounds, slowest to fastest (MB/s): " + ", ".join(spread) + ".")
    counts = []
    for tool, level in (("continuo", "seconds"), ("symusic", "ticks"), ("libsmf", "seconds")):
        t = by.get((tool, level))
        if t is not None and "notes" in t.counts:
            extra = f", {t.counts['pedals']} pedals" if "pedals" in t.counts else ""
            counts.append(f"{tool} {t.counts['notes']} notes{extra}")
    if counts:
        notes.append("Read: " + "; ".join(counts) + ".")
    failed = [f"{t.tool} rejected {t.failed}" for t in results if t.failed and t.level in ("events", "seconds")]
    if failed:
        notes.append("Failures (timed all the same): " + ", ".join(sorted(set(failed))) + ".")
    if g.excluded:
        notes.append(f"Left out for every tool ({len(g.excluded)}), because symusic rejects them: " +
                     "; ".join(f"{Path(p).name} ({why})" for p, why in g.excluded.items()) + ".")
    mido = by.get(("mido", "events"))
    if mido is not None and mido.note and not mido.note.startswith("skipped"):
        notes.append(f"\\* mido: one pass over a {mido.note}.")
    return lines + [""] + [f"- {n}" for n in notes] + [""]


@dataclass
class goal:
    what: str
    measured: str
    met: bool | None  # None: not measured


def check_goals(all_results: dict[str, list[timing]]) -> list[goal]:
    def get(name: str, tool: str, level: str) -> timing | None:
        for t in all_results.get(name, []):
            if t.tool == tool and t.level == level:
                return t
        return None

    goals = []
    names = list(all_results)
    ev = [(n, t) for n in names if (t := get(n, "continuo", "events")) is not None]
    if ev:
        worst = min(t.mb_s for _, t in ev)
        goals.append(goal(f"events only ≥ {EVENTS_GOAL_MB_S:.0f} MB/s per core, every corpus",
                          ", ".join(f"{n} {t.mb_s:.0f}" for n, t in ev) + " MB/s", worst >= EVENTS_GOAL_MB_S))
    for level, title in (("ticks", "notes+pedals in ticks"), ("seconds", "notes in seconds")):
        rs = [(n, r) for n in names if (r := ratio(get(n, "continuo", level), get(n, "symusic", level))) is not None]
        if rs:
            goals.append(goal(f"{title} ≥ {SYMUSIC_GOAL:g}× symusic, every corpus",
                              ", ".join(f"{n} {r:.2f}×" for n, r in rs), min(r for _, r in rs) >= SYMUSIC_GOAL))
    long_name = next((n for n in names if n.startswith("take-24")), None)
    if long_name is not None:
        for level, title in (("ticks", "ticks"), ("seconds", "seconds")):
            r = ratio(get(long_name, "continuo", level), get(long_name, "symusic", level))
            if r is not None:
                goals.append(goal(f"24 h take ≥ {LONG_TAKE_SYMUSIC_GOAL:g}× symusic in {title}", f"{r:.2f}×",
                                  r >= LONG_TAKE_SYMUSIC_GOAL))
        # The short files: asap (the typical file), and the half-hour take of the same
        # generator and PPQ (the same content, so only the length differs).
        short_names = [n for n in ("asap", "take-0.5h") if n in all_results]
        for level in ("events", "ticks", "seconds"):
            long_t = get(long_name, "continuo", level)
            measured = []
            met = True
            for short_name in short_names:
                short_t = get(short_name, "continuo", level)
                if long_t is None or short_t is None:
                    continue
                rel = long_t.mb_s / short_t.mb_s
                measured.append(f"{rel - 1:+.0%} vs {short_name} ({long_t.mb_s:.0f} vs {short_t.mb_s:.0f} MB/s)")
                met = met and rel >= 1 - LONG_TAKE_TOLERANCE
            if measured:
                goals.append(goal(f"24 h take within {LONG_TAKE_TOLERANCE:.0%} of the short files' MB/s "
                                  f"({LEVEL_TITLES[level]})", "; ".join(measured), met))
    for level in LEVELS:
        worst_memory: tuple[str, float] | None = None
        for n in names:
            t = get(n, "continuo", level)
            if t is None or not t.memory or t.memory.get("max_ratio_16k", 0) <= 0:
                continue
            if worst_memory is None or t.memory["max_ratio_16k"] > worst_memory[1]:
                worst_memory = (n, float(t.memory["max_ratio_16k"]))
        if worst_memory is not None:
            goals.append(goal(f"peak extra memory ≤ {MEMORY_GOAL:g}× the file ({LEVEL_TITLES[level]}, files ≥16 KiB)",
                              f"worst {worst_memory[1]:.1f}× ({worst_memory[0]})", worst_memory[1] <= MEMORY_GOAL))
    return goals


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True, type=Path, help="the CMake build dir holding bin/continuo_bench")
    p.add_argument("--corpus", type=Path, default=None, help="shared/corpus (default: $CONTINUO_CORPUS)")
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed passes per tool, level and corpus")
    p.add_argument("--min-repeats", type=int, default=3)
    p.add_argument("--max-repeats", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3,
                   help="processes per tool and level, taking turns; the fastest counts (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="a short smoke run: budget 0.1 s, one pass minimum, one round")
    p.add_argument("--groups", default="", help="comma-separated group names to run (default: all)")
    p.add_argument("--takes", default=TAKES, help="takes to generate, HOURS:PPQ[:off][*COPIES],... (default %(default)s)")
    p.add_argument("--no-mido", action="store_true", help="leave mido out")
    p.add_argument("--no-midly", action="store_true", help="leave midly (Rust, built with cargo) out")
    p.add_argument("--steady-heap", action="store_true",
                   help="tune glibc's malloc (MALLOC_*_ variables) in every timed process so that it keeps freed "
                        "memory: measures parsing without the page faults of fresh memory")
    args = p.parse_args()
    if args.quick:
        args.budget, args.min_repeats, args.rounds = 0.1, 1, 1
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.corpus is None and os.environ.get("CONTINUO_CORPUS"):
        args.corpus = Path(os.environ["CONTINUO_CORPUS"])

    build = args.build.resolve()
    bench = build / "bin" / "continuo_bench"
    if not bench.exists():
        log(f"{bench} is missing: configure with -DCONTINUO_BUILD_BENCH=ON and build first (make bench does)")
        return 1
    out_dir = build / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)

    try:
        import symusic  # noqa: F401, PLC0415

        have_symusic = True
    except ImportError:
        log("symusic is not installed: its columns stay empty (pip install symusic, or make deps)")
        have_symusic = False
    have_mido = False
    if not args.no_mido:
        try:
            import mido  # noqa: F401, PLC0415

            have_mido = True
        except ImportError:
            log("mido is not installed: its column stays empty")

    midly = None if args.no_midly else build_midly(build)
    env = dict(os.environ)
    if args.steady_heap:
        env.update(STEADY_HEAP_ENV)

    started = time.monotonic()
    log("generating the long practice takes")
    gen = subprocess.run([str(bench), "generate", "--out", str(build / "takes"), "--takes", args.takes],
                         stdout=subprocess.PIPE, text=True, check=True)
    takes = json.loads(gen.stdout)
    groups = find_groups(args.corpus, takes)
    if args.groups:
        wanted = set(args.groups.split(","))
        groups = [g for g in groups if g.name in wanted]

    all_results: dict[str, list[timing]] = {}
    rss_by_group: dict[str, dict[str, float]] = {}
    tables: list[str] = []
    for g in groups:
        load(g, have_symusic)
        if not g.blobs:
            log(f"{g.name}: no files, skipped")
            continue
        log(f"{g.name}: {len(g.blobs)} files, {g.total_bytes / 1e6:.2f} MB")
        list_file = out_dir / f"{g.name}.list"
        list_file.write_text("".join(f"{p}\n" for p in g.paths))
        # One process per tool and level, Python peers included: glibc's malloc adapts its mmap and
        # trim thresholds to what was freed before, so a level timed after another would inherit
        # the other's heap (and its page faults, or their absence).
        # Rounds in turn rather than one tool's processes back to back, so that a slow spell of the
        # machine falls on every tool alike.
        rounds = []
        for r in range(args.rounds):
            if args.rounds > 1:
                log(f"{g.name}: round {r + 1} of {args.rounds}")
            results = []
            for key in CPP_LEVELS:
                results += run_program([str(bench), "run", "--only", key], list_file, args, env)
            if midly is not None:
                results += run_program([str(midly)], list_file, args, env)
            if have_symusic:
                results += run_symusic(g, list_file, args, env)
            rounds.append(results)
        results = fastest_process(rounds)
        if have_mido:
            results += run_mido(g, out_dir, env)
        rss = {}
        if have_symusic:
            largest = max(g.paths, key=lambda q: q.stat().st_size)
            if largest.stat().st_size >= 256 * 1024:
                rss = symusic_peak_rss(largest, sys.executable)
        all_results[g.name] = results
        rss_by_group[g.name] = rss
        tables += group_table(g, results, rss)

    goals = check_goals(all_results)
    info = machine()
    head = [
        f"Ran {info['date']} on {info['nproc']} × {info['cpu']} (load average {info['load']} at the end), "
        f"commit {info['commit']}, Python {info['python']}, "
        + ", ".join(f"{k.removesuffix('_version')} {v}" for k, v in info.items() if k.endswith("_version"))
        + (". glibc malloc tuned to keep freed memory (--steady-heap)" if args.steady_heap else
           ". glibc malloc as it comes, a fresh process per tool and level")
        + f". MB/s are file bytes over the reading thread's CPU time, each file's fastest of "
        f"{args.min_repeats}+ passes ({args.budget:g} s budget per tool, level and corpus), the fastest of "
        f"{args.rounds} process(es) per tool and level; "
        f"{time.monotonic() - started:.0f} s in all.",
        "",
    ]
    goal_lines = ["### Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for x in goals:
        goal_lines.append(f"| {x.what} | {x.measured} | {'yes' if x.met else 'no' if x.met is not None else '–'} |")
    markdown = "\n".join(head + tables + goal_lines) + "\n"
    print(markdown)
    (out_dir / "results.md").write_text(markdown)
    raw = {
        "machine": info,
        "groups": {
            g.name: {
                "about": g.about,
                "files": len(g.blobs),
                "bytes": g.total_bytes,
                "excluded": g.excluded,
                "results": [
                    t.__dict__
                    | {"mb_s": t.mb_s, "files_s": t.files_s,
                       "wall_mb_s": t.bytes / 1e6 / t.best_wall_s if t.best_wall_s > 0 else 0.0}
                    for t in all_results.get(g.name, [])
                ],
                "symusic_peak_rss_ratio": rss_by_group.get(g.name, {}),
            }
            for g in groups
        },
        "goals": [x.__dict__ for x in goals],
    }
    (out_dir / "results.json").write_text(json.dumps(raw, indent=1))
    log(f"wrote {out_dir / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

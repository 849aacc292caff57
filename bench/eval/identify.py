"""Piece identification and passage localisation, measured on a corpus of scores and performances.

    python bench/eval/identify.py CORPUS --json [--seed N] [--limit N] [--drills DAYS] [--no-fusion]

CORPUS is any folder in ASAP's layout (``metadata.csv``; per-folder ``midi_score.mid`` and
``midi_score_annotations.txt``; per-performance ``*_annotations.txt``). Every score folder is
registered in a continuo.Repertoire (its bars from the score annotation's downbeats). Queries are
excerpts of the performances, 10 s and 30 s long, several per performance at positions drawn with a
fixed seed. A query is right when the piece found has its (composer, title): some pieces have two
score folders (with and without repeats), registered under one name.

Reported: top-1 and MRR, against a pitch-class-histogram baseline (cosine to each score's histogram);
the same with the excerpts time-stretched ±30 %, with 10 % of the notes wrong, missing or extra, with
stop-and-restart loops, and transposed (in the transposition-invariant mode); the share of
excerpts located within ±1 bar (repeat-aware) with the error distribution; the unknown rate on
pieces left out of the repertoire; and with ``--drills DAYS``, how well the bar ranges and tempo of
simulated practice (tools/practice-sim) are recovered with the pieces registered. Progress goes to
stderr, the result to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

import continuo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "practice-sim"))
import practice_sim  # noqa: E402  (the simulator's module, beside its script)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LENGTHS_S = (30.0, 10.0)
VARIANTS = ("stretch", "noise", "loops", "transposed")
DOWNBEAT_TOLERANCE_S = 0.002  # annotation times against MIDI onsets (see BarMaterial)


@dataclass
class Score:
    folder: str
    key: str  # composer/title
    onset_s: FloatArray
    pitch: IntArray
    beats_s: FloatArray
    downbeats_s: FloatArray
    piece: int = -1  # id in the main repertoire
    pch: FloatArray = field(default_factory=lambda: np.zeros(12))


@dataclass
class Take:
    path: str
    key: str
    folder: str
    onset_s: FloatArray
    pitch: IntArray
    beats_s: FloatArray  # performance beats, one-to-one with the score's (None when they differ)
    aligned: bool


def load(corpus: Path, limit: Optional[int]) -> tuple[dict[str, Score], list[Take]]:
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    scores: dict[str, Score] = {}
    takes: list[Take] = []
    for i, row in enumerate(rows):
        if limit is not None and len(takes) >= limit:
            break
        print(f"\rreading: {i + 1}/{len(rows)}", end="", file=sys.stderr)
        key = f"{row['composer']}/{row['title']}"
        folder = row["folder"]
        if folder not in scores:
            perf = continuo.read(corpus / row["midi_score"])
            beats, downbeats = practice_sim.read_annotations(corpus / row["midi_score_annotations"])
            notes = perf.notes
            scores[folder] = Score(folder, key, np.asarray(notes["onset_s"], dtype=np.float64),
                                   np.asarray(notes["pitch"], dtype=np.int64), beats, downbeats)  # fmt: skip
        perf = continuo.read(corpus / row["midi_performance"])
        beats, _ = practice_sim.read_annotations(corpus / row["performance_annotations"])
        notes = perf.notes
        takes.append(Take(row["midi_performance"], key, folder, np.asarray(notes["onset_s"], dtype=np.float64),
                          np.asarray(notes["pitch"], dtype=np.int64), beats,
                          len(beats) == len(scores[folder].beats_s)))  # fmt: skip
    print(file=sys.stderr)
    return scores, takes


def pch(pitch: IntArray) -> FloatArray:
    h = np.bincount(pitch % 12, minlength=12).astype(np.float64)
    n = np.linalg.norm(h)
    return h / n if n > 0 else h


# ---- query variants ----------------------------------------------------------------------------


def excerpt(take: Take, start: float, length: float) -> tuple[FloatArray, IntArray]:
    lo, hi = np.searchsorted(take.onset_s, [start, start + length])
    return take.onset_s[lo:hi], take.pitch[lo:hi]


def stretched(take: Take, start: float, length: float, factor: float) -> tuple[FloatArray, IntArray]:
    """The notes played `factor` times as fast (factor 0.7: 30 % slower), still `length` seconds long."""
    onset, pitch = excerpt(take, start, length * factor)
    return start + (onset - start) / factor, pitch


def noisy(onset: FloatArray, pitch: IntArray, rng: np.random.Generator, rate: float = 0.1) -> tuple[FloatArray, IntArray]:
    """Alters `rate` of the notes: a third each wrong (±1 or 2 semitones), missing, or with an extra note."""
    kind = np.where(rng.random(len(pitch)) < rate, rng.integers(0, 3, len(pitch)), -1)
    pitch = pitch.copy()
    pitch[kind == 0] += rng.choice([-2, -1, 1, 2], size=int((kind == 0).sum()))
    keep = kind != 1
    extra = kind == 2
    onset = np.concatenate([onset[keep], onset[extra] + 0.02])
    pitch = np.concatenate([pitch[keep], pitch[extra] + rng.choice([-1, 1], size=int(extra.sum()))])
    order = np.argsort(onset, kind="stable")
    return onset[order], np.clip(pitch[order], 0, 127)


def looped(take: Take, start: float, length: float, rng: np.random.Generator) -> tuple[FloatArray, IntArray]:
    """Stop-and-restart: plays 3-8 s, stops, pauses 1-2 s, restarts 2-4 s earlier, until `length` is filled."""
    parts_onset: list[FloatArray] = []
    parts_pitch: list[IntArray] = []
    now, t = start, start
    while now < start + length:
        run = float(rng.uniform(3, 8))
        onset, pitch = excerpt(take, t, min(run, start + length - now))
        parts_onset.append(onset - t + now)
        parts_pitch.append(pitch)
        now += run + float(rng.uniform(1, 2))
        t = max(start, t + run - float(rng.uniform(2, 4)))
    return np.concatenate(parts_onset), np.concatenate(parts_pitch)


# ---- truth --------------------------------------------------------------------------------------


def true_score_time(take: Take, score: Score, t: float) -> float:
    """Performance time → beat index (interpolating the performance's beats) → the score's time."""
    index = np.interp(t, take.beats_s, np.arange(len(take.beats_s)))
    return float(np.interp(index, np.arange(len(score.beats_s)), score.beats_s))


class BarMaterial:
    """The notes of each bar of a score, to tell whether two bars hold the same music (repeats)."""

    def __init__(self, score: Score) -> None:
        edges = np.append(score.downbeats_s, np.inf)
        self.bars: list[tuple[tuple[int, int], ...]] = []
        for b in range(len(score.downbeats_s)):
            # A note on a downbeat belongs to the bar it starts, even when the annotation's time (written
            # to a few decimals) is a hair later than the MIDI's: without the tolerance such a note falls
            # into the bar before, at position 48, and two identical bars look different.
            lo, hi = np.searchsorted(score.onset_s, [edges[b] - DOWNBEAT_TOLERANCE_S, edges[b + 1] - DOWNBEAT_TOLERANCE_S])
            length = (edges[b + 1] - edges[b]) if np.isfinite(edges[b + 1]) else 1.0
            rel = np.rint(48 * (score.onset_s[lo:hi] - edges[b]) / max(length, 1e-3)).astype(int)
            self.bars.append(tuple(sorted(zip(rel.tolist(), score.pitch[lo:hi].tolist()))))

    def same(self, a: int, b: int, span: int = 2, similarity: float = 0.75) -> bool:
        """Whether bars a, a+1, ... and b, b+1, ... (1-based, `span` of them) hold the same music: the
        Jaccard similarity of their (position, pitch) notes reaches `similarity`. Not equality: the
        two times through a repeat differ in a tied note or a first-ending chord."""
        if a == b:
            return True
        left: list[tuple[int, int, int]] = []
        right: list[tuple[int, int, int]] = []
        for k in range(span):
            i, j = a - 1 + k, b - 1 + k
            if not (0 <= i < len(self.bars) and 0 <= j < len(self.bars)):
                return False
            left += [(k, *n) for n in self.bars[i]]
            right += [(k, *n) for n in self.bars[j]]
        x, y = set(left), set(right)
        return bool(x | y) and len(x & y) / len(x | y) >= similarity


def located_right(found: float, truth: float, material: BarMaterial) -> bool:
    """Within ±1 bar of the truth, or of a bar holding the same music (an unfolded repeat)."""
    if abs(found - truth) <= 1.0:
        return True
    f, t = int(found), int(truth)
    return any(material.same(f + d, t) for d in (-1, 0, 1))


# ---- evaluation ---------------------------------------------------------------------------------


def rank_of(ident: continuo.Identification, key: str) -> int:
    names = ([ident.name] if ident.known else []) + [a.name for a in ident.alternatives]
    return names.index(key) + 1 if key in names else 0


FUSION: Optional[bool] = None  # --fusion / --no-fusion: the repertoire's embedding fusion (None: its default)


def build(scores: dict[str, Score], invariant: bool = False, leave_out: frozenset[str] = frozenset()) -> continuo.Repertoire:
    rep = continuo.Repertoire(transposition_invariant=invariant, fusion=FUSION)
    for s in scores.values():
        if s.key in leave_out:
            continue
        piece = rep.add_notes(s.key, s.onset_s, s.pitch, s.downbeats_s)
        if not invariant and not leave_out:
            s.piece = piece
    return rep


@dataclass
class Job:
    """One excerpt and its variants, drawn before any query runs."""

    take: Take
    score: Score
    length: float
    onset: FloatArray
    pitch: IntArray
    material: Optional[BarMaterial] = None  # set when the take's beats align with the score's
    factor: float = 1.0  # of the stretched variant
    variants: list[tuple[str, tuple[FloatArray, IntArray]]] = field(default_factory=list)


@dataclass
class Outcome:
    """What one job measured, as (figure, value) pairs in a fixed order."""

    length: float
    results: list[tuple[str, float]]
    error: Optional[float]  # bar error of the located start (nan: not located; None: not measured)
    seconds: float  # of the clean identification


def run_job(job: Job, rep: continuo.Repertoire, invariant: continuo.Repertoire, partial: Optional[continuo.Repertoire],
            held: frozenset[str], pch_matrix: FloatArray, pch_keys: list[str]) -> Outcome:  # fmt: skip
    """Runs one excerpt's queries; touches no shared state, so jobs may run on several threads."""
    take, score, onset, pitch = job.take, job.score, job.onset, job.pitch
    tag = f"{job.length:g}s"
    out: list[tuple[str, float]] = []
    q0 = time.perf_counter()
    found = rep.identify_notes(onset, pitch)
    seconds = time.perf_counter() - q0
    r = rank_of(found, take.key)
    out.append((f"top1_{tag}", float(found.known and found.name == take.key)))
    out.append((f"mrr_{tag}", 1.0 / r if r else 0.0))
    scores_cos = pch_matrix @ pch(pitch)
    out.append((f"baseline_top1_{tag}", float(pch_keys[int(np.argmax(scores_cos))] == take.key)))
    if partial is not None:
        guess = partial.identify_notes(onset, pitch)
        if take.key in held:
            out.append((f"unknown_rate_{tag}", float(not guess.known)))
        else:
            out.append((f"known_rate_{tag}", float(guess.known and guess.name == take.key)))
    # Localisation in the query's own score (identification is measured above).
    error: Optional[float] = None
    if job.material is not None:
        truth = float(rep.bar_at(score.piece, true_score_time(take, score, float(onset[0]))))
        placements = rep.locate_notes(onset, pitch, score.piece)
        if placements:
            found_bar = placements[0].first_bar
            ok = located_right(found_bar, truth, job.material)
            out.append((f"bar_within1_{tag}", float(ok)))
            # A start in material identical to the true one (an unfolded repeat) counts as error 0.
            error = 0.0 if ok and abs(found_bar - truth) > 1 else found_bar - truth
        else:
            out.append((f"bar_within1_{tag}", 0.0))
            error = float("nan")
    # Robustness variants.
    for variant, q in job.variants:
        target = invariant if variant == "transposed" else rep
        v = target.identify_notes(*q)
        out.append((f"top1_{variant}_{tag}", float(v.known and v.name == take.key)))
        if variant == "stretch" and v.known and found.known:
            # Against the clean excerpt's ratio: the performer's tempo is not the score's.
            out.append((f"tempo_error_stretch_{tag}", abs(v.tempo_ratio / (job.factor * found.tempo_ratio) - 1)))
    c = invariant.identify_notes(onset, pitch)
    out.append((f"top1_invariant_clean_{tag}", float(c.known and c.name == take.key)))
    return Outcome(job.length, out, error, seconds)


def evaluate(corpus: Path, seed: int, limit: Optional[int], per_take: int, drills: int, quick_variants: bool,
             threads: int = 1) -> dict[str, Any]:  # fmt: skip
    started = time.monotonic()
    scores, takes = load(corpus, limit)
    t0 = time.monotonic()
    rep = build(scores)
    build_s = time.monotonic() - t0
    print(f"registered {len(scores)} scores, {rep._impl.posting_count} postings, in {build_s:.1f} s", file=sys.stderr)
    invariant = build(scores, invariant=True)
    keys = sorted({s.key for s in scores.values()})
    rng = np.random.default_rng(seed)
    held = frozenset(rng.choice(keys, size=max(1, len(keys) // 10), replace=False).tolist()) if len(keys) >= 3 else frozenset()
    partial = build(scores, leave_out=held) if held else None
    pch_matrix = np.stack([pch(s.pitch) for s in scores.values()])
    pch_keys = [s.key for s in scores.values()]

    # The queries are drawn first, in one fixed order (the same seed gives the same queries whatever
    # --threads is), then run on a thread pool (the queries release the GIL), and their results are
    # gathered in the order drawn: every figure but the timings is the same for any thread count.
    jobs: list[Job] = []
    materials: dict[str, BarMaterial] = {}
    for k, take in enumerate(takes):
        print(f"\rdrawing queries: performance {k + 1}/{len(takes)}", end="", file=sys.stderr)
        score = scores[take.folder]
        if len(take.onset_s) == 0:
            continue
        for length in LENGTHS_S:
            first, last = float(take.onset_s[0]), float(take.onset_s[-1])
            for _ in range(per_take):
                start = float(rng.uniform(first, max(first, last - length)))
                onset, pitch = excerpt(take, start, length)
                if len(onset) < 2:
                    continue
                job = Job(take, score, length, onset, pitch)
                if take.aligned and len(score.beats_s) >= 2:
                    if take.folder not in materials:
                        materials[take.folder] = BarMaterial(score)
                    job.material = materials[take.folder]
                for variant in VARIANTS:
                    if quick_variants and length != 30.0:
                        continue
                    if variant == "stretch":
                        job.factor = 0.7 if rng.random() < 0.5 else 1.3
                        q = stretched(take, start, length, job.factor)
                    elif variant == "noise":
                        q = noisy(onset, pitch, rng)
                    elif variant == "loops":
                        q = looped(take, start, length, rng)
                    else:
                        shift = int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]))
                        q = (onset, np.clip(pitch + shift, 0, 127))
                    if len(q[0]) >= 2:
                        job.variants.append((variant, q))
                jobs.append(job)
    print(file=sys.stderr)

    def run(job: Job) -> Outcome:
        return run_job(job, rep, invariant, partial, held, pch_matrix, pch_keys)

    results: dict[str, list[float]] = defaultdict(list)
    errors: dict[float, list[float]] = defaultdict(list)
    timing: list[float] = []
    n_queries = len(jobs)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for k, outcome in enumerate(pool.map(run, jobs)):
            if k % 100 == 0 or k + 1 == len(jobs):
                print(f"\rquerying: {k + 1}/{len(jobs)}", end="", file=sys.stderr)
            for name, value in outcome.results:
                results[name].append(value)
            if outcome.error is not None:
                errors[outcome.length].append(outcome.error)
            timing.append(outcome.seconds)
    print(file=sys.stderr)

    out: dict[str, Any] = {
        "corpus": str(corpus),
        "seed": seed,
        "n_scores": len(scores),
        "n_pieces": len(keys),
        "n_performances": len(takes),
        "n_queries": n_queries,
        "excerpts_per_performance": per_take,
        "n_postings": rep._impl.posting_count,
        "n_postings_invariant": invariant._impl.posting_count,
        "held_out_pieces": len(held),
        "performances_with_aligned_beats": sum(t.aligned for t in takes),
    }
    for name, values in sorted(results.items()):
        out[name] = float(np.mean(values)) if values else None
        if name.startswith("top1_") or name.startswith("bar_"):
            out[f"n_{name}"] = len(values)
    for length, errs in errors.items():
        e = np.asarray(errs)
        finite = e[np.isfinite(e)]
        tag = f"{length:g}s"
        out[f"bar_error_{tag}"] = {
            "within_0.5": float(np.mean(np.abs(e) <= 0.5)) if len(e) else None,
            "within_1": float(np.mean(np.abs(e) <= 1.0)) if len(e) else None,
            "within_2": float(np.mean(np.abs(e) <= 2.0)) if len(e) else None,
            "within_4": float(np.mean(np.abs(e) <= 4.0)) if len(e) else None,
            "median_abs": float(np.median(np.abs(finite))) if len(finite) else None,
            "p90_abs": float(np.percentile(np.abs(finite), 90)) if len(finite) else None,
            "not_located": int(np.sum(~np.isfinite(e))),
        }
    out["baseline"] = {"method": "cosine of pitch-class histograms to each score's",
                       "top1_30s": out.get("baseline_top1_30s"), "top1_10s": out.get("baseline_top1_10s")}  # fmt: skip
    out["query_ms_median"] = 1000 * float(np.median(timing)) if timing else None
    out["query_ms_p99"] = 1000 * float(np.percentile(timing, 99)) if timing else None
    out["index_build_s"] = round(build_s, 2)
    if drills > 0:
        out["drills"] = evaluate_drills(corpus, seed, drills, limit, threads)
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def evaluate_drills(corpus: Path, seed: int, days: int, limit: Optional[int], threads: int = 1) -> dict[str, Any]:
    """Simulated practice with the practised performances registered (their own bars): per true
    attempt of a piece, whether its piece and first and last bar (±1) are found, and the tempo error."""
    pieces = practice_sim.load_pieces(corpus, limit=limit, progress=True)
    sim = practice_sim.Simulator(pieces, seed=seed)
    day_list = [sim.day(d) for d in range(days)]
    used = sorted({a.piece for day in day_list for s in day.sessions for a in s.attempts if a.piece})
    by_name = {p.name: p for p in sim.pieces}
    rep = continuo.Repertoire(fusion=FUSION)
    ids: dict[str, int] = {}
    for name in used:
        practised = by_name[name]
        ids[name] = rep.add_notes(name, practised.onset_s, practised.pitch, practised.downbeats_s[:-1])
    stats: dict[str, list[float]] = defaultdict(list)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        analyses = list(pool.map(lambda day: rep.session_heatmap(day.performance()), day_list))
    for d, (day, analysis) in enumerate(zip(day_list, analyses)):
        print(f"\rdrills: day {d + 1}/{days}", end="", file=sys.stderr)
        for s in day.sessions:
            for a in s.attempts:
                # The found attempt that holds this attempt's first note, and its passage closest in time.
                row = next((x for x in analysis.attempts if x.attempt.start_s - 0.5 <= a.start_s <= x.attempt.end_s), None)
                if a.kind == "warmup":
                    stats["warmup_unknown"].append(float(row is None or not row.identification.known))
                    continue
                assert a.bars is not None
                kind = "drill" if a.kind == "drill" else "run"
                right_piece = row is not None and row.identification.name == a.piece
                stats[f"{kind}_piece"].append(float(right_piece))
                if not right_piece or row is None or not row.placements:
                    stats[f"{kind}_first_bar_within1"].append(0.0)
                    stats[f"{kind}_last_bar_within1"].append(0.0)
                    continue

                def overlap(p: continuo.Placement) -> float:
                    return min(p.query_end_s, a.end_s) - max(p.query_start_s, a.start_s)

                # The attempt's bars are the union of the placements that lie mostly within it: a long
                # run-through may be located in several contiguous placements (a tempo change, a
                # passage that matched weakly), and a found attempt may also hold the restart after it.
                within = [p for p in row.placements if overlap(p) > 0.5 * (p.query_end_s - p.query_start_s)]
                best = max(row.placements, key=overlap)
                first_bar = min(p.first_bar for p in within) if within else best.first_bar
                last_bar = max(p.last_bar for p in within) if within else best.last_bar
                first_true, last_true = a.bars[0] + 1, a.bars[1]
                stats[f"{kind}_first_bar_within1"].append(float(abs(int(first_bar) - first_true) <= 1))
                stats[f"{kind}_last_bar_within1"].append(float(abs(int(last_bar) - last_true) <= 1))
                stats[f"{kind}_tempo_abs_error"].append(abs(best.tempo_ratio / a.tempo_factor - 1))
    print(file=sys.stderr)
    out: dict[str, Any] = {"days": days, "pieces_registered": len(used)}
    for name, values in sorted(stats.items()):
        if name.endswith("tempo_abs_error"):
            out[name.replace("abs_error", "median_abs_error")] = float(np.median(values)) if values else None
            out[name.replace("abs_error", "within_5pct")] = float(np.mean(np.asarray(values) <= 0.05)) if values else None
        else:
            out[name] = float(np.mean(values)) if values else None
        out[f"n_{name}"] = len(values)
    return out


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['n_queries']} queries from {result['n_performances']} performances of {result['n_pieces']} pieces "
             f"({result['n_scores']} scores), seed {result['seed']}, {result['seconds']} s", ""]  # fmt: skip
    lines.append(f"{'':28} {'30 s':>8} {'10 s':>8}")

    def row(label: str, name: str) -> None:
        cells = [result.get(f"{name}_{t}") for t in ("30s", "10s")]
        lines.append(f"{label:28} " + " ".join(f"{c:8.3f}" if isinstance(c, float) else f"{'-':>8}" for c in cells))

    row("top-1", "top1")
    row("MRR", "mrr")
    row("baseline (PCH) top-1", "baseline_top1")
    for v in VARIANTS:
        row(f"top-1, {v}", f"top1_{v}")
    row("top-1, invariant mode", "top1_invariant_clean")
    row("start within ±1 bar", "bar_within1")
    row("unknown (held-out pieces)", "unknown_rate")
    row("known (registered, partial)", "known_rate")
    if "drills" in result:
        lines.append("")
        lines.append("drills with the pieces registered: " + json.dumps(result["drills"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder in ASAP's layout")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default prints a table)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the excerpt positions and variants (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N performances")
    parser.add_argument("--per-performance", type=int, default=2, help="excerpts per performance and length (default 2)")
    parser.add_argument("--drills", type=int, default=0, metavar="DAYS",
                        help="also evaluate DAYS of simulated practice with the pieces registered (default 0: skip)")
    parser.add_argument("--threads", type=int, default=1,
                        help="run the queries on N threads (the same figures as 1 thread; only timings differ)")
    parser.add_argument("--fusion", action=argparse.BooleanOptionalAction, default=None,
                        help="confirm the votes' unknown best guesses by the embedding-window search, or not "
                             "(default: the repertoire's default, on; docs/repertoire.md)")
    parser.add_argument("--quick-variants", action="store_true", help="robustness variants on 30 s excerpts only")
    args = parser.parse_args(argv)
    global FUSION
    FUSION = args.fusion
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"{args.corpus} has no metadata.csv: give a folder in ASAP's layout")
    result = evaluate(args.corpus, args.seed, args.limit, args.per_performance, args.drills, args.quick_variants,
                      args.threads)
    result["baseline_top1_30s"] = result.get("baseline_top1_30s")
    print(json.dumps(result) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

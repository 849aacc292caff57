"""Attempt splitting, measured on simulated practice with known ground truth.

    python bench/eval/attempts.py CORPUS --json [--seed N] [--days N]

CORPUS is any folder in ASAP's layout (``metadata.csv``, per-performance ``*_annotations.txt``). The
practice simulator (tools/practice-sim) turns its performances into days of practice; continuo
splits each day into attempts with ``continuo.sessions`` (its defaults, restarts found; and with
restart detection off). A boundary is an attempt's start or end; a found boundary is right when a
true boundary of the same kind lies within ±1 s (each true boundary matched once). The baseline
splits wherever no note has sounded for 5 s, ignoring the pedal, as recorders with a fixed silence
rule do. The other side of the trade-off: the share of the corpus's own performances, each one
uninterrupted playing, that a setting would cut in two. Progress goes to stderr; the result to
stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import continuo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "practice-sim"))
import practice_sim  # noqa: E402  (the simulator's module, beside its script)

TOLERANCE_S = 1.0
BASELINE_SILENCE_S = 5.0
RESTART_GAP_S = 1.0  # continuo's default
SWEEP_GAPS_S = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0)

Spans = list[tuple[float, float]]


def matched(found: npt.NDArray[np.float64], truth: npt.NDArray[np.float64]) -> int:
    """Counts found times within TOLERANCE_S of a true time, each true time matched at most once."""
    used = np.zeros(len(truth), dtype=bool)
    hits = 0
    for t in np.sort(found):
        candidates = np.flatnonzero(~used & (np.abs(truth - t) <= TOLERANCE_S))
        if len(candidates):
            used[candidates[np.argmin(np.abs(truth[candidates] - t))]] = True
            hits += 1
    return hits


def boundary_counts(found: Spans, truth: Spans) -> tuple[int, int, int]:
    """Returns (matched, found, true) boundaries, starts and ends counted separately."""
    hits = 0
    for k in (0, 1):
        hits += matched(np.array([s[k] for s in found]), np.array([s[k] for s in truth]))
    return hits, 2 * len(found), 2 * len(truth)


def f1(hits: int, found: int, truth: int) -> float:
    if found == 0 or truth == 0:
        return 0.0
    precision, recall = hits / found, hits / truth
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def silence_split(perf: continuo.Performance, silence_s: float) -> Spans:
    """The baseline: a new attempt wherever no note has sounded for `silence_s`, pedal ignored."""
    notes = perf.notes
    onset, offset = np.asarray(notes["onset_s"]), np.asarray(notes["offset_s"])
    if len(onset) == 0:
        return []
    spans: Spans = []
    start, sounding_until = float(onset[0]), float(offset[0])
    for on, off in zip(onset[1:], offset[1:]):
        if on - sounding_until >= silence_s:
            spans.append((start, sounding_until))
            start = float(on)
        sounding_until = max(sounding_until, float(off))
    spans.append((start, sounding_until))
    return spans


def evaluate(corpus: Path, seed: int, days: int) -> dict[str, Any]:
    started = time.monotonic()
    pieces = practice_sim.load_pieces(corpus, progress=True)
    simulator = practice_sim.Simulator(pieces, seed=seed)
    totals: dict[str, list[int]] = {"continuo": [0, 0, 0], "no_restarts": [0, 0, 0], "baseline": [0, 0, 0]}
    sweep = {gap: [0, 0, 0] for gap in SWEEP_GAPS_S}
    sweep_no_restarts = {gap: [0, 0, 0] for gap in SWEEP_GAPS_S}
    sessions_true = sessions_found = 0
    for d in range(days):
        print(f"\rsimulating and splitting day {d + 1}/{days}", end="", file=sys.stderr)
        day = simulator.day(d)
        perf = day.performance()
        truth = [(a.start_s, a.end_s) for s in day.sessions for a in s.attempts]
        sessions_true += len(day.sessions)
        for gap in SWEEP_GAPS_S:
            for table, restart_gap in ((sweep, RESTART_GAP_S), (sweep_no_restarts, 0.0)):
                practice = continuo.sessions(perf, attempt_gap=gap, restart_gap=restart_gap)
                counts = boundary_counts([(a.start_s, a.end_s) for a in practice.attempts], truth)
                table[gap] = [x + y for x, y in zip(table[gap], counts)]
        default = continuo.sessions(perf)
        sessions_found += len(default.sessions)
        counts = boundary_counts([(a.start_s, a.end_s) for a in default.attempts], truth)
        totals["continuo"] = [x + y for x, y in zip(totals["continuo"], counts)]
        plain = continuo.sessions(perf, restart_gap=0)
        counts = boundary_counts([(a.start_s, a.end_s) for a in plain.attempts], truth)
        totals["no_restarts"] = [x + y for x, y in zip(totals["no_restarts"], counts)]
        counts = boundary_counts(silence_split(perf, BASELINE_SILENCE_S), truth)
        totals["baseline"] = [x + y for x, y in zip(totals["baseline"], counts)]
    print(file=sys.stderr)
    # Each performance of the corpus is one uninterrupted attempt: how often would a gap cut it?
    whole = [p.source for p in pieces if p.source is not None]
    def cut_rate(restart_gap: float) -> dict[str, float]:
        return {
            f"{gap:g}": float(
                np.mean([len(continuo.sessions(w, attempt_gap=gap, restart_gap=restart_gap).attempts) > 1 for w in whole])
            )
            for gap in SWEEP_GAPS_S
        }

    cut, cut_no_restarts = cut_rate(RESTART_GAP_S), cut_rate(0.0)

    def summary(c: list[int]) -> dict[str, float]:
        hits, found, true = c
        return {
            "f1": f1(hits, found, true),
            "precision": hits / found if found else 0.0,
            "recall": hits / true if true else 0.0,
        }

    ours, base, plain_split = summary(totals["continuo"]), summary(totals["baseline"]), summary(totals["no_restarts"])
    return {
        "corpus": str(corpus),
        "seed": seed,
        "days": days,
        "performances": len(pieces),
        "n_sessions": sessions_true,
        "n_sessions_found": sessions_found,
        "n_attempts": totals["continuo"][2] // 2,
        "tolerance_s": TOLERANCE_S,
        "attempt_gap_s": 3.0,
        "restart_gap_s": RESTART_GAP_S,
        "attempt_f1": ours["f1"],
        "attempt_precision": ours["precision"],
        "attempt_recall": ours["recall"],
        "performances_cut": cut["3"],
        "attempt_f1_without_restarts": plain_split["f1"],
        "performances_cut_without_restarts": cut_no_restarts["3"],
        "baseline": f"no note sounding for {BASELINE_SILENCE_S:g} s, pedal ignored",
        "baseline_attempt_f1": base["f1"],
        "baseline_attempt_precision": base["precision"],
        "baseline_attempt_recall": base["recall"],
        "attempt_f1_by_gap": {f"{gap:g}": summary(c)["f1"] for gap, c in sweep.items()},
        "performances_cut_by_gap": cut,
        "attempt_f1_by_gap_without_restarts": {f"{gap:g}": summary(c)["f1"] for gap, c in sweep_no_restarts.items()},
        "performances_cut_by_gap_without_restarts": cut_no_restarts,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder in ASAP's layout")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default prints a table)")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's seed (default 1)")
    parser.add_argument("--days", type=int, default=20, help="days of practice to simulate (default 20)")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"{args.corpus} has no metadata.csv: give a folder in ASAP's layout")
    result = evaluate(args.corpus, args.seed, args.days)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"attempt F1 (±{TOLERANCE_S:g} s): continuo {result['attempt_f1']:.3f} "
              f"(restarts off: {result['attempt_f1_without_restarts']:.3f}), "
              f"baseline {result['baseline_attempt_f1']:.3f} over {result['n_attempts']} attempts")  # fmt: skip
        print("attempt_gap   F1 (cut)  restarts off: F1 (cut)   [cut: share of whole performances cut in two]")
        for gap, value in result["attempt_f1_by_gap"].items():
            cut = result["performances_cut_by_gap"][gap]
            plain = result["attempt_f1_by_gap_without_restarts"][gap]
            plain_cut = result["performances_cut_by_gap_without_restarts"][gap]
            print(f"  {gap:>4} s   {value:.3f} ({cut:.3f})  {plain:.3f} ({plain_cut:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

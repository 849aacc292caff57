"""Tempo and key-signature estimation, measured against a corpus's beat and key annotations.

    python bench/eval/tempo_key.py CORPUS --json [--limit N]

CORPUS is any folder in ASAP's layout: ``metadata.csv`` (columns ``midi_performance`` and
``performance_annotations``) and per-performance ``*_annotations.txt`` whose lines are
``time<TAB>time<TAB>label``, the label ``b`` (beat), ``db`` (downbeat) or ``db,4/4,-3`` (a downbeat
that sets a time signature and a key signature in sharps, flats negative).

Tempo: the annotated tempo is 60 / the median inter-beat interval, per performance and per 30 s
window (windows from 0 s in steps of 30 s with at least 3 intervals and 4 notes). Acc1: the estimate
is within 4 % of it; Acc2: within 4 % of 1x, 2x, 1/2x, 3x or 1/3x of it. Key: the estimated signature
against the annotated one, enharmonically (+7 == -5), on the performances that keep one signature
throughout and on the first 30 s of every performance with a key annotation. Baselines beside
each figure: a plain inter-onset-interval histogram for tempo, Krumhansl-Kessler profiles for key.

The tempo estimator's metrical-level model was fitted on ASAP; on ASAP these figures are therefore
in-sample. ``build/bin/tempo_key_eval`` (bench/eval/tempo_key_eval.cpp) gives the cross-validated
ones (docs/tempo_key.md). Progress goes to stderr; the result to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

import continuo

WINDOW_S = 30.0
TOLERANCE = 0.04
OCTAVE_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)

FloatArray = npt.NDArray[np.float64]


@dataclass
class Annotated:
    """One performance with its beats (seconds) and key signatures [(time_s, sharps)]."""

    path: str
    perf: continuo.Performance
    beats_s: FloatArray
    keys: list[tuple[float, int]] = field(default_factory=list)


def read_annotations(path: Path) -> tuple[FloatArray, list[tuple[float, int]]]:
    """Returns the beat times and the key-signature changes of an ASAP annotation file."""
    beats: list[float] = []
    keys: list[tuple[float, int]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if len(parts) < 3:
            continue
        try:
            t = float(parts[0])
        except ValueError as e:
            raise ValueError(f"{path}:{number}: the first field is not a time in seconds: {parts[0]!r}") from e
        beats.append(t)
        label = parts[2].split(",")
        if len(label) >= 3 and label[2].lstrip("-").isdigit():
            keys.append((t, int(label[2])))
    return np.array(beats), keys


def annotated_tempo(beats_s: FloatArray, start_s: float = -np.inf, end_s: float = np.inf) -> float:
    """Returns 60 / the median interval of the beats in [start_s, end_s); 0 with fewer than 3 intervals."""
    inside = beats_s[(beats_s >= start_s) & (beats_s < end_s)]
    if len(inside) < 4:
        return 0.0
    return float(60.0 / np.median(np.diff(inside)))


def same_signature(a: int, b: int) -> bool:
    return (a - b) % 12 == 0


def acc1(estimate: float, truth: float) -> bool:
    return estimate > 0 and abs(estimate / truth - 1) <= TOLERANCE


def acc2(estimate: float, truth: float) -> bool:
    return any(acc1(estimate, f * truth) for f in OCTAVE_FACTORS)


def ioi_histogram_bpm(onset_s: FloatArray) -> float:
    """The baseline: the mode of the intervals between successive onset events (onsets within 50 ms
    merged), in 10 ms bins smoothed by [1 2 1], folded by octaves into 60-240 bpm."""
    events: list[float] = []
    for t in onset_s:
        if not events or t - events[-1] > 0.05:
            events.append(float(t))
    if len(events) < 3:
        return 0.0
    bins = np.rint(np.diff(events) / 0.01).astype(np.int64)
    bins = bins[(bins >= 5) & (bins < 299)]
    if len(bins) == 0:
        return 0.0
    histogram = np.bincount(bins, minlength=300).astype(np.float64)
    smoothed = np.convolve(histogram, [1.0, 2.0, 1.0], mode="same")
    bpm = 60.0 / (int(np.argmax(smoothed)) * 0.01)
    while bpm > 240:
        bpm /= 2
    while bpm < 60:
        bpm *= 2
    return bpm


def load(corpus: Path, limit: Optional[int]) -> list[Annotated]:
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"midi_performance", "performance_annotations"} - set(rows[0] if rows else {})
    if missing:
        raise SystemExit(f"{corpus / 'metadata.csv'}: no column {', '.join(sorted(missing))} (ASAP's layout)")
    rows = rows[:limit] if limit else rows
    out: list[Annotated] = []
    started = time.monotonic()
    for i, row in enumerate(rows, start=1):
        perf = continuo.read(corpus / row["midi_performance"])
        beats, keys = read_annotations(corpus / row["performance_annotations"])
        out.append(Annotated(row["midi_performance"], perf, beats, keys))
        if i % 100 == 0 or i == len(rows):
            print(f"\rread {i}/{len(rows)} performances ({time.monotonic() - started:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


class Tally:
    """Counts of Acc1 and Acc2 hits."""

    def __init__(self) -> None:
        self.n = 0
        self.hits1 = 0
        self.hits2 = 0

    def add(self, estimate: float, truth: float) -> None:
        self.n += 1
        self.hits1 += acc1(estimate, truth)
        self.hits2 += acc2(estimate, truth)

    @property
    def acc1(self) -> float:
        return self.hits1 / self.n if self.n else 0.0

    @property
    def acc2(self) -> float:
        return self.hits2 / self.n if self.n else 0.0


def evaluate(items: list[Annotated]) -> dict[str, Any]:
    tempo_whole, tempo_windows, ioi_whole, ioi_windows = Tally(), Tally(), Tally(), Tally()
    key_whole = key_30s = kk_whole = kk_30s = n_key_whole = n_key_30s = 0
    started = time.monotonic()
    for i, item in enumerate(items, start=1):
        onset = np.asarray(item.perf.notes["onset_s"])
        truth = annotated_tempo(item.beats_s)
        if truth > 0:
            tempo_whole.add(continuo.estimate_tempo(item.perf).bpm, truth)
            ioi_whole.add(ioi_histogram_bpm(onset), truth)
        end_s = float(item.beats_s[-1]) if len(item.beats_s) else 0.0
        for start_s in np.arange(0.0, end_s, WINDOW_S):
            truth = annotated_tempo(item.beats_s, start_s, start_s + WINDOW_S)
            inside = onset[(onset >= start_s) & (onset < start_s + WINDOW_S)]
            if truth <= 0 or len(inside) < 4:
                continue
            tempo_windows.add(continuo.estimate_tempo(item.perf, start_s, start_s + WINDOW_S).bpm, truth)
            ioi_windows.add(ioi_histogram_bpm(inside), truth)
        if item.keys:
            first = item.keys[0][1]
            if all(same_signature(k, first) for _, k in item.keys):
                n_key_whole += 1
                key_whole += same_signature(continuo.estimate_key(item.perf).sharps, first)
                kk_whole += same_signature(continuo.estimate_key(item.perf, profile="krumhansl_kessler").sharps, first)
            n_key_30s += 1
            key_30s += same_signature(continuo.estimate_key(item.perf, 0.0, WINDOW_S).sharps, first)
            kk = continuo.estimate_key(item.perf, 0.0, WINDOW_S, profile="krumhansl_kessler")
            kk_30s += same_signature(kk.sharps, first)
        if i % 100 == 0 or i == len(items):
            print(f"\restimated {i}/{len(items)} ({time.monotonic() - started:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)

    def share(hits: int, n: int) -> float:
        return hits / n if n else 0.0

    return {
        "n": tempo_whole.n,
        "n_windows_30s": tempo_windows.n,
        "n_key_whole": n_key_whole,
        "n_key_30s": n_key_30s,
        "key_signature_accuracy": share(key_whole, n_key_whole),
        "key_signature_accuracy_30s": share(key_30s, n_key_30s),
        "tempo_acc1": tempo_whole.acc1,
        "tempo_acc2": tempo_whole.acc2,
        "tempo_acc1_30s": tempo_windows.acc1,
        "tempo_acc2_30s": tempo_windows.acc2,
        "baseline": {
            "key": "krumhansl_kessler",
            "key_signature_accuracy": share(kk_whole, n_key_whole),
            "key_signature_accuracy_30s": share(kk_30s, n_key_30s),
            "tempo": "ioi_histogram",
            "tempo_acc1": ioi_whole.acc1,
            "tempo_acc2": ioi_whole.acc2,
            "tempo_acc1_30s": ioi_windows.acc1,
            "tempo_acc2_30s": ioi_windows.acc2,
        },
    }


def table(result: dict[str, Any]) -> str:
    b = result["baseline"]
    return "\n".join(
        [
            f"Tempo: {result['n']} performances, {result['n_windows_30s']} windows of 30 s",
            "| method | Acc1 perf | Acc2 perf | Acc1 30 s | Acc2 30 s |",
            "|---|---|---|---|---|",
            f"| baseline: IOI histogram | {b['tempo_acc1']:.3f} | {b['tempo_acc2']:.3f} | "
            f"{b['tempo_acc1_30s']:.3f} | {b['tempo_acc2_30s']:.3f} |",
            f"| continuo.estimate_tempo | {result['tempo_acc1']:.3f} | {result['tempo_acc2']:.3f} | "
            f"{result['tempo_acc1_30s']:.3f} | {result['tempo_acc2_30s']:.3f} |",
            "",
            f"Key signature: {result['n_key_whole']} performances in one signature, "
            f"{result['n_key_30s']} first-30-s excerpts",
            "| method | whole | first 30 s |",
            "|---|---|---|",
            f"| baseline: Krumhansl-Kessler | {b['key_signature_accuracy']:.3f} | {b['key_signature_accuracy_30s']:.3f} |",
            f"| continuo.estimate_key | {result['key_signature_accuracy']:.3f} | "
            f"{result['key_signature_accuracy_30s']:.3f} |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder in ASAP's layout (metadata.csv, *_annotations.txt)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N performances")
    args = parser.parse_args()
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"{args.corpus} is not a folder in ASAP's layout (no metadata.csv)")
    result = evaluate(load(args.corpus, args.limit))
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

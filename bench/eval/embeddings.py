"""Piece retrieval with continuo's embeddings: score windows as the index, performance excerpts as queries.

    python bench/eval/embeddings.py CORPUS [--json] [--seed N] [--per-performance K] [--limit N]

CORPUS is any folder in ASAP's layout (``metadata.csv`` with composer, title, folder, midi_score and
midi_performance). Every folder's ``midi_score.mid`` is cut into overlapping windows (as long as the
queries, a quarter of that apart) and embedded; each performance gives K excerpts of 30 s and of 10 s at
random places (fixed seed). A query ranks the pieces by the best cosine of any of their windows (brute
force, numpy); it is right when the best piece has the query's composer and title (some pieces have two
score folders). Reported: top-1 and mean reciprocal rank, clean and under perturbations (time-stretched
×0.7 and ×1.3; 10 % of the notes altered: a third wrong by 1-2 semitones, a third missing, a third extra;
a stop-and-restart loop; transposed by 1-6 semitones, with the transposition-invariant embedding and,
for contrast, without), beside a baseline of 12-bin pitch-class histograms over the same windows; and the
speed of embedding against reading the same files. Progress goes to stderr; the result to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

import continuo

LENGTHS_S = (30.0, 10.0)
Notes = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]


@dataclass
class Index:
    vectors: npt.NDArray[np.float32]  # (windows, d)
    pcp: npt.NDArray[np.float32]  # (windows, 12) pitch-class histograms, L2-normalised
    window_piece: npt.NDArray[np.int64]  # piece of each window


def pitch_class_profile(pitch: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    h = np.bincount(np.asarray(pitch) % 12, minlength=12).astype(np.float32)
    n = float(np.linalg.norm(h))
    return h / n if n > 0 else h


def build_index(scores: list[tuple[int, continuo.Performance]], length: float, invariant: bool) -> Index:
    vectors, pcps, owners = [], [], []
    for piece, perf in scores:
        v, w = continuo.embed_windows(perf, length, length / 4, transposition_invariant=invariant)
        pitch = np.asarray(perf.notes["pitch"], dtype=np.int64)
        vectors.append(v)
        pcps.append(np.stack([pitch_class_profile(pitch[a:b]) for a, b in zip(w.first_note, w.last_note)])
                    if len(w) else np.zeros((0, 12), np.float32))  # fmt: skip
        owners.append(np.full(len(w), piece, dtype=np.int64))
    return Index(np.concatenate(vectors), np.concatenate(pcps), np.concatenate(owners))


def rank_pieces(index_vectors: npt.NDArray[np.float32], owners: npt.NDArray[np.int64], n_pieces: int,
                queries: npt.NDArray[np.float32], truth: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Returns the rank (1 = first) of the true piece of each query, pieces scored by their best window."""
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), 256):
        sims = queries[start:start + 256] @ index_vectors.T  # (q, windows)
        best = np.full((len(sims), n_pieces), -np.inf, dtype=np.float32)
        np.maximum.at(best.T, owners, sims.T)  # best[q, piece] = max over the piece's windows
        true_score = best[np.arange(len(sims)), truth[start:start + 256]]
        ranks[start:start + len(sims)] = 1 + (best > true_score[:, None]).sum(axis=1)
    return ranks


# Perturbations ------------------------------------------------------------------------------------


def stretch(factor: float) -> Callable[[Notes, np.random.Generator], Notes]:
    def apply(n: Notes, rng: np.random.Generator) -> Notes:
        onset, pitch = n
        return onset[0] + (onset - onset[0]) * factor, pitch

    return apply


def altered(n: Notes, rng: np.random.Generator, share: float = 0.10) -> Notes:
    onset, pitch = n[0].copy(), n[1].copy()
    k = len(onset)
    kind = rng.random(k)
    wrong = kind < share / 3
    pitch[wrong] += rng.choice([-2, -1, 1, 2], size=int(wrong.sum()))
    keep = ~((kind >= share / 3) & (kind < 2 * share / 3))
    extra = int(round(k * share / 3))
    extra_onset = rng.uniform(onset[0], onset[-1], size=extra)
    extra_pitch = pitch[rng.integers(0, k, size=extra)] + rng.choice([-3, -1, 1, 3], size=extra)
    onset = np.concatenate([onset[keep], extra_onset])
    pitch = np.clip(np.concatenate([pitch[keep], extra_pitch]), 21, 108)
    order = np.argsort(onset, kind="stable")
    return onset[order], pitch[order]


def transposed(n: Notes, rng: np.random.Generator) -> Notes:
    shift = int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]))
    return n[0], np.clip(n[1] + shift, 0, 127)


def excerpt(onset: npt.NDArray[np.float64], pitch: npt.NDArray[np.int64], t: float, length: float) -> Notes:
    chosen = (onset >= t) & (onset < t + length)
    return onset[chosen], pitch[chosen]


def looped(onset: npt.NDArray[np.float64], pitch: npt.NDArray[np.int64], t: float, length: float) -> Notes:
    """Plays half the excerpt, stops, goes back 4 s and plays on: as much music as the clean excerpt."""
    half = length / 2
    a_on, a_p = excerpt(onset, pitch, t, half)
    b_on, b_p = excerpt(onset, pitch, t + half - 4.0, half)
    if len(a_on) == 0 or len(b_on) == 0:
        return excerpt(onset, pitch, t, length)
    b_on = b_on - b_on[0] + a_on[-1] + 1.5
    return np.concatenate([a_on, b_on]), np.concatenate([a_p, b_p])


# The evaluation -----------------------------------------------------------------------------------


def evaluate(corpus: Path, seed: int, per_performance: int, limit: int | None) -> dict[str, Any]:
    started = time.monotonic()
    with open(corpus / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if limit is not None:
        rows = rows[:limit]
    piece_ids: dict[tuple[str, str], int] = {}
    scores: list[tuple[int, continuo.Performance]] = []
    seen_folders: set[str] = set()
    for i, row in enumerate(rows):
        print(f"\rreading scores: {i + 1}/{len(rows)}", end="", file=sys.stderr)
        piece = piece_ids.setdefault((row["composer"], row["title"]), len(piece_ids))
        if row["midi_score"] in seen_folders:
            continue
        seen_folders.add(row["midi_score"])
        scores.append((piece, continuo.read(corpus / row["midi_score"])))
    print(file=sys.stderr)

    rng = np.random.default_rng(seed)
    conditions: dict[str, Callable[[Notes, np.random.Generator], Notes]] = {
        "clean": lambda n, r: n,
        "stretch_0.7": stretch(0.7),
        "stretch_1.3": stretch(1.3),
        "altered_10pct": altered,
        "transposed": transposed,
    }
    queries: dict[tuple[float, str], list[Notes]] = {(L, c): [] for L in LENGTHS_S for c in [*conditions, "loop"]}
    truth: dict[float, list[int]] = {L: [] for L in LENGTHS_S}
    read_s = embed_s = 0.0
    midi_bytes = 0
    for i, row in enumerate(rows):
        print(f"\rperformances: {i + 1}/{len(rows)}", end="", file=sys.stderr)
        data = (corpus / row["midi_performance"]).read_bytes()
        t0 = time.perf_counter()
        perf = continuo.read(data)
        t1 = time.perf_counter()
        continuo.embed(perf)
        t2 = time.perf_counter()
        read_s += t1 - t0
        embed_s += t2 - t1
        midi_bytes += len(data)
        onset = np.asarray(perf.notes["onset_s"], dtype=np.float64)
        pitch = np.asarray(perf.notes["pitch"], dtype=np.int64)
        if len(onset) == 0:
            continue
        piece = piece_ids[(row["composer"], row["title"])]
        for L in LENGTHS_S:
            if onset[-1] - onset[0] < L + 5:
                continue
            for _ in range(per_performance):
                t = float(rng.uniform(onset[0], onset[-1] - L))
                clean = excerpt(onset, pitch, t, L)
                if len(clean[0]) < 4:
                    continue
                truth[L].append(piece)
                for name, perturb in conditions.items():
                    queries[(L, name)].append(perturb(clean, rng))
                queries[(L, "loop")].append(looped(onset, pitch, t, L))
    print(file=sys.stderr)

    result: dict[str, Any] = {"corpus": str(corpus), "seed": seed, "per_performance": per_performance,
                              "n_pieces": len(piece_ids), "n_score_folders": len(scores)}  # fmt: skip
    table: dict[str, dict[str, float]] = {}
    for L in LENGTHS_S:
        tag = f"{L:g}s"
        true = np.asarray(truth[L], dtype=np.int64)
        result[f"n_queries_{tag}"] = len(true)
        for invariant in (False, True):
            print(f"\rindexing {tag} windows (invariant={invariant})", end="", file=sys.stderr)
            index = build_index(scores, L, invariant)
            result[f"n_windows_{tag}"] = len(index.vectors)
            names = ["transposed"] if invariant else [*conditions, "loop"]
            for name in names:
                print(f"\rranking {tag} {name:<16} (invariant={invariant})", end="", file=sys.stderr)
                notes = queries[(L, name)]
                q = np.stack([continuo.embed_notes(o, p, transposition_invariant=invariant) for o, p in notes])
                ranks = rank_pieces(index.vectors, index.window_piece, len(piece_ids), q, true)
                base_q = np.stack([pitch_class_profile(p) for _, p in notes])
                base = rank_pieces(index.pcp, index.window_piece, len(piece_ids), base_q, true)
                key = f"{name}_invariant" if invariant else name
                table[f"{key}_{tag}"] = {
                    "top1": float(np.mean(ranks == 1)), "mrr": float(np.mean(1.0 / ranks)),
                    "baseline_top1": float(np.mean(base == 1)), "baseline_mrr": float(np.mean(1.0 / base)),
                }  # fmt: skip
    print(file=sys.stderr)
    result["table"] = table
    result["top1_30s"] = table["clean_30s"]["top1"]
    result["top1_10s"] = table["clean_10s"]["top1"]
    result["mrr_30s"] = table["clean_30s"]["mrr"]
    result["baseline_top1_30s"] = table["clean_30s"]["baseline_top1"]
    result["dimension"] = int(continuo.embed_notes(np.zeros(1), np.zeros(1, np.uint8)).shape[0])
    result["speed"] = {
        "midi_mb": midi_bytes / 1e6,
        "read_mb_per_s": midi_bytes / 1e6 / read_s,
        "embed_mb_per_s": midi_bytes / 1e6 / embed_s,
        "embed_over_read": embed_s / read_s,
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder in ASAP's layout")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default prints a table)")
    parser.add_argument("--seed", type=int, default=1, help="the excerpts' seed (default 1)")
    parser.add_argument("--per-performance", type=int, default=2, help="excerpts per performance and length")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N rows of metadata.csv")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"{args.corpus} has no metadata.csv: not a folder in ASAP's layout")
    result = evaluate(args.corpus, args.seed, args.per_performance, args.limit)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'condition':<28} {'top-1':>7} {'MRR':>7} {'PCP top-1':>10} {'PCP MRR':>8}")
    for key, row in result["table"].items():
        print(f"{key:<28} {row['top1']:7.3f} {row['mrr']:7.3f} {row['baseline_top1']:10.3f} {row['baseline_mrr']:8.3f}")
    s = result["speed"]
    print(f"read {s['read_mb_per_s']:.1f} MB/s, embed {s['embed_mb_per_s']:.1f} MB/s "
          f"(embedding costs {s['embed_over_read']:.2f}x reading)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

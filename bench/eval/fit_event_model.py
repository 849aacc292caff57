"""Fits the tempo estimator's event model: the probability that a beat falls on an onset event.

    build/bin/tempo_key_eval ../shared/corpus/asap --dump-events events.tsv
    python bench/eval/fit_event_model.py events.tsv > event_models.txt
    build/bin/tempo_key_eval ../shared/corpus/asap --event-models event_models.txt

``events.tsv`` has one line per onset event (performance, fold, time in seconds, then the
``tempo_event_feature_count`` features of ``continuo::tempo_event``); ``events.tsv.beats`` one line per
annotated beat (performance, time in seconds). An event is a beat when an annotated beat lies within
``--tolerance`` seconds of it. The model is a logistic regression on the features and their pairwise
products (``continuo::tempo_event_model``: bias, linear weights, then x_i x_j for i <= j), fitted by
Newton's method with a small L2 penalty on standardised features.

The output has one line of weights per fold, fitted without that fold's performances, then one line
fitted on all of them (the shipped ``default_tempo_event_model``). The cross-validated AUC, against
the velocity weight the tracker used before, goes to stderr with the progress.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def products(x: Array) -> Array:
    """The features followed by their pairwise products x_i x_j, i <= j, in row order."""
    n = x.shape[1]
    return np.hstack([x] + [x[:, i : i + 1] * x[:, i:] for i in range(n)])


def fit(x: Array, y: Array, l2: float = 1e-4, iterations: int = 15) -> Array:
    """Logistic regression by Newton's method; returns [bias, weights] on the raw features."""
    mean = x.mean(axis=0)
    sd = x.std(axis=0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / sd])
    w = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) / len(y) + l2 * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z / len(y) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    raw = w[1:] / sd
    return np.concatenate([[w[0] - mean @ raw], raw])


def auc(score: Array, y: Array) -> float:
    """Area under the ROC curve (the rank statistic)."""
    order = np.argsort(score, kind="stable")
    rank = np.empty(len(score))
    rank[order] = np.arange(1, len(score) + 1)
    positives = y.sum()
    negatives = len(y) - positives
    return float((rank[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def labels(item: npt.NDArray[np.int64], time_s: Array, beats: Array, tolerance_s: float) -> Array:
    """1 for the events within tolerance_s of an annotated beat of their performance, else 0."""
    y = np.zeros(len(time_s))
    for i in np.unique(item):
        b = np.sort(beats[beats[:, 0] == i, 1])
        if len(b) == 0:
            continue
        mask = item == i
        t = time_s[mask]
        j = np.searchsorted(b, t)
        before = b[np.clip(j - 1, 0, len(b) - 1)]
        after = b[np.clip(j, 0, len(b) - 1)]
        y[mask] = np.minimum(np.abs(t - before), np.abs(t - after)) <= tolerance_s
    return y


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Fits the tempo estimator's event model (the probability that a beat falls on an onset "
        "event) on the events that tempo_key_eval --dump-events wrote; prints one line of weights per "
        "held-out fold, then one fitted on all."
    )
    parser.add_argument("events", help="the file written by tempo_key_eval --dump-events")
    parser.add_argument("--tolerance", type=float, default=0.05, help="seconds from a beat (default 0.05)")
    args = parser.parse_args()

    print(f"reading {args.events} ...", file=sys.stderr)
    table = np.loadtxt(args.events)
    beats = np.loadtxt(args.events + ".beats", ndmin=2)
    item = table[:, 0].astype(np.int64)
    fold = table[:, 1].astype(np.int64)
    features = table[:, 3:]
    y = labels(item, table[:, 2], beats, args.tolerance)
    x = products(features)
    folds = int(fold.max()) + 1
    print(f"{len(y)} events, {y.mean():.3f} on a beat, {x.shape[1]} terms, {folds} folds", file=sys.stderr)

    held_out_score = np.zeros(len(y))
    models = []
    for f in range(folds + 1):
        train = fold != f
        print(f"fitting {'fold %d' % f if f < folds else 'all'} ...", file=sys.stderr)
        model = fit(x[train], y[train])
        models.append(model)
        if f < folds:
            held_out_score[~train] = model[0] + x[~train] @ model[1:]
    velocity_weight = np.exp(features[:, 0]) * (1 + features[:, 1])
    print(
        f"AUC, beat or not: velocity weight {auc(velocity_weight, y):.4f}, "
        f"event model (CV by piece) {auc(held_out_score, y):.4f}",
        file=sys.stderr,
    )
    for model in models:
        print(" ".join(f"{v:.8g}" for v in model))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score-free passage discovery, measured on simulated practice with known drills.

    python bench/eval/passages.py CORPUS [--json] [--seed N] [--days N] [--pieces N]

CORPUS is any folder in ASAP's layout. The practice simulator (tools/practice-sim) turns ``--pieces``
performances drawn from it (fixed seed; few, so that pieces come back across days) into ``--days`` days of
practice: warm-ups, run-throughs with restarts, and drills (a 2-4 bar range played 3-8 times, slower first);
every day is one session input. ``continuo.passages`` runs on all days at once, with no piece registered.
Each found occurrence is mapped to the true attempt it lies in, and from there to the piece and bars it
covers. Reported: the share of true drill blocks found (some group holds at least two of its attempts), the
share of drill attempts assigned to their block's group, group purity (occurrences of the group's piece
overlapping its bars), agreement of the tempo trend's sign within each found drill, the median error of the
tempo ratio, and how many occurrences got a confident bpm. Progress goes to stderr; the result to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np

import continuo

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "practice-sim"))
import practice_sim  # noqa: E402  (the simulator's module, beside its script)

Label = tuple[str, int, int]  # piece, first bar, one past the last bar covered


def occurrence_label(attempt: practice_sim.Attempt, piece: practice_sim.Piece, start_s: float, end_s: float) -> Label:
    """Returns the bars an occurrence covers, from its times within the attempt (tempo factor undone)."""
    assert attempt.bars is not None and attempt.piece is not None
    begin = float(piece.downbeats_s[attempt.bars[0]])
    first_note = float(piece.onset_s[piece.onset_s >= begin].min(initial=begin))

    def to_piece(t: float) -> float:
        return first_note + (t - attempt.start_s) * attempt.tempo_factor

    lo = int(np.searchsorted(piece.downbeats_s, to_piece(start_s) + 1e-3, side="right")) - 1
    hi = int(np.searchsorted(piece.downbeats_s, to_piece(end_s) - 1e-3, side="right"))
    return attempt.piece, max(lo, 0), max(hi, lo + 1)


def overlaps(a: Label, b: Label) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def evaluate(corpus: Path, seed: int, days: int, n_pieces: int) -> dict[str, Any]:
    started = time.monotonic()
    pieces = practice_sim.load_pieces(corpus, progress=True)
    usable = [p for p in pieces if p.bar_count >= 8]
    chosen = [usable[int(k)] for k in np.random.default_rng(seed).choice(len(usable), size=min(n_pieces, len(usable)), replace=False)]
    by_name = {p.name: p for p in chosen}
    simulator = practice_sim.Simulator(chosen, seed=seed)
    sessions: list[tuple[str, float, continuo.Performance]] = []
    truth: list[list[practice_sim.Attempt]] = []
    blocks: list[list[tuple[int, int]]] = []  # drill blocks: (day, attempt index) lists
    for d in range(days):
        print(f"\rsimulating day {d + 1}/{days}", end="", file=sys.stderr)
        day = simulator.day(d)
        sessions.append((f"day_{d:03d}", d * 86_400.0, day.performance()))
        attempts = [a for s in day.sessions for a in s.attempts]
        truth.append(attempts)
        for k, a in enumerate(attempts):
            previous = attempts[k - 1] if k > 0 else None
            same = previous is not None and previous.kind == "drill" and (previous.piece, previous.bars) == (a.piece, a.bars)
            if a.kind == "drill":
                if same:
                    blocks[-1].append((d, k))
                else:
                    blocks.append([(d, k)])
    print(file=sys.stderr)
    print("finding passages", file=sys.stderr)
    t0 = time.monotonic()
    found = continuo.passages(sessions)
    discovery_s = time.monotonic() - t0

    # Map occurrences to true attempts and labels.
    owner: dict[tuple[int, int], set[int]] = defaultdict(set)  # (day, attempt) -> groups
    group_labels: list[list[Optional[Label]]] = []
    group_ratio: dict[tuple[int, int, int], float] = {}
    bpm_count = n_occ = 0
    for g, passage in enumerate(found):
        labels: list[Optional[Label]] = []
        for o in passage.occurrences:
            n_occ += 1
            bpm_count += o.bpm > 0
            d = int(o.session[4:])
            middle = 0.5 * (o.start_s + o.end_s)
            inside = [i for i, a in enumerate(truth[d]) if a.start_s - 0.5 <= middle <= a.end_s + 0.5]
            if not inside:
                labels.append(None)
                continue
            k = inside[0]
            owner[(d, k)].add(g)
            group_ratio.setdefault((g, d, k), o.tempo_ratio)
            a = truth[d][k]
            labels.append(occurrence_label(a, by_name[a.piece], o.start_s, o.end_s) if a.piece and a.bars else None)
        group_labels.append(labels)

    found_blocks = assigned = drill_attempts = 0
    sign_agree = sign_total = 0
    ratio_errors: list[float] = []
    drill_groups: set[int] = set()
    block_label: dict[int, Label] = {}
    for block in blocks:
        drill_attempts += len(block)
        votes = Counter(g for key in block for g in owner.get(key, ()))
        if not votes:
            continue
        g, held = votes.most_common(1)[0]
        assigned += held
        if held >= 2:
            found_blocks += 1
            drill_groups.add(g)
            first = truth[block[0][0]][block[0][1]]
            assert first.piece is not None and first.bars is not None
            block_label.setdefault(g, (first.piece, first.bars[0], first.bars[1]))
        # Tempo: ratios between the block's attempts held by g, against the true factors.
        pairs = [(truth[d][k].tempo_factor, group_ratio[(g, d, k)]) for d, k in block if (g, d, k) in group_ratio]
        if len(pairs) >= 3:
            true_f = np.array([p[0] for p in pairs])
            est = np.array([p[1] for p in pairs])
            sign_total += 1
            sign_agree += int(np.sign(np.polyfit(np.arange(len(est)), np.log(est), 1)[0]) ==
                              np.sign(np.polyfit(np.arange(len(true_f)), np.log(true_f), 1)[0]))  # fmt: skip
            ratio_errors.extend(np.abs((est / est[0]) / (true_f / true_f[0]) - 1.0)[1:].tolist())

    pure = total = 0
    for g, labels in enumerate(group_labels):
        known = [lab for lab in labels if lab is not None]
        if not known:
            continue
        reference = block_label.get(g) or Counter(lab for lab in known).most_common(1)[0][0]
        pure += sum(overlaps(lab, reference) for lab in known)
        total += len(known)

    return {
        "corpus": str(corpus),
        "seed": seed,
        "days": days,
        "pieces": len(chosen),
        "n_attempts": sum(len(t) for t in truth),
        "n_drill_blocks": len(blocks),
        "n_drill_attempts": drill_attempts,
        "n_groups": len(found),
        "n_occurrences": n_occ,
        "drill_blocks_found": found_blocks / len(blocks) if blocks else 0.0,
        "drill_attempts_assigned": assigned / drill_attempts if drill_attempts else 0.0,
        "group_purity": pure / total if total else 0.0,
        "groups_holding_a_drill": len(drill_groups) / len(found) if found else 0.0,
        "tempo_trend_sign_agreement": sign_agree / sign_total if sign_total else 0.0,
        "n_tempo_trends": sign_total,
        "tempo_ratio_median_error": float(np.median(ratio_errors)) if ratio_errors else 0.0,
        "occurrences_with_bpm": bpm_count / n_occ if n_occ else 0.0,
        "discovery_seconds": round(discovery_s, 2),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="a folder in ASAP's layout")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default prints lines)")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's and the piece draw's seed (default 1)")
    parser.add_argument("--days", type=int, default=6, help="days of practice (default 6)")
    parser.add_argument("--pieces", type=int, default=8, help="performances practised (default 8)")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        parser.error(f"{args.corpus} has no metadata.csv: not a folder in ASAP's layout")
    result = evaluate(args.corpus, args.seed, args.days, args.pieces)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            print(f"{key:<28} {value:.3f}" if isinstance(value, float) else f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/eval/identify.py: its interface (the project's checks call it) on a tiny corpus in ASAP's layout
built here, and on the real corpus when CONTINUO_CORPUS is set."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import continuo
from corpus_support import require_asap

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "eval" / "identify.py"
KEYS = ("n_queries", "top1_30s", "top1_10s", "mrr_30s", "bar_within1_30s", "bar_within1_10s", "baseline_top1_30s")


def write_piece(folder: Path, seed: int, performances: int) -> list[dict[str, str]]:
    """A score of 48 bars of 4/4 at 120 bpm and `performances` renditions at other tempi, with the
    annotations ASAP gives (a beat per line, 'db' on downbeats)."""
    rng = np.random.default_rng(seed)
    onset: list[float] = []
    pitch: list[int] = []
    melody = 72
    for b in range(48):
        for beat in range(4):
            root = 48 + int(rng.integers(0, 12))
            onset += [b * 2.0 + beat * 0.5] * 2
            pitch += [root, root + 7]
        beats = 0.0
        while beats < 4:
            onset.append(b * 2.0 + beats * 0.5)
            pitch.append(melody)
            beats += float(rng.choice([0.25, 0.5, 0.5, 0.75, 1.0]))
            melody = int(np.clip(melody + rng.integers(-4, 5), 62, 90))
    on = np.asarray(onset)
    folder.mkdir(parents=True)
    beats_s = np.arange(48 * 4) * 0.5

    def annotations(scale: float) -> str:
        return "".join(f"{t * scale}\t{t * scale}\t{'db' if k % 4 == 0 else 'b'}\n" for k, t in enumerate(beats_s))

    continuo.from_notes({"onset_s": on, "offset_s": on + 0.3, "pitch": pitch}).write(folder / "midi_score.mid")
    (folder / "midi_score_annotations.txt").write_text(annotations(1.0))
    rows = []
    for k in range(performances):
        scale = 1.1 + 0.1 * k  # played a little slower than the score's tempo
        t = on * scale + rng.normal(0, 0.01, len(on))
        order = np.argsort(t, kind="stable")
        name = f"perf{k}"
        continuo.from_notes({"onset_s": np.maximum(t[order], 0), "offset_s": np.maximum(t[order], 0) + 0.3,
                             "pitch": np.asarray(pitch)[order]}).write(folder / f"{name}.mid")  # fmt: skip
        (folder / f"{name}_annotations.txt").write_text(annotations(scale))
        rel = folder.relative_to(folder.parents[1])
        rows.append({"composer": "Tester", "title": f"Piece_{seed}", "folder": str(rel),
                     "midi_score": f"{rel}/midi_score.mid", "midi_performance": f"{rel}/{name}.mid",
                     "performance_annotations": f"{rel}/{name}_annotations.txt",
                     "midi_score_annotations": f"{rel}/midi_score_annotations.txt"})  # fmt: skip
    return rows


def run(corpus: Path, *extra: str) -> tuple[dict[str, object], str]:
    done = subprocess.run([sys.executable, str(SCRIPT), str(corpus), "--json", "--seed", "2", *extra],
                          capture_output=True, text=True, timeout=600, check=True)  # fmt: skip
    return json.loads(done.stdout), done.stderr


def test_prints_one_json_object_on_a_tiny_corpus(tmp_path: Path) -> None:
    rows: list[dict[str, str]] = []
    for seed in range(4):
        rows += write_piece(tmp_path / "Tester" / f"piece{seed}", seed, performances=2)
    with open(tmp_path / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result, stderr = run(tmp_path)
    for key in KEYS:
        assert key in result, key
    assert result["n_queries"] == 8 * 2 * 2
    assert result["top1_30s"] == 1.0 and result["top1_10s"] == 1.0
    assert result["bar_within1_30s"] == 1.0 and result["bar_within1_10s"] == 1.0
    assert isinstance(result["baseline"], dict) and "top1_30s" in result["baseline"]
    assert result["unknown_rate_30s"] == 1.0  # the held-out piece is reported unknown
    assert "querying" in stderr


def test_on_the_real_corpus() -> None:
    asap = require_asap()
    result, _ = run(asap, "--limit", "30", "--per-performance", "1", "--drills", "1")
    for key in KEYS:
        assert key in result, key
    top1 = result["top1_30s"]
    assert isinstance(top1, float) and top1 >= 0.8
    drills = result["drills"]
    assert isinstance(drills, dict) and drills["n_drill_piece"] > 0

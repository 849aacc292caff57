"""bench/eval/tempo_key.py: its interface (the project's checks call it), on a corpus built here and on ASAP."""

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
SCRIPT = ROOT / "bench" / "eval" / "tempo_key.py"
KEYS = ("n", "key_signature_accuracy", "key_signature_accuracy_30s", "tempo_acc1", "tempo_acc2", "tempo_acc2_30s")


def run(corpus: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(corpus), "--json", *args], capture_output=True, text=True, timeout=300,
        check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout)
    assert "estimated" in done.stderr  # progress goes to stderr
    return result


def write_piece(folder: Path, name: str, transpose: int, bpm: float) -> dict[str, str]:
    """A 70 s metronomic scale in the key `transpose` fifths up from C, with ASAP-style annotations."""
    beat_s = 60.0 / bpm
    onsets = np.arange(0.0, 70.0, beat_s)
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]) + (7 * transpose) % 12
    pitch = scale[np.arange(len(onsets)) % len(scale)]
    perf = continuo.from_notes({"onset_s": onsets, "offset_s": onsets + 0.8 * beat_s, "pitch": pitch, "velocity": 64})
    folder.mkdir(parents=True)
    perf.write(folder / f"{name}.mid")
    sharps = (7 * transpose) % 12
    sharps = sharps - 12 if sharps > 5 else sharps
    lines = [f"{t}\t{t}\t{'db,4/4,' + str(sharps) if k == 0 else ('db' if k % 4 == 0 else 'b')}"
             for k, t in enumerate(onsets)]  # fmt: skip
    (folder / f"{name}_annotations.txt").write_text("\n".join(lines) + "\n")
    relative = folder.name
    return {"midi_performance": f"{relative}/{name}.mid", "performance_annotations": f"{relative}/{name}_annotations.txt"}


def test_measures_a_corpus_in_asaps_layout(tmp_path: Path) -> None:
    rows = [write_piece(tmp_path / "a", "p1", 0, 120.0), write_piece(tmp_path / "b", "p2", 2, 90.0)]
    with open(tmp_path / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["composer", "title", "midi_performance", "performance_annotations"])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({"composer": "Test", "title": f"Scale {i}", **row})
    result = run(tmp_path)
    assert all(key in result for key in KEYS)
    assert result["n"] == 2 and result["n_windows_30s"] == 6
    assert result["key_signature_accuracy"] == 1.0 and result["key_signature_accuracy_30s"] == 1.0
    assert result["tempo_acc2"] == 1.0 and result["tempo_acc2_30s"] == 1.0


def test_rejects_a_folder_without_metadata(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no metadata.csv" in done.stderr


def test_measures_asap() -> None:
    asap = require_asap()
    result = run(asap, "--limit", "60")
    assert result["n"] == 60
    baseline = result["baseline"]
    assert isinstance(baseline, dict)
    # Far above the baselines of the same run: a regression in an estimator shows here.
    assert result["key_signature_accuracy_30s"] > baseline["key_signature_accuracy_30s"]
    assert result["tempo_acc2"] > baseline["tempo_acc2"]

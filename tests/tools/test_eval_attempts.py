"""bench/eval/attempts.py: its interface (the project's checks call it) on a small simulation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from corpus_support import require_asap


ROOT = Path(__file__).resolve().parents[2]


def test_prints_one_json_object_with_the_named_fields() -> None:
    asap = require_asap()
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval" / "attempts.py"), str(asap), "--json",
         "--seed", "3", "--days", "2"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout)
    for key in ("n_sessions", "attempt_f1", "baseline_attempt_f1", "attempt_f1_by_gap", "performances_cut_by_gap"):
        assert key in result
    assert result["n_sessions"] >= 2
    assert 0 < result["attempt_f1"] <= 1 and 0 < result["baseline_attempt_f1"] <= 1
    assert "day 2/2" in run.stderr  # progress goes to stderr

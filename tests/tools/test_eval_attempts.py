"""bench/eval/attempts.py: its interface (the project's checks call it) on a small simulation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_prints_one_json_object_with_the_named_fields() -> None:
    corpus = os.environ.get("CONTINUO_CORPUS")
    if not corpus or not (Path(corpus) / "asap" / "metadata.csv").is_file():
        if os.environ.get("CONTINUO_REQUIRE_CORPUS") == "1":
            pytest.fail("CONTINUO_CORPUS is required but has no asap/metadata.csv")
        pytest.skip("set CONTINUO_CORPUS=../shared/corpus to evaluate on ASAP")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval" / "attempts.py"), str(Path(corpus) / "asap"), "--json",
         "--seed", "3", "--days", "2"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout)
    for key in ("n_sessions", "attempt_f1", "baseline_attempt_f1", "attempt_f1_by_gap", "performances_cut_by_gap"):
        assert key in result
    assert result["n_sessions"] >= 2
    assert 0 < result["attempt_f1"] <= 1 and 0 < result["baseline_attempt_f1"] <= 1
    assert "day 2/2" in run.stderr  # progress goes to stderr

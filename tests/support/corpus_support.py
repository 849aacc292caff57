"""Helpers shared by the pytest suites: the shared corpus, and MIDI bytes built by hand."""

from __future__ import annotations

import os
import pathlib

import pytest


def corpus_dir() -> pathlib.Path | None:
    """Returns the shared corpus folder from CONTINUO_CORPUS, or None when it is unset or missing."""
    value = os.environ.get("CONTINUO_CORPUS")
    if value and pathlib.Path(value).is_dir():
        return pathlib.Path(value)
    return None


def require_corpus() -> pathlib.Path:
    """Returns the corpus folder, or skips the test (fails it with CONTINUO_REQUIRE_CORPUS=1)."""
    root = corpus_dir()
    if root is None:
        if os.environ.get("CONTINUO_REQUIRE_CORPUS") == "1":
            pytest.fail("CONTINUO_REQUIRE_CORPUS=1 but CONTINUO_CORPUS is unset or not a folder")
        pytest.skip("the corpus tests need CONTINUO_CORPUS=<path to shared/corpus>")
    return root


def require_asap() -> pathlib.Path:
    """Returns the corpus's asap folder (ASAP's layout, for the evaluation scripts), or skips the test
    (fails it with CONTINUO_REQUIRE_CORPUS=1)."""
    asap = require_corpus() / "asap"
    if not (asap / "metadata.csv").is_file():
        pytest.fail(f"{asap} has no metadata.csv: the shared corpus is incomplete")
    return asap


def vlq(value: int) -> bytes:
    """Returns the variable-length quantity encoding of `value`."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.insert(0, (value & 0x7F) | 0x80)
        value >>= 7
    return bytes(out)

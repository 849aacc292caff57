"""Helpers of the Python package's tests: where the shared corpus is, and how its absence shows.

Named apart from tests/cli's helpers, so that both suites can run in one pytest session."""

from __future__ import annotations

import os
import pathlib

import pytest


def corpus_dir() -> pathlib.Path | None:
    """Returns the shared corpus folder, or None when CONTINUO_CORPUS is unset or missing."""
    folder = os.environ.get("CONTINUO_CORPUS")
    if folder and pathlib.Path(folder).is_dir():
        return pathlib.Path(folder)
    return None


def corpus_files(*parts: str, pattern: str = "*.mid") -> list[pathlib.Path]:
    """Returns the files under corpus/<parts> matching `pattern` (recursively), sorted."""
    root = corpus_dir()
    if root is None:
        return []
    return sorted(p for p in root.joinpath(*parts).rglob(pattern) if p.is_file())


def require_corpus() -> pathlib.Path:
    """Returns the corpus folder, or skips the test (fails it with CONTINUO_REQUIRE_CORPUS=1)."""
    root = corpus_dir()
    if root is None:
        if os.environ.get("CONTINUO_REQUIRE_CORPUS") == "1":
            pytest.fail("CONTINUO_REQUIRE_CORPUS=1 but CONTINUO_CORPUS is unset or not a folder")
        pytest.skip("corpus tests need CONTINUO_CORPUS=<path to shared/corpus>")
    return root

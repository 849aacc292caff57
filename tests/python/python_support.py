"""Helpers of the Python package's tests: where the shared corpus is, and how its absence shows.

Named apart from tests/cli's helpers, so that both suites can run in one pytest session."""

from __future__ import annotations

import pathlib

from corpus_support import corpus_dir as corpus_dir, require_corpus as require_corpus  # re-exported


def corpus_files(*parts: str, pattern: str = "*.mid") -> list[pathlib.Path]:
    """Returns the files under corpus/<parts> matching `pattern` (recursively), sorted."""
    root = corpus_dir()
    if root is None:
        return []
    return sorted(p for p in root.joinpath(*parts).rglob(pattern) if p.is_file())

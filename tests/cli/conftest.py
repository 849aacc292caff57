"""Fixtures of the command-line tests: the binary (CONTINUO_BIN) and the corpus (CONTINUO_CORPUS)."""

from __future__ import annotations

import pathlib

import pytest

import cli_support


@pytest.fixture(scope="session")
def continuo_bin() -> pathlib.Path:
    return cli_support.binary()


@pytest.fixture(scope="session")
def corpus() -> pathlib.Path:
    return cli_support.require_corpus()

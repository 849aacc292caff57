"""The examples in README.md and docs/ run as written, so that the docs cannot drift from the API.

- Python: each document's examples run in order in one namespace, in a folder holding the MIDI files
  they name (take.mid, day.mid, ...); blocks of ``>>>`` lines are doctests, their printed output
  compared (``...`` matches anything). Documents whose doctests read the shared corpus need
  CONTINUO_CORPUS.
- C++: each example compiles (``-fsyntax-only``, every template instantiated) as the body of a
  function, with its ``#include`` lines hoisted and the names it takes as given (``bytes``, ``take``,
  ``use(...)``) declared in tests/docs/context.hpp. Errors point at the document's line.

A block is left out by an HTML comment on the line before its fence: ``<!-- not run: why -->``.
"""

from __future__ import annotations

import datetime
import doctest
import os
import pickle
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import continuo
from corpus_support import corpus_dir, require_corpus

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\s*$")
NOT_RUN = re.compile(r"^<!-- not run: .+ -->$")


@dataclass
class Block:
    document: Path
    line: int  # of the block's first line of code, 1-based
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path, language: str) -> list[Block]:
    """The fenced blocks of `language` in `document`, but those marked not to run."""
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        marked = i > 0 and NOT_RUN.match(lines[i - 1].strip())
        if fence.group(1) == language and not marked:
            found.append(Block(document, i + 2, language, "\n".join(lines[i + 1 : end]) + "\n"))
        i = end + 1
    return found


def documents_with(language: str) -> list[Path]:
    return [d for d in DOCUMENTS if blocks(d, language)]


# ---- Python ---------------------------------------------------------------------------------------


def make_files(folder: Path) -> None:
    """The MIDI files the examples name: two minutes of an arpeggiated piece (prelude.mid) and takes of
    it, played a little unevenly at other tempi."""
    rng = np.random.default_rng(7)
    chords = [[60, 64, 67, 72, 76], [60, 62, 69, 74, 77], [59, 62, 67, 74, 77], [60, 64, 67, 72, 76]]
    pitch = np.array([p for bar in range(48) for p in chords[bar % 4] * 4])  # sixteenths, 48 bars
    onset = np.arange(len(pitch)) * 0.125
    score = {"onset_s": onset, "offset_s": onset + 0.4, "pitch": pitch, "velocity": 70}
    continuo.from_notes(score).write(str(folder / "prelude.mid"))
    for name, scale in [("take.mid", 1.0), ("day.mid", 1.05), ("may1.mid", 1.1), ("today.mid", 0.95)]:
        played = onset * scale + rng.normal(0, 0.01, len(onset)).clip(-0.03, 0.03)
        played += 1.0 - played.min()  # the jitter is smaller than half a sixteenth: the order stays
        take = {"onset_s": played, "offset_s": played + 0.35, "pitch": pitch,
                "velocity": rng.integers(50, 90, len(pitch))}
        continuo.from_notes(take).write(str(folder / name))


def context(folder: Path) -> dict[str, object]:
    """The names the Python examples take as given, beside the files of make_files."""
    make_files(folder)
    take = continuo.read(str(folder / "take.mid"))
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20, 256)).astype(np.float32)
    return {
        "__name__": "__docs__",
        "continuo": continuo,
        "datetime": datetime.datetime,
        "path": str(folder / "take.mid"),
        "paths": [str(folder / n) for n in ("take.mid", "day.mid")],
        "monday": take,
        "tuesday": continuo.read(str(folder / "day.mid")),
        "start_ns": 1_714_579_200_000_000_000,
        "t_ns": 1_000_000_000,
        "t2_ns": 1_500_000_000,
        "now_ns": 9_000_000_000,
        "pickle": pickle,
        "ids": np.arange(20),
        "vectors": vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        "piece_ids": np.arange(20) % 8,
        "starts_ns": np.arange(20) * 86_400_000_000_000,
        "queries": vectors[:3],
        "t0": 0,
        "t1": 10 * 86_400_000_000_000,
    }


def run_doctest(block: Block, namespace: dict[str, object]) -> None:
    test = doctest.DocTestParser().get_doctest(block.code, namespace, block.where, str(block.document), block.line - 1)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # the next doctest of the document goes on from here
    if runner.failures:
        pytest.fail(f"{block.where}: the doctest's output differs:\n" + "".join(report), pytrace=False)


def run_script(block: Block, namespace: dict[str, object]) -> None:
    # Blank lines in front, so that a traceback names the document's own line.
    code = compile("\n" * (block.line - 1) + block.code, str(block.document), "exec")
    exec(code, namespace)  # noqa: S102 - the examples are this repository's own docs


@pytest.mark.parametrize("document", documents_with("python"), ids=lambda d: str(d.relative_to(ROOT)))
def test_python_examples_run(document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = context(tmp_path)
    doctests: dict[str, object] = {"continuo": continuo, "corpus": corpus_dir()}
    for block in blocks(document, "python"):
        if ">>>" in block.code:
            if doctests["corpus"] is None and "corpus" in block.code:
                require_corpus()  # skips, with the reason, or fails when the corpus is required
            run_doctest(block, doctests)
        else:
            run_script(block, namespace)


# ---- C++ ------------------------------------------------------------------------------------------


def translation_unit(all_blocks: list[Block]) -> str:
    """One source file: each block the body of a function of its own, its #include lines hoisted."""
    includes: list[str] = []
    bodies: list[str] = []
    for n, block in enumerate(all_blocks):
        body: list[str] = []
        for line in block.code.splitlines():
            if line.startswith("#include"):
                includes.append(line)
                body.append("")  # keeps the line numbers
            else:
                body.append(line)
        bodies.append(
            f"namespace example_{n} {{\nusing namespace docs_context;\n[[maybe_unused]] void run() {{\n"
            f'#line {block.line} "{block.document.relative_to(ROOT)}"\n' + "\n".join(body) + "\n}\n}\n"
        )
    return '#include "context.hpp"\n' + "\n".join(sorted(set(includes))) + "\n\n" + "\n".join(bodies)


def test_cpp_examples_compile(tmp_path: Path) -> None:
    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if compiler is None:
        pytest.fail("no C++ compiler (c++, g++, clang++) on PATH: set CXX")
    all_blocks = [b for d in DOCUMENTS for b in blocks(d, "cpp")]
    assert all_blocks, "README.md and docs/ have C++ examples"
    source = tmp_path / "examples.cpp"
    source.write_text(translation_unit(all_blocks), encoding="utf-8")
    result = subprocess.run(
        [compiler, "-std=c++20", "-fsyntax-only", "-Wall", "-Wno-unused", f"-I{ROOT / 'include'}",
         f"-I{ROOT / 'tests' / 'docs'}", str(source)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{len(all_blocks)} C++ examples, and some do not compile:\n{result.stderr}", pytrace=False)

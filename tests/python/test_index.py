"""continuo.Index against numpy brute force and FAISS IndexFlatIP: results, filters, files, threads."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import continuo

DIM = 32


def unit_rows(n: int, dim: int = DIM, seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    unit: npt.NDArray[np.float32] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def brute_force(data: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    scores = queries.astype(np.float64) @ data.astype(np.float64).T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def data() -> npt.NDArray[np.float32]:
    return unit_rows(2000)


@pytest.fixture(scope="module")
def index(data: npt.NDArray[np.float32]) -> continuo.Index:
    ix = continuo.Index(DIM)
    ix.add(np.arange(len(data)), data, group=np.arange(len(data)) % 5, time_ns=np.arange(len(data)) * 10)
    return ix


def test_matches_numpy_brute_force(index: continuo.Index, data: npt.NDArray[np.float32]) -> None:
    queries = unit_rows(50, seed=1)
    ids, scores = index.search(queries, k=10)
    assert ids.shape == scores.shape == (50, 10)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_array_equal(ids, brute_force(data, queries, 10))
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ data.T, ids, axis=1), atol=1e-5)


def test_matches_faiss_index_flat_ip(index: continuo.Index, data: npt.NDArray[np.float32]) -> None:
    faiss = pytest.importorskip("faiss")
    flat = faiss.IndexFlatIP(DIM)
    flat.add(data)
    queries = unit_rows(100, seed=2)
    expected_scores, expected_ids = flat.search(queries, 10)
    ids, scores = index.search(queries, k=10)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)


def test_pads_rows_with_fewer_than_k_hits() -> None:
    ix = continuo.Index(4)
    ix.add([7, 8], np.eye(4, dtype=np.float32)[:2])
    ids, scores = ix.search(np.eye(4, dtype=np.float32)[0], k=4)
    assert ids.tolist() == [[7, 8, -1, -1]]
    assert scores[0, 0] == pytest.approx(1.0) and np.isneginf(scores[0, 2:]).all()
    empty_ids, _ = continuo.Index(4).search(np.ones(4), k=3)
    assert empty_ids.tolist() == [[-1, -1, -1]]


def test_filters_by_group_groups_and_time(index: continuo.Index, data: npt.NDArray[np.float32]) -> None:
    query = unit_rows(1, seed=3)
    n = np.arange(len(data))
    cases = [
        ({"group": 2}, n % 5 == 2),
        ({"groups": [1, 4]}, np.isin(n % 5, [1, 4])),
        ({"time_from_ns": 5000, "time_to_ns": 8000}, (n * 10 >= 5000) & (n * 10 < 8000)),
        ({"group": 3, "time_to_ns": 3000}, (n % 5 == 3) & (n * 10 < 3000)),
    ]
    for kwargs, keep in cases:
        ids, _ = index.search(query, k=10, **kwargs)  # type: ignore[arg-type]
        subset = np.flatnonzero(keep)
        np.testing.assert_array_equal(ids[0], subset[brute_force(data[subset], query, 10)[0]])
    assert (index.search(query, k=5, groups=[])[0] == -1).all()


def test_adds_removes_and_replaces() -> None:
    ix = continuo.Index(3, storage="int8")
    ix.add([1, 2, 3], np.eye(3), group=[10, 20, 30], time_ns=5)
    assert len(ix) == 3 and 2 in ix and 4 not in ix and "x" not in ix
    assert ix.metadata(2) == (20, 5)
    ix.add(1, [0.0, 0.0, 2.0], group=11)  # replaces 1
    assert len(ix) == 3 and ix.metadata(1) == (11, 0)
    assert ix.search([0, 0, 1], k=2)[0].tolist() == [[1, 3]]
    assert ix.remove([1, 99]) == 1
    assert sorted(ix.ids.tolist()) == [2, 3]
    with pytest.raises(KeyError):
        ix.metadata(1)
    for no_id in (-1, 2**64):  # no id can be these: absent, like any other
        with pytest.raises(KeyError):
            ix.metadata(no_id)
        with pytest.raises(KeyError):
            ix.vector(no_id)


def test_rejects_bad_input_with_its_position() -> None:
    ix = continuo.Index(4)
    with pytest.raises(continuo.IndexDataError) as error:
        ix.add([1, 2], np.array([[1, 0, 0, 0], [0, 1, np.nan, 0]]))
    assert error.value.name == "index.value_not_finite" and error.value.offset == 2
    assert len(ix) == 0  # nothing half-added
    with pytest.raises(continuo.IndexDataError, match="norm 0"):
        ix.add(1, np.zeros(4))
    with pytest.raises(ValueError):
        ix.add([1], np.ones((1, 5)))
    with pytest.raises(ValueError):
        ix.add([-1], np.ones((1, 4)))
    with pytest.raises(ValueError):
        ix.search(np.ones(3))
    with pytest.raises(continuo.IndexDataError) as error:
        ix.search(np.array([1, 0, 0, np.inf]))
    assert error.value.name == "index.value_not_finite"
    with pytest.raises(continuo.IndexDataError):
        continuo.Index(0)
    with pytest.raises(ValueError):
        continuo.Index(4, storage="float16")  # type: ignore[arg-type]


def test_int8_keeps_recall_at_10(data: npt.NDArray[np.float32]) -> None:
    compact = continuo.Index(DIM, storage="int8")
    compact.add(np.arange(len(data)), data)
    rng = np.random.default_rng(4)
    queries = data[:100] + 0.3 * rng.standard_normal((100, DIM)).astype(np.float32)
    truth = brute_force(data, queries.astype(np.float32), 10)
    ids, _ = compact.search(queries, k=10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)])
    assert recall >= 0.97
    exact = continuo.Index(DIM)
    exact.add(np.arange(len(data)), data)
    assert compact.bytes_per_vector < exact.bytes_per_vector - 2 * DIM  # 1 byte per value (and a scale), not 4


@pytest.mark.parametrize("storage", ["float32", "int8"])
def test_round_trips_through_pickle_bytes_and_files(storage: str, tmp_path: Path, data: npt.NDArray[np.float32]) -> None:
    ix = continuo.Index(DIM, storage=storage)  # type: ignore[arg-type]
    ix.add(np.arange(300), data[:300], group=3, time_ns=np.arange(300))
    ix.remove([5, 17])
    queries = unit_rows(5, seed=5)
    expected = ix.search(queries, k=7)
    for copy in (
        pickle.loads(pickle.dumps(ix)),
        continuo.Index.from_bytes(ix.to_bytes()),
        continuo.Index.from_bytes(bytearray(ix.to_bytes())),
    ):
        assert copy.to_bytes() == ix.to_bytes()
        np.testing.assert_array_equal(copy.search(queries, k=7)[0], expected[0])
    path = tmp_path / "index.cntidx"
    ix.save(path)
    loaded = continuo.Index.load(path)
    assert loaded.to_bytes() == ix.to_bytes() and len(loaded) == 298
    assert repr(loaded).startswith(f"<continuo.Index: 298 vectors of dimension {DIM}, {storage}")


def test_rejects_damaged_files_with_the_offset() -> None:
    ix = continuo.Index(4)
    ix.add([1, 2], np.eye(4)[:2])
    good = ix.to_bytes()
    for cut in range(len(good)):
        with pytest.raises(continuo.IndexDataError) as error:
            continuo.Index.from_bytes(good[:cut])
        assert error.value.name == "index.truncated" and error.value.offset == cut
    bad = bytearray(good)
    bad[-20] ^= 0x01
    with pytest.raises(continuo.IndexDataError):
        continuo.Index.from_bytes(bytes(bad))
    huge = bytearray(good)
    huge[16:24] = (1 << 40).to_bytes(8, "little")
    with pytest.raises(continuo.IndexDataError, match="1099511627776 vectors"):
        continuo.Index.from_bytes(bytes(huge))
    error_copy = pickle.loads(pickle.dumps(error.value))
    assert error_copy.name == error.value.name and error_copy.offset == error.value.offset
    strided = np.frombuffer(good, np.uint8).repeat(2)[::2]  # the same bytes, but not contiguous
    with pytest.raises(ValueError, match="not C-contiguous"):
        continuo.Index.from_bytes(strided)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="/nonexistent/index.cntidx"):
        continuo.Index.load("/nonexistent/index.cntidx")
    with pytest.raises(OSError):
        continuo.Index(4).save("/nonexistent/index.cntidx")


@pytest.mark.parametrize("storage", ["float32", "int8"])
def test_gives_identical_results_from_one_and_two_threads(storage: str, data: npt.NDArray[np.float32]) -> None:
    ix = continuo.Index(DIM, storage=storage)  # type: ignore[arg-type]
    ix.add(np.arange(len(data)), data)
    queries = unit_rows(64, seed=6)
    alone = ix.search(queries, k=10)
    one_by_one = np.vstack([ix.search(q, k=10)[0] for q in queries])
    np.testing.assert_array_equal(one_by_one, alone[0])  # a batch gives what single queries give
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(lambda q: ix.search(q, k=10), np.array_split(queries, 2)))
        repeated = list(pool.map(lambda _: ix.search(queries, k=10), range(4)))
    np.testing.assert_array_equal(np.vstack([h[0] for h in halves]), alone[0])
    np.testing.assert_array_equal(np.vstack([h[1] for h in halves]), alone[1])
    for ids, scores in repeated:
        np.testing.assert_array_equal(ids, alone[0])
        np.testing.assert_array_equal(scores, alone[1])

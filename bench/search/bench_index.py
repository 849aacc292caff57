"""continuo.Index against FAISS IndexFlatIP: exact top-k cosine search on the same vectors, one run.

    python bench/search/bench_index.py [--dim 256] [--sizes 100000,1000000] [--threads 1,2] [--json]

Random standard-normal vectors, L2-normalised, stored in both (continuo as float32 and as int8);
queries from the same distribution. Timed: single-query latency (``--single`` queries one at a time,
through each library's Python API) and batch throughput (``--batch`` queries in one call), k = 10,
best of ``--repeat`` runs taken in turns (``--clock cpu`` times CPU rather than elapsed time,
steadier on a shared machine). FAISS gets ``faiss.omp_set_num_threads(n)``; continuo's batch is split
over n Python threads (each search releases the GIL). Ratios are continuo / FAISS time: below 1 is
faster. Agreement: the share of queries whose top-k ids equal FAISS's (float32) and recall@k
against FAISS (both storages). Memory: bytes per stored vector. The markdown table goes to stdout,
progress to stderr; ``--json`` prints every number as JSON instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

import continuo

try:
    import faiss
except ImportError:  # pragma: no cover - requirements-dev.txt installs faiss-cpu
    sys.exit("bench_index.py needs faiss-cpu (pip install -r requirements-dev.txt)")

Matrix = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> Matrix:
    """Returns n random rows of norm 1, generated in chunks to bound the temporary float64 memory."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        chunk = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start : start + chunk.shape[0]] = chunk
    return out


def timed(clock: Callable[[], float], run: Callable[[], object]) -> float:
    start = clock()
    run()
    return clock() - start


def recall(found: Ids, truth: Ids) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t[t >= 0])) for f, t in zip(found, truth))
    return float(hits / int(truth.size))


def same_lists(found: Ids, truth: Ids) -> float:
    return float(np.mean(np.all(found == truth, axis=1)).item())


def continuo_batch(index: continuo.Index, queries: Matrix, k: int, threads: int) -> tuple[Ids, Any]:
    if threads == 1:
        return index.search(queries, k)
    parts = np.array_split(queries, threads)
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda q: index.search(q, k), parts))
    return np.vstack([r[0] for r in results]), np.vstack([r[1] for r in results])


def measure(size: int, args: argparse.Namespace, rng: np.random.Generator) -> list[dict[str, Any]]:
    dim, k = args.dim, args.k
    log(f"n={size} dim={dim}: generating")
    data = unit_rows(rng, size, dim)
    queries = unit_rows(rng, max(args.single, args.batch), dim)
    single_q, batch_q = queries[: args.single], queries[: args.batch]

    log("  building")
    flat = faiss.IndexFlatIP(dim)
    flat.add(data)
    engines: dict[str, Any] = {"faiss": flat}
    for storage in ("float32", "int8"):
        index = continuo.Index(dim, storage=storage)
        for start in range(0, size, 100_000):
            end = min(size, start + 100_000)
            index.add(np.arange(start, end), data[start:end])
        engines[storage] = index
    del data

    rows: list[dict[str, Any]] = []
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    truth_single = np.vstack([flat.search(q[np.newaxis], k)[1] for q in single_q])
    truth = flat.search(batch_q, k)[1]
    for threads in args.threads:
        faiss.omp_set_num_threads(threads)
        found = {s: (np.vstack([engines[s].search(q, k)[0] for q in single_q]),
                     continuo_batch(engines[s], batch_q, k, threads)[0]) for s in ("float32", "int8")}
        # The engines take turns within each repeat, so a busy spell on the machine hits all of them.
        best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name in engines}
        for repeat in range(args.repeat):
            log(f"  {threads} thread(s), repeat {repeat + 1} of {args.repeat}")
            for name, engine in engines.items():
                if name == "faiss":
                    single = timed(clock, lambda: [flat.search(q[np.newaxis], k) for q in single_q])
                    batch = timed(clock, lambda: flat.search(batch_q, k))
                else:
                    single = timed(clock, lambda: [engine.search(q, k) for q in single_q])
                    batch = timed(clock, lambda: continuo_batch(engine, batch_q, k, threads))
                best[name] = [min(best[name][0], single), min(best[name][1], batch)]
        faiss_single, faiss_batch = best["faiss"]
        for storage in ("float32", "int8"):
            single, batch = best[storage]
            single_ids, batch_ids = found[storage]
            rows.append(
                {
                    "n": size,
                    "dim": dim,
                    "k": k,
                    "threads": threads,
                    "storage": storage,
                    "clock": args.clock,
                    "single_ms": 1e3 * single / len(single_q),
                    "faiss_single_ms": 1e3 * faiss_single / len(single_q),
                    "single_ratio": single / faiss_single,
                    "batch_qps": len(batch_q) / batch,
                    "faiss_batch_qps": len(batch_q) / faiss_batch,
                    "batch_ratio": batch / faiss_batch,
                    "same_top_k": same_lists(batch_ids, truth),
                    "recall_at_k": recall(batch_ids, truth),
                    "batch_equals_single": bool(np.array_equal(batch_ids[: len(single_q)], single_ids)),
                    "single_recall_at_k": recall(single_ids, truth_single),
                    "bytes_per_vector": engines[storage].bytes_per_vector,
                    "faiss_bytes_per_vector": 4 * dim,
                }
            )
            log(f"    {rows[-1]}")
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| vectors | dim | storage | threads | single query (ms) | FAISS (ms) | ratio | batch (queries/s) "
        "| FAISS (queries/s) | ratio | same top-k as FAISS | recall@k | batch = single | bytes/vector | FAISS |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['dim']} | {r['storage']} | {r['threads']} | {r['single_ms']:.3f} "
            f"| {r['faiss_single_ms']:.3f} | {r['single_ratio']:.2f} | {r['batch_qps']:,.0f} "
            f"| {r['faiss_batch_qps']:,.0f} | {r['batch_ratio']:.2f} | {r['same_top_k']:.3f} "
            f"| {r['recall_at_k']:.3f} | {'yes' if r['batch_equals_single'] else 'NO'} "
            f"| {r['bytes_per_vector']:.0f} | {r['faiss_bytes_per_vector']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated vector counts")
    parser.add_argument("--single", type=int, default=200, help="queries timed one at a time")
    parser.add_argument("--batch", type=int, default=1000, help="queries timed in one call")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", default="1", help="comma-separated thread counts, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time; cpu: the process's CPU time, steadier on a shared machine (1 thread only)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows += measure(size, args, rng)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(
            f"faiss {faiss.__version__} ({faiss.get_compile_options().strip()}), continuo {continuo.__version__}, "
            f"dim {args.dim}, k {args.k}, {args.single} single queries, batches of {args.batch}, "
            f"best of {args.repeat}, {args.clock} clock"
        )
        print()
        print(markdown(rows))


if __name__ == "__main__":
    main()

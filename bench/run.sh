#!/usr/bin/env bash
# Runs the benchmarks (bench/README.md): bench/run.sh BUILD_DIR [bench/run.py options, e.g. --quick].
# BUILD_DIR must hold bin/continuo_bench (configure with -DCONTINUO_BUILD_BENCH=ON; `make bench`
# does). The corpus comes from $CONTINUO_CORPUS, by default ../shared/corpus beside the repository;
# without it, only the generated practice takes run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench/run.sh BUILD_DIR [run.py options]}
shift
corpus=${CONTINUO_CORPUS:-$repo/../shared/corpus}
python=$repo/.venv/bin/python
[ -x "$python" ] || python=python3
exec "$python" "$repo/bench/run.py" --build "$build" --corpus "$corpus" "$@"

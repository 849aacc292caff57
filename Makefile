# The quick start: `make demo` runs the main job, `make test` runs every test. Both install what
# is missing first (scripts/install-deps.sh: apt packages and the Python venv at .venv).
#
#   make build    build the library and leave the command-line tool at build/bin/continuo
#   make python   build and install the Python package `continuo` into .venv
#   make demo     write a short piece with the SMF writer, read it back, simulate a day of
#                 practising it, split that into sessions and attempts, and identify the bars
#                 and tempo of each attempt
#   make test     all tests: C++ (plain and ASan+UBSan, the bench programs' smoke runs among them),
#                 Python package, CLI and differential tests (pytest, mypy), fuzz smoke runs,
#                 clang-format and clang-tidy checks
#   make bench    the benchmarks of bench/ (see bench/README.md)
#   make format   reformat the sources with clang-format
#
# CONTINUO_CORPUS=../shared/corpus enables the corpus tests; .ci/run sets it.

BUILD      ?= build
SAN_BUILD  ?= build-san
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
VENV       := .venv
SOURCES     = $(shell git ls-files '*.cpp' '*.hpp')

.PHONY: all deps build python demo test test-cpp test-sanitize test-python test-fuzz check-format check-tidy \
        bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build python
	@examples/demo.sh $(BUILD) $(VENV)/bin/python

test: deps check-format test-cpp test-sanitize test-python test-fuzz check-tidy
	@echo "make test: all checks passed"

# The tests build the bench programs too (CONTINUO_BUILD_BENCH), and bench/CMakeLists.txt runs each
# once on a small input, so that a change which breaks them fails here.
test-cpp: build
	@cmake -S . -B $(BUILD) -DCONTINUO_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONTINUO_SANITIZE=ON \
	  -DCONTINUO_BUILD_BENCH=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SAN_BUILD) -j $(JOBS) --output-on-failure

python: deps
	@CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(VENV)/bin/python -m pip install -q --no-build-isolation \
	  -Cbuild-dir=$(BUILD)-python .

test-python: build python
	@CONTINUO_BIN=$(abspath $(BUILD))/bin/continuo $(VENV)/bin/python -m pytest tests/cli tests/python tests/docs tests/tools
	@$(VENV)/bin/python -m mypy

test-fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCONTINUO_BUILD_FUZZERS=ON -DCONTINUO_BUILD_TESTS=OFF -DCONTINUO_BUILD_TOOLS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@tests/fuzz/smoke.sh $(FUZZ_BUILD)

check-format: deps
	@clang-format --dry-run --Werror $(SOURCES) && echo "clang-format: clean"

check-tidy: build
	@scripts/run-clang-tidy.sh $(BUILD)

format: deps
	@clang-format -i $(SOURCES)

bench: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTINUO_BUILD_BENCH=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD) $(BUILD)-python

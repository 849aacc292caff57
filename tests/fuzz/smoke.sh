#!/usr/bin/env bash
# Short fuzz runs of every libFuzzer target, for `make test-fuzz`. Fails on any crash, sanitizer
# report, broken invariant, timeout or out-of-memory.
#
# Usage: tests/fuzz/smoke.sh BUILD_DIR
#
# Seeds: every file of tests/fuzz/regressions/ (replayed first, one by one, through every target),
# plus, when CONTINUO_CORPUS names the shared corpus, a fixed sample of its small files (drywetmidi
# Valid and Invalid, jazz-soft, symusic), copied into a temporary folder: nothing is written to the
# repo. The index target (fuzz_index_bytes) starts from the indexes it writes itself instead.
# Environment: FUZZ_SECONDS per target (20), FUZZ_SAMPLE files per corpus folder (60),
# FUZZ_TIMEOUT seconds per input (20: one input takes well under 0.2 s, but shared CI machines
# stall), CONTINUO_REQUIRE_CORPUS=1 to fail when the corpus is missing (CI).
# Crashing inputs are kept in BUILD_DIR/fuzz-artifacts; docs/fuzzing.md says what to do with them.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
seconds=${FUZZ_SECONDS:-20}
sample=${FUZZ_SAMPLE:-60}
max_len=16384  # longer seeds are cut there: short inputs run many times faster
seed_kb=64
timeout_s=${FUZZ_TIMEOUT:-20}
targets=(read_strict read_lenient round_trip index_bytes)

fuzzers=()
for t in "${targets[@]}"; do
  f=$build/bin/fuzz_$t
  if [ ! -x "$f" ]; then
    echo "fuzz: $f is missing; configure with CC=clang CXX=clang++ -DCONTINUO_BUILD_FUZZERS=ON (make test-fuzz)" >&2
    exit 2
  fi
  fuzzers+=("$f")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/continuo-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$work/seeds" "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Copies a file into the seed folder under the hash of its content (no clashes, no duplicates).
add_seed() {
  local hash
  hash=$(sha1sum "$1" | cut -c1-40)
  cp "$1" "$work/seeds/$hash"
}

# Prints a libFuzzer log without the byte dumps of the input (hex, escaped and base64 lines).
show_log() {
  grep -v -E '^#[0-9]+|^	NEW_FUNC|^INFO:' "$1" | awk '/^0x[0-9a-f]+,/ { skip = 2; next } skip > 0 { skip--; next } { print }' | tail -"$2"
}

# 1. The regressions, replayed one at a time through every target, so that each failure is named.
regressions=()
while IFS= read -r -d '' f; do regressions+=("$f"); done \
  < <(find "$here/regressions" -type f ! -name 'README*' -print0 | sort -z)
failed=0
for f in "${regressions[@]}"; do
  add_seed "$f"
  for i in "${!targets[@]}"; do
    log=$work/replay.log
    if ! "${fuzzers[$i]}" -timeout="$timeout_s" -rss_limit_mb=2048 "$f" > "$log" 2>&1; then
      echo "fuzz: FAIL ${targets[$i]} on tests/fuzz/regressions/$(basename "$f"):" >&2
      grep -E 'invariant broken|^pairing|^  [a-z[]|ERROR:|runtime error|^    #[0-9]+ .* in continuo::' "$log" \
        | grep -v 'continuo::fuzz::' | head -20 | sed 's/^/  /' >&2
      failed=1
    fi
  done
done
echo "fuzz: replayed ${#regressions[@]} regression input(s) through ${#targets[@]} targets"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: the regression inputs above still break the library; fix them before fuzzing further" >&2
  exit 1
fi

# 2. A fixed sample of the corpus files under 64 KiB: every k-th file in path order, at most
#    $sample from each folder.
if [ -n "${CONTINUO_CORPUS:-}" ] && [ -d "${CONTINUO_CORPUS}" ]; then
  for sub in drywetmidi/Valid drywetmidi/Invalid jazz-soft symusic; do
    dir=$CONTINUO_CORPUS/$sub
    [ -d "$dir" ] || { echo "fuzz: $dir is missing, skipped" >&2; continue; }
    files=()
    while IFS= read -r -d '' f; do files+=("$f"); done \
      < <(find "$dir" -type f -iname '*.mid' -size -${seed_kb}k -print0 | sort -z)
    step=$(( (${#files[@]} + sample - 1) / sample ))
    [ "$step" -ge 1 ] || step=1
    for ((j = 0; j < ${#files[@]}; j += step)); do add_seed "${files[$j]}"; done
  done
elif [ "${CONTINUO_REQUIRE_CORPUS:-0}" = 1 ]; then
  echo "fuzz: CONTINUO_REQUIRE_CORPUS=1 but CONTINUO_CORPUS ('${CONTINUO_CORPUS:-}') is not a folder" >&2
  exit 1
else
  echo "fuzz: CONTINUO_CORPUS is not set: seeding from tests/fuzz/regressions only" \
       "(set CONTINUO_CORPUS=../shared/corpus for a better start)"
fi
CONTINUO_INDEX_SEEDS=$work/index-seeds "$build/bin/fuzz_index_bytes" > /dev/null
echo "fuzz: $(find "$work/seeds" -type f | wc -l) seed files, $(find "$work/index-seeds" -type f | wc -l) seed" \
     "indexes; ${seconds}s per target"

# 3. Fuzz each target for a fixed time; new inputs go to a scratch corpus, seeds stay as they are.
summary=()
for i in "${!targets[@]}"; do
  name=${targets[$i]}
  log=$work/$name.log
  mkdir -p "$work/corpus-$name"
  seeds=$work/seeds
  dict=(-dict="$here/smf.dict")
  if [ "$name" = index_bytes ]; then
    seeds=$work/index-seeds
    dict=()
  fi
  status=ok
  if ! timeout $((seconds + 300)) "${fuzzers[$i]}" -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048 \
      -max_len=$max_len "${dict[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
      "$work/corpus-$name" "$seeds" > "$log" 2>&1; then
    status=FAIL
    failed=1
    echo "fuzz: FAIL $name; the end of its log:" >&2
    show_log "$log" 40 >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$work/corpus-$name" -type f | wc -l)
  summary+=("$(printf '%-13s %-5s %9s execs %7s exec/s %6s new inputs' "$name" "$status" "${runs:-?}" "${rate:-?}" "$units")")
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED. Crashing inputs are in $artifacts; reproduce with" \
       "$build/bin/fuzz_TARGET FILE, minimise with -minimize_crash=1 -runs=100000, and keep the" \
       "minimised input in tests/fuzz/regressions/ (docs/fuzzing.md)." >&2
  exit 1
fi
echo "fuzz: all targets passed"

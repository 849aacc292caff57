#!/usr/bin/env bash
# Runs clang-tidy (the checks of .clang-tidy) over the library and the command-line tool, two files
# at a time, and fails on any finding. Usage: scripts/run-clang-tidy.sh BUILD_DIR
#
# BUILD_DIR must hold compile_commands.json (CMake writes it for a top-level build, and the tool is
# built by default). Environment: CLANG_TIDY (default clang-tidy-14, else clang-tidy), TIDY_JOBS (2).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
root=$(pwd)
build=$(cd "$1" && pwd)
jobs=${TIDY_JOBS:-2}

tidy=${CLANG_TIDY:-}
if [ -z "$tidy" ]; then
  tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
fi
if [ -z "$tidy" ] || ! command -v "$tidy" >/dev/null; then
  echo "clang-tidy: not found (scripts/install-deps.sh installs clang-tidy)" >&2
  exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "clang-tidy: $build/compile_commands.json is missing; configure the build first (cmake -S . -B $1)" >&2
  exit 2
fi

# Every source of the library (src/*.cpp, src/midi/*.cpp and any later subfolder) and the tool.
files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(find src -name '*.cpp' -print0 | sort -z)
files+=(tools/cli/main.cpp)
# A file that the build does not compile has no flags to check it with: say so, and skip it.
built=()
for f in "${files[@]}"; do
  if grep -qF "\"file\": \"$root/$f\"" "$build/compile_commands.json"; then
    built+=("$f")
  else
    echo "clang-tidy: warning: $f is not compiled in $build (not in CMakeLists.txt, or its option is off); skipped" >&2
  fi
done
if [ ${#built[@]} -eq 0 ]; then
  echo "clang-tidy: none of the sources is in $build/compile_commands.json" >&2
  exit 2
fi
files=("${built[@]}")

logs=$(mktemp -d "${TMPDIR:-/tmp}/continuo-tidy.XXXXXX")
trap 'rm -rf "$logs"' EXIT
echo "clang-tidy: $("$tidy" --version | grep -o 'version [0-9.]*'), ${#files[@]} files, $jobs jobs"

# One clang-tidy per file; each writes its own log, named after the file.
export tidy build logs
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$jobs" sh -c '
  log="$logs/$(echo "$1" | tr / _).log"
  if "$tidy" -p "$build" --quiet "$1" > "$log" 2>&1; then echo ok > "$log.status"; else echo failed > "$log.status"; fi
' sh

# Findings are "path:line:col: warning|error: message [check,-warnings-as-errors]" (or without the
# location, when clang-tidy has none). They are listed as "path:line: check: message", once each (a
# header's finding is reported by every file that includes it).
findings=$(cat "$logs"/*.log | grep -E '^([^ ]+:[0-9]+:[0-9]+: )?(warning|error): ' \
  | sed -E "s#^$root/##; s#^([^:]+):([0-9]+):[0-9]+: (warning|error): (.*) \[([^],]+)[^]]*\]\$#\1:\2: \5: \4#" \
  | sed -E "s#^(warning|error): (.*) \[([^],]+)[^]]*\]\$#(no location):0: \3: \2#" \
  | sort -u -t: -k1,1 -k2,2n || true)
failed=$( (grep -l failed "$logs"/*.status || true) | wc -l)
count=$(printf '%s' "$findings" | grep -c . || true)

if [ "$count" -gt 0 ]; then
  printf '%s\n' "$findings"
  echo
  echo "clang-tidy: findings per check:"
  printf '%s\n' "$findings" | cut -d: -f3 | sort | uniq -c | sort -rn | sed 's/^ */  /'
fi
if [ "$failed" -gt 0 ] && [ "$count" -eq 0 ]; then
  # clang-tidy failed without a finding in the usual form (a crash, a bad flag): show its output.
  cat "$logs"/*.log
fi
if [ "$failed" -gt 0 ] || [ "$count" -gt 0 ]; then
  echo "clang-tidy: FAILED: $count finding(s); clang-tidy failed on $failed of ${#files[@]} files" >&2
  exit 1
fi
echo "clang-tidy: clean (${#files[@]} files)"

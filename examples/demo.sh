#!/usr/bin/env bash
# `make demo`: write a short piece with the SMF writer, then read it back with the command-line tool.
set -euo pipefail
build=${1:-build}
out=$build/demo
mkdir -p "$out"
bin=$build/bin

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Writing the first bars of Bach's Prelude in C (BWV 846) with the SMF writer"
"$bin/write_prelude" "$out/prelude.mid"

step "continuo inspect $out/prelude.mid"
"$bin/continuo" inspect "$out/prelude.mid"

step "continuo notes $out/prelude.mid --csv (first 10 notes)"
"$bin/continuo" notes "$out/prelude.mid" --csv | head -n 11

step "The same notes, extended by the sustain pedal (--sustain)"
"$bin/continuo" notes "$out/prelude.mid" --csv --sustain | head -n 6

step "continuo convert to 960 PPQ, format 0, and inspect as JSON"
"$bin/continuo" convert "$out/prelude.mid" "$out/prelude-960.mid" --ppq 960 --format 0
"$bin/continuo" inspect "$out/prelude-960.mid" --json

step "A damaged copy (cut in the middle) is read leniently and every repair is listed"
head -c 700 "$out/prelude.mid" > "$out/prelude-cut.mid"
"$bin/continuo" inspect "$out/prelude-cut.mid"

printf '\nFiles are in %s. Next: `make test`, or `%s/continuo --help`.\n' "$out" "$bin"

#!/usr/bin/env bash
# `make demo`: write a short piece with the SMF writer, read it back with the command-line tool, then
# simulate a day of practising it and find the sessions, attempts, bars and tempi from the playing alone.
set -euo pipefail
build=${1:-build}
python=${2:-.venv/bin/python}
out=$build/demo
mkdir -p "$out"
bin=$build/bin

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Writing the first bars of Bach's Prelude in C (BWV 846) with the SMF writer"
"$bin/write_prelude" "$out/prelude.mid"

step "continuo inspect $out/prelude.mid"
"$bin/continuo" inspect "$out/prelude.mid"

# Through files, not `| head`: head closing the pipe early would stop the tool with SIGPIPE, and
# pipefail would end the demo there.
step "continuo notes $out/prelude.mid --csv (first 10 notes)"
"$bin/continuo" notes "$out/prelude.mid" --csv > "$out/notes.csv"
head -n 11 "$out/notes.csv"

step "The same notes, extended by the sustain pedal (--sustain)"
"$bin/continuo" notes "$out/prelude.mid" --csv --sustain > "$out/notes-sustain.csv"
head -n 6 "$out/notes-sustain.csv"

step "continuo convert to 960 PPQ, format 0, and inspect as JSON"
"$bin/continuo" convert "$out/prelude.mid" "$out/prelude-960.mid" --ppq 960 --format 0
"$bin/continuo" inspect "$out/prelude-960.mid" --json

step "A damaged copy (cut in the middle) is read leniently and every repair is listed"
head -c 700 "$out/prelude.mid" > "$out/prelude-cut.mid"
"$bin/continuo" inspect "$out/prelude-cut.mid"

step "A day of practising it, simulated: warm-ups, run-throughs with stumbles, drilled bars"
"$python" tools/practice-sim/practice_sim.py "$out/prelude.mid" "$out/practice" --days 1 --seed 4

step "continuo sessions: how long and how often, found from the playing alone"
"$bin/continuo" sessions "$out/practice/day_000.mid"
truth=$("$python" -c 'import json,sys; t=json.load(open(sys.argv[1])); print(sum(len(s["attempts"]) for s in t["sessions"]))' "$out/practice/day_000.json")
printf '(the simulator played %s attempts: %s)\n' "$truth" "$out/practice/day_000.json"

step "continuo identify: which bars of the Prelude each attempt played, how fast, and how often each bar"
"$bin/continuo" identify "$out/practice/day_000.mid" --piece "Prelude in C=$out/prelude.mid"

printf '\nFiles are in %s. Next: `make test`, or `%s/continuo --help`.\n' "$out" "$bin"

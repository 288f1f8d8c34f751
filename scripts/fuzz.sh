#!/usr/bin/env bash
# Runs every fuzz target (func FuzzX in a _test.go file of the given modules) for
# FUZZTIME each; found by name, so a new target runs without being listed anywhere.
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context deadline exceeded"
# when -fuzztime ends while a worker is mid-input (golang/go#75804, fixed in Go 1.27):
# nothing was found and no input was written. Such a run is tried once more; a real
# finding (a failing input written, a panic, a test failure) fails at once.
set -euo pipefail

fuzztime=${FUZZTIME:-5s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadline_only: the run failed with the coordinator's deadline and nothing else.
deadline_only() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"
}

grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' "$@" | grep -v '/testdata/' | sort |
	while read -r file; do
		dir=$(dirname "$file")
		for target in $(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file"); do
			for attempt in 1 2; do
				echo "fuzz $target ($dir, $fuzztime)"
				if go test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" "./$dir" 2>&1 | tee "$log"; then
					break
				fi
				if [ "$attempt" = 1 ] && deadline_only; then
					echo "fuzz $target: only the fuzzing engine's end-of-time race (golang/go#75804); once more"
					continue
				fi
				exit 1
			done
		done
	done

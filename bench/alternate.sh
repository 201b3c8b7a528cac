#!/usr/bin/env bash
# Times builds side by side on a shared machine: the binaries take turns,
# one run each per round, so a slow spell of the machine falls on all of
# them alike. Prints each binary's wall times in ms, sorted, and their
# median.
#
#   bash bench/alternate.sh ROUNDS FILE BIN... [-- ARGS...]
#
# ARGS default to `report` (`--` alone: none); the file comes last on each
# command line.
#   bash bench/alternate.sh 8 bench/data/headers-10m.pcap /tmp/before target/release/rstscope
set -euo pipefail
(($# >= 3)) || { sed -n '2,10p' "$0" >&2; exit 2; }
rounds=$1 file=$2
shift 2
bins=()
while (($#)) && [[ $1 != -- ]]; do bins+=("$1"); shift; done
args=(report)
if (($#)); then
    shift
    args=("$@")
fi
declare -A times
for ((r = 0; r < rounds; r++)); do
    for b in "${bins[@]}"; do
        start=$(date +%s%N)
        "$b" "${args[@]}" "$file" >/dev/null
        end=$(date +%s%N)
        times[$b]+="$(((end - start) / 1000000)) "
    done
done
for b in "${bins[@]}"; do
    sorted=$(tr ' ' '\n' <<<"${times[$b]}" | grep . | sort -n | tr '\n' ' ')
    median=$(tr ' ' '\n' <<<"$sorted" | grep . | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    echo "$b: median $median ms; $sorted"
done

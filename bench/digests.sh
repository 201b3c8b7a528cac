#!/usr/bin/env bash
# Prints one line per capture: the sha256 of `rstscope flows --format csv`
# on it and the exit status, for every fixture, every corpus capture and
# every benchmark capture in bench/data/. Two builds that print the same
# lines give byte-identical rows on all of them.
#
#   bash bench/digests.sh [RSTSCOPE] > digests.txt
#   bash bench/digests.sh --every-output [RSTSCOPE] > digests.txt
#
# --every-output prints a line per output instead: `report` as text, JSON
# and HTML, `flows` as CSV, JSON, Zeek and Zeek with --zeek-split, and
# `timeline` (every connection's kept segments).
#
# RSTSCOPE defaults to target/release/rstscope (under CARGO_TARGET_DIR when
# set); RSTSCOPE_CORPUS names the corpus (default ../shared/corpus).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
EVERY=0
if [[ ${1:-} == --every-output ]]; then EVERY=1; shift; fi
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/rstscope}
CORPUS=${RSTSCOPE_CORPUS:-$ROOT/../shared/corpus}

files=()
for f in "$ROOT"/fixtures/*.pcap "$ROOT"/fixtures/*.pcapng "$CORPUS"/*.pcap "$CORPUS"/*.pcapng \
    "$ROOT"/bench/data/*.pcap; do
    [[ -f $f ]] && files+=("$f")
done

commands=("flows --format csv")
((EVERY)) && commands=("report" "report --format json" "report --format html"
    "flows --format csv" "flows --format json" "flows --format zeek"
    "flows --format zeek --zeek-split" "timeline")
for f in "${files[@]}"; do
    name=${f#"$ROOT"/}
    [[ $f == "$CORPUS"/* ]] && name=corpus/${f#"$CORPUS"/}
    for cmd in "${commands[@]}"; do
        # shellcheck disable=SC2086 # the command's words
        sum=$("$BIN" $cmd "$f" 2>/dev/null | sha256sum | cut -d' ' -f1)
        rc=${PIPESTATUS[0]}
        if ((EVERY)); then
            printf '%s  %s  %s  exit %s\n' "$sum" "$name" "$cmd" "$rc"
        else
            printf '%s  %s  exit %s\n' "$sum" "$name" "$rc"
        fi
    done
done

#!/usr/bin/env bash
# Prints one line per capture: the sha256 of `rstscope flows --format csv`
# on it and the exit status, for every fixture, every corpus capture and
# every benchmark capture in bench/data/. Two builds that print the same
# lines give byte-identical rows on all of them.
#
#   bash bench/digests.sh [RSTSCOPE] > digests.txt
#
# RSTSCOPE defaults to target/release/rstscope (under CARGO_TARGET_DIR when
# set); RSTSCOPE_CORPUS names the corpus (default ../shared/corpus).
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/rstscope}
CORPUS=${RSTSCOPE_CORPUS:-$ROOT/../shared/corpus}

files=()
for f in "$ROOT"/fixtures/*.pcap "$ROOT"/fixtures/*.pcapng "$CORPUS"/*.pcap "$CORPUS"/*.pcapng \
    "$ROOT"/bench/data/*.pcap; do
    [[ -f $f ]] && files+=("$f")
done

for f in "${files[@]}"; do
    sum=$("$BIN" flows --format csv "$f" 2>/dev/null | sha256sum | cut -d' ' -f1)
    rc=${PIPESTATUS[0]}
    name=${f#"$ROOT"/}
    [[ $f == "$CORPUS"/* ]] && name=corpus/${f#"$CORPUS"/}
    printf '%s  %s  exit %s\n' "$sum" "$name" "$rc"
done

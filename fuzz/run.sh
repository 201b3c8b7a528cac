#!/usr/bin/env bash
# Coverage-guided fuzzing of the whole pipeline (see README, "Fuzzing").
#
#   bash fuzz/run.sh [SECONDS]        # default 1800; one core
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain
# RUSTC_BOOTSTRAP=1 lets it use the nightly-only flags it needs.
# Seeds: every fixture capture and every corpus capture under 64 KiB.
# One core (-fork=1); it keeps going after a crash or a hang (-ignore_*).
# Crashes and hangs land in fuzz/artifacts/pipeline/; minimise one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin pipeline fuzz/artifacts/pipeline/crash-...
# and keep it as tests/regressions/NAME.bin (tests/robustness.rs replays it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-1800}
corpus=${RSTSCOPE_CORPUS:-../shared/corpus}
mkdir -p fuzz/corpus/pipeline fuzz/seeds
for f in fixtures/*.pcap fixtures/*.pcapng fixtures/bad-* "$corpus"/*.pcap "$corpus"/*.pcapng tests/regressions/*.bin; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 65536 ] || continue
    cp "$f" fuzz/seeds/
done
export RUSTC_BOOTSTRAP=1
exec cargo fuzz run pipeline fuzz/corpus/pipeline fuzz/seeds -- \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -dict="$PWD/fuzz/pipeline.dict" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$secs" -print_final_stats=1

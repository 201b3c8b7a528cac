#!/bin/sh
# Extracts Zeek's test traces (testing/btest/Traces) from a Zeek git
# repository into DIR, for tests/zeek_traces.rs (ZEEK_TRACES=DIR). The
# traces are Zeek's and are never committed here. A snapshot may lack its
# largest blobs: those are listed and skipped.
#
#   tests/zeek/extract.sh [DIR] [ZEEK_GIT_DIR]
#   ZEEK_TRACES=DIR cargo test --release --test zeek_traces -- --ignored --nocapture
set -eu
dir=${1:-/tmp/zeek-traces}
repo=${2:-/work/.mirror/zeek+zeek/repo}
prefix=testing/btest/Traces/
mkdir -p "$dir"
git -C "$repo" ls-tree -r HEAD "$prefix" | while read -r _mode _type obj path; do
    rel=${path#"$prefix"}
    mkdir -p "$dir/$(dirname "$rel")"
    if git -C "$repo" cat-file blob "$obj" > "$dir/$rel" 2>/dev/null; then
        :
    else
        rm -f "$dir/$rel"
        echo "missing from the snapshot: $rel" >&2
    fi
done
echo "$(find "$dir" -type f | wc -l) files in $dir (zeek $(git -C "$repo" rev-parse --short HEAD))"

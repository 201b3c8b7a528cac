#!/usr/bin/env bash
# Extracts the Zeek test traces named in counts.tsv (column zeek_path) from a
# Zeek git repository (a clone or a bare mirror) into DIR (under the same
# repository-relative paths), for
# `ZEEK_TRACES=DIR cargo test --test encap`. The traces stay out of this
# repository: they are Zeek's.
#   bash tests/traces/zeek/extract.sh DIR [ZEEK_GIT_DIR]
set -euo pipefail
out=${1:?usage: extract.sh DIR [ZEEK_GIT_DIR]}
git_dir=${2:-/work/.mirror/zeek+zeek/repo}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
grep -v '^#' "$here/counts.tsv" | tail -n +2 | cut -f2 | while read -r path; do
  mkdir -p "$out/$(dirname "$path")"
  git -C "$git_dir" show "HEAD:$path" > "$out/$path"
done
echo "extracted $(grep -v '^#' "$here/counts.tsv" | tail -n +2 | wc -l) traces into $out"

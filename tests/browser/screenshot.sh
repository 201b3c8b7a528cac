#!/usr/bin/env bash
# Regenerates docs/report-incident.png, the screenshot the README shows:
# the HTML report of fixtures/incident.pcap in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo run --quiet -- report --quiet --format html -o "$out/incident.html" fixtures/incident.pcap
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  "--host-resolver-rules=MAP * ~NOTFOUND" --user-data-dir="$out/profile" \
  --window-size=1200,1500 --hide-scrollbars \
  --screenshot="$PWD/docs/report-incident.png" "file://$out/incident.html" 2>/dev/null
ls -l docs/report-incident.png

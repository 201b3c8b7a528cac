#!/usr/bin/env bash
# Installs Debian's Chromium for tests/browser.rs when it is missing.
# .ci/run calls this before `cargo test`; without Chromium the browser test
# prints "skipped: chromium not installed" and passes.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "tests/browser/install.sh: cannot install chromium here (needs apt-get as root); the browser test will be skipped" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version

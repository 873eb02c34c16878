#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser tests (Playwright uses it as it is:
# `playwright install` cannot download a browser here). With --install, apt installs it.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
  exit 0
fi
if [[ "${1:-}" != "--install" ]]; then
  echo "browser: /usr/bin/chromium is missing (sudo apt-get install chromium fonts-liberation)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
echo "browser: installed $(/usr/bin/chromium --version 2>/dev/null)"

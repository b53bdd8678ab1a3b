#!/usr/bin/env bash
# Debian's Chromium for the browser tests: Playwright (from the test extra) drives it, so no
# browser is downloaded at run time. Without it the browser tests skip with the reason.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium

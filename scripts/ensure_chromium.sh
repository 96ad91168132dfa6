#!/usr/bin/env bash
# The search page's browser test drives a headless Chromium through Playwright. Playwright's own
# browser download needs internet access, so we use the distribution's Chromium instead.
set -euo pipefail
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$candidate" ]; then exit 0; fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser test (one time)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "error: the browser test needs Chromium: run 'sudo apt-get install chromium' (or set SVTA_CHROMIUM=/path/to/chromium)" >&2
[ -n "${SVTA_CHROMIUM:-}" ] && [ -x "${SVTA_CHROMIUM}" ] && exit 0
exit 1

#!/usr/bin/env bash
# Render a lamstudio HTML report in headless Chromium and save a PNG screenshot.
#   scripts/screenshot_report.sh report.html out.png [WIDTH,HEIGHT]
# Installs nothing: needs /usr/bin/chromium (apt-get install -y chromium).
set -euo pipefail
html=$(realpath "$1")
png=$(realpath -m "$2")
size=${3:-1280,2000}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium not found (apt-get update && apt-get install -y chromium)" >&2
  exit 3
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --screenshot="$png" --window-size="$size" \
  "file://$html" >/dev/null 2>&1
test -s "$png"
echo "$png"

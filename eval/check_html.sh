#!/usr/bin/env bash
# Renders an eval report.html in headless Chromium (Debian package `chromium`), checks that
# its charts are there, and leaves a screenshot next to it for a person to look at.
# Usage: eval/check_html.sh eval/authored-test/report.html
set -euo pipefail
page=$(realpath "${1:-eval/authored-test/report.html}")
shot="${page%.html}.png"
command -v chromium >/dev/null || { echo "install chromium (apt-get install chromium)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)")
dom=$(chromium "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)
charts=$(grep -o '<svg' <<< "$dom" | wc -l)
lines=$(grep -o '<polyline\|<path\|<rect' <<< "$dom" | wc -l)
chromium "${flags[@]}" --window-size=1200,2400 --screenshot="$shot" "file://$page" 2>/dev/null
echo "$page: $charts charts, $lines drawn shapes; screenshot $shot"
[ "$charts" -ge 4 ] && [ "$lines" -ge 50 ]

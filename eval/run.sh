#!/usr/bin/env bash
# Regenerates the committed evaluation of the default model:
#   eval/authored-test/   the held-out authored test split (rounds 1-4, 20 languages), as turns:
#                         metrics.json + report.md (predictions.jsonl and report.html too, not committed)
#   eval/real/            leave-one-corpus-out on every real corpus of ../shared/datasets and the
#                         authored test split in three shapes (eval/real/run.sh)
# Usage: eval/run.sh            (SCAMSTAGE_BIN overrides the binary, e.g. target/release/scamstage)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a bin <<< "${SCAMSTAGE_BIN:-cargo run --release --quiet --}"
"${bin[@]}" eval datasets/authored/*/test*.jsonl --out eval/authored-test --quiet > /dev/null
SCAMSTAGE_BIN="${bin[*]}" eval/real/run.sh
echo "wrote eval/authored-test and eval/real" >&2

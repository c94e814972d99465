#!/usr/bin/env bash
# Regenerates eval/real/ (the evaluation that cannot flatter):
#   eval/real/<corpus>/        every real corpus of ../shared/datasets, scored by a head that never
#                              saw it (scamstage loco: 3 folds, each trained for 16 epochs on the authored corpus and
#                              the other folds' corpora)
#   eval/real/authored-<shape> the held-out authored test split (rounds 1-4) scored by the default head
#                              as turns, pasted as one `Name: text` block, and flattened
#   eval/real/README.md        the summary tables (eval/real/summary.py)
# Usage: eval/real/run.sh      (SCAMSTAGE_BIN overrides the binary, e.g. target/release/scamstage)
set -euo pipefail
cd "$(dirname "$0")/../.."
read -r -a bin <<< "${SCAMSTAGE_BIN:-cargo run --release --quiet --}"
cache=${SCAMSTAGE_CACHE_DIR:-target/embedding-cache}
SCAMSTAGE_BIN="${bin[*]}" datasets/real.sh
"${bin[@]}" loco --base datasets/authored/*/train*.jsonl --corpora datasets/real --folds 3 --epochs 16 \
  --out eval/real --cache-dir "$cache" --quiet > /dev/null
for shape in turns block flat; do
  "${bin[@]}" eval datasets/authored/*/test*.jsonl --shape "$shape" --out "eval/real/authored-$shape" \
    --cache-dir "$cache" --quiet > /dev/null
done
python3 eval/real/summary.py eval/real eval/real/baseline-v1.json > eval/real/README.md
echo "wrote eval/real" >&2

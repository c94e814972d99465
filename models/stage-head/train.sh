#!/usr/bin/env bash
# Reproduces the committed default head (models/stage-head/): imports the real corpora from
# ../shared/datasets, then trains on them and the authored corpus with the card's settings.
# Usage: models/stage-head/train.sh [OUT]    (default: models/stage-head)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-models/stage-head}
cargo build --release --quiet
SCAMSTAGE_BIN=target/release/scamstage datasets/real.sh
target/release/scamstage train --data datasets/authored/*/train*.jsonl datasets/real/*.train.jsonl \
  --out "$out" --cache-dir "${SCAMSTAGE_CACHE_DIR:-target/embedding-cache}"

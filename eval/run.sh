#!/usr/bin/env bash
# Regenerates the committed evaluation of the default model (metrics.json + report.md per
# corpus; predictions.jsonl is written too but not committed):
#   eval/authored-test/   the held-out authored test split, 15 languages
#   eval/shared-<kind>/   public corpora the model never trained on, through `scamstage import`
#                         (a seeded sample of 150 scam + 150 benign conversations each)
# Usage: eval/run.sh            (SCAMSTAGE_BIN overrides the binary, e.g. target/release/scamstage)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a bin <<< "${SCAMSTAGE_BIN:-cargo run --release --quiet --}"
shared=${SCAMSTAGE_SHARED_DATASETS:-../shared/datasets}

"${bin[@]}" eval datasets/authored/*/test.jsonl --out eval/authored-test --quiet > /dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while read -r kind path; do
  "${bin[@]}" import "$kind" "$shared/$path" --sample 150 --seed 42 > "$tmp/$kind.jsonl"
  "${bin[@]}" eval "$tmp/$kind.jsonl" --out "eval/shared-$kind" --quiet > /dev/null
done <<'LIST'
teleantifraud TeleAntiFraud-multiagent-zh
bothbosu BothBosu-Synthetic-Data-for-Scam-Detection/multi_agent_conversation_test.csv
thai-sms Thai-SMS-spam-filter/raw_data
sms-phishing SMS-Phishing-Dataset-5971/Dataset_5971.csv
LIST
echo "wrote eval/authored-test and eval/shared-*" >&2

#!/usr/bin/env bash
# Imports every real corpus of ../shared/datasets into datasets/real/<kind>.{train,test}.jsonl
# (git-ignored: the data stays in ../shared). Parts are split by speaker or source dialogue
# where those recur (see datasets/README.md); each part is a seeded sample of at most N
# conversations per label, each cut to its first M messages.
# Usage: datasets/real.sh        (SCAMSTAGE_BIN overrides the binary, e.g. target/release/scamstage)
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a bin <<< "${SCAMSTAGE_BIN:-cargo run --release --quiet --}"
shared=${SCAMSTAGE_SHARED_DATASETS:-../shared/datasets}
out=datasets/real
mkdir -p "$out"
# kind  path  train-N  test-N  max-messages
while read -r kind path train_n test_n max_m; do
  for part in train test; do
    n=$train_n; [ "$part" = test ] && n=$test_n
    "${bin[@]}" import "$kind" "$shared/$path" --part "$part" --test-fraction 0.3 \
      --max-messages "$max_m" --sample "$n" --seed 42 > "$out/$kind.$part.jsonl.tmp" 2> "$out/$kind.$part.log" || {
        cat "$out/$kind.$part.log" >&2; exit 1; }
    mv "$out/$kind.$part.jsonl.tmp" "$out/$kind.$part.jsonl"
  done
  echo "imported $kind: $(wc -l < "$out/$kind.train.jsonl") train, $(wc -l < "$out/$kind.test.jsonl") test" >&2
done <<'LIST'
byu-chitchat BYU-chitchat-en/dataset.json 200 150 24
real-persona-chat RealPersonaChat-ja 200 150 24
xpersona XPersona 240 180 16
kdconv KdConv-zh 150 100 16
komuchat KOMUChat-ko/komuchat.csv 400 400 2
wisesight wisesight-sentiment-th 400 400 1
indonlu-emot IndoNLU-EmoT-id 300 300 1
janitr janitr-x-posts-en/sample.jsonl 300 300 1
teleantifraud TeleAntiFraud-multiagent-zh 200 150 24
bothbosu BothBosu-Synthetic-Data-for-Scam-Detection 200 150 24
thai-sms Thai-SMS-spam-filter/raw_data 300 300 1
sms-phishing SMS-Phishing-Dataset-5971/Dataset_5971.csv 300 300 1
LIST

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
# The test part is what leave-one-corpus-out evaluates when the corpus is held out of
# training entirely. XPersona's translations cannot be matched across languages (see
# datasets/README.md), so its parts are not disjoint: its test sample is drawn from the
# whole corpus (`all`), which is honest only because a held-out corpus is never trained on.
# kind  path  train-N  test-N  max-messages  test-part
while read -r kind path train_n test_n max_m test_part; do
  for part in train test; do
    n=$train_n; which=train
    [ "$part" = test ] && { n=$test_n; which=$test_part; }
    status=0
    "${bin[@]}" import "$kind" "$shared/$path" --part "$which" --test-fraction 0.3 \
      --max-messages "$max_m" --sample "$n" --seed 42 > "$out/$kind.$part.jsonl.tmp" 2> "$out/$kind.$part.log" || status=$?
    # 1: some records were rejected (each named in the log); anything else is fatal.
    [ "$status" -le 1 ] || { cat "$out/$kind.$part.log" >&2; exit 1; }
    mv "$out/$kind.$part.jsonl.tmp" "$out/$kind.$part.jsonl"
  done
  echo "imported $kind: $(wc -l < "$out/$kind.train.jsonl") train, $(wc -l < "$out/$kind.test.jsonl") test" >&2
done <<'LIST'
byu-chitchat BYU-chitchat-en/dataset.json 160 120 12 test
real-persona-chat RealPersonaChat-ja 160 120 12 test
xpersona XPersona 180 150 12 all
kdconv KdConv-zh 120 80 12 test
komuchat KOMUChat-ko/komuchat.csv 400 400 2 test
wisesight wisesight-sentiment-th 400 400 1 test
indonlu-emot IndoNLU-EmoT-id 300 300 1 test
janitr janitr-x-posts-en/sample.jsonl 300 300 1 test
teleantifraud TeleAntiFraud-multiagent-zh 150 100 12 test
bothbosu BothBosu-Synthetic-Data-for-Scam-Detection 150 100 12 test
thai-sms Thai-SMS-spam-filter/raw_data 300 300 1 test
sms-phishing SMS-Phishing-Dataset-5971/Dataset_5971.csv 300 300 1 test
LIST

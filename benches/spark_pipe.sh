#!/usr/bin/env bash
# PySpark local-mode demo of the streaming mode: builds the release binary, installs pyspark
# into a virtualenv (default /tmp/scamstage-spark-venv; uses the machine's Java 17+, installed
# from Debian when missing), and pipes the authored test split through `scamstage score -`.
#   bash benches/spark_pipe.sh [JSONL...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SPARK_VENV:-/tmp/scamstage-spark-venv}
command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import pyspark" 2>/dev/null || "$venv/bin/pip" install -q pyspark
cargo build --release
./target/release/scamstage models path >/dev/null   # fetch the model once, before the tasks start
out=$(mktemp -d)/scored
if [ $# -eq 0 ]; then set -- datasets/authored/*/test.jsonl; fi
"$venv/bin/python" benches/spark_pipe.py --out "$out" "$@"

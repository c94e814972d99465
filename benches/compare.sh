#!/usr/bin/env bash
# Runs scamstage's benchmark and the PyTorch peer back to back on the same machine and
# prints the ratios (only ratios from one run are meaningful on a shared machine), plus the
# per-message cosine agreement of the two implementations' embeddings.
# Usage: PYTHON=.venv/bin/python benches/compare.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
python=${PYTHON:-python3}
file=${BENCH_FILE:-../shared/bench/messages.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build --release --quiet
bin=target/release/scamstage
$bin bench "$file" --threads "$threads" --runs 3 --quiet > "$tmp/scamstage.json"
$python benches/peer_pytorch.py --file "$file" --threads "$threads" --embeddings "$tmp/peer.jsonl" > "$tmp/peer.json"
awk '{printf "{\"id\":\"m%d\",\"messages\":[{\"sender\":\"them\",\"text\":%s}]}\n", NR, $0}' \
  <("$python" -c 'import json,sys; [print(json.dumps(l.rstrip("\n"))) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]' "$file") \
  > "$tmp/msgs.jsonl"
$bin embed "$tmp/msgs.jsonl" --threads "$threads" --quiet > "$tmp/ours.jsonl"
$python - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
ours, peer = json.load(open(f"{tmp}/scamstage.json")), json.load(open(f"{tmp}/peer.json"))
a = [json.loads(l)["embedding"] for l in open(f"{tmp}/ours.jsonl")]
b = [json.loads(l) for l in open(f"{tmp}/peer.jsonl")]
cos = sorted(sum(x * y for x, y in zip(u, v)) for u, v in zip(a, b))
print(json.dumps({"scamstage": ours, "peer": peer}, indent=2))
print(f"threads {ours['threads']}: encoder {ours['encoder']['messages_per_s']:.1f} msg/s, "
      f"end-to-end {ours['end_to_end']['messages_per_s']:.1f} msg/s, PyTorch encoder {peer['messages_per_s']:.1f} msg/s")
print(f"ratio end-to-end / PyTorch encoder: {ours['end_to_end']['messages_per_s'] / peer['messages_per_s']:.2f}x; "
      f"encoder / PyTorch encoder: {ours['encoder']['messages_per_s'] / peer['messages_per_s']:.2f}x")
print(f"embedding agreement: min cosine {cos[0]:.5f}, median {cos[len(cos)//2]:.5f}, "
      f"share >= 0.999: {sum(c >= 0.999 for c in cos) / len(cos):.3f}")
PY

#!/usr/bin/env bash
# Runs scamstage's benchmark (default int8 and --precision f32), the PyTorch f32 peer and the
# ONNX Runtime int8 peer back to back on the same machine and prints the ratios (only ratios
# from one run are meaningful on a shared machine), plus the per-message cosine agreement of
# the embeddings with PyTorch's: f32 checks the implementation, int8 shows what quantisation
# costs (for scamstage and for ONNX Runtime's own int8 model alike).
# Usage: PYTHON=.venv-bench/bin/python benches/compare.sh [threads]
#   PYTHON needs torch, transformers, tokenizers, onnx and onnxruntime (see the two peers);
#   SCAMSTAGE=path/to/scamstage uses that binary instead of building target/release/scamstage;
#   BENCH_FILE overrides the messages file.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
python=${PYTHON:-python3}
file=${BENCH_FILE:-../shared/bench/messages.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${SCAMSTAGE:-}" ]; then
  bin=$SCAMSTAGE
else
  cargo build --release --quiet
  bin=target/release/scamstage
fi
$bin bench "$file" --threads "$threads" --runs 3 --quiet > "$tmp/scamstage.json"
$bin bench "$file" --threads "$threads" --runs 3 --quiet --precision f32 > "$tmp/scamstage-f32.json"
$python benches/peer_pytorch.py --file "$file" --threads "$threads" --embeddings "$tmp/peer.jsonl" > "$tmp/peer.json"
$python benches/peer_onnxruntime.py --file "$file" --threads "$threads" --embeddings "$tmp/ort.jsonl" > "$tmp/ort.json"
awk '{printf "{\"id\":\"m%d\",\"messages\":[{\"sender\":\"them\",\"text\":%s}]}\n", NR, $0}' \
  <("$python" -c 'import json,sys; [print(json.dumps(l.rstrip("\n"))) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]' "$file") \
  > "$tmp/msgs.jsonl"
$bin embed "$tmp/msgs.jsonl" --threads "$threads" --quiet > "$tmp/ours.jsonl"
$bin embed "$tmp/msgs.jsonl" --threads "$threads" --quiet --precision f32 > "$tmp/ours-f32.jsonl"
$python - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
ours, peer = json.load(open(f"{tmp}/scamstage.json")), json.load(open(f"{tmp}/peer.json"))
f32, ort = json.load(open(f"{tmp}/scamstage-f32.json")), json.load(open(f"{tmp}/ort.json"))
b = [json.loads(l) for l in open(f"{tmp}/peer.jsonl")]
print(json.dumps({"scamstage": ours, "scamstage_f32": f32, "peer": peer, "peer_ort": ort}, indent=2))
for name, run in (("int8 (default)", ours), ("f32", f32)):
    print(f"{name}, threads {run['threads']}: encoder {run['encoder']['messages_per_s']:.1f} msg/s, "
          f"end-to-end {run['end_to_end']['messages_per_s']:.1f} msg/s, PyTorch encoder {peer['messages_per_s']:.1f} msg/s; "
          f"ratio end-to-end / PyTorch encoder {run['end_to_end']['messages_per_s'] / peer['messages_per_s']:.2f}x, "
          f"encoder / PyTorch encoder {run['encoder']['messages_per_s'] / peer['messages_per_s']:.2f}x")
    print(f"{name}, threads {run['threads']}: ORT int8 encoder {ort['messages_per_s']:.1f} msg/s; "
          f"ratio end-to-end scamstage / ORT int8 encoder {run['end_to_end']['messages_per_s'] / ort['messages_per_s']:.2f}x, "
          f"scamstage encoder / ORT int8 encoder {run['encoder']['messages_per_s'] / ort['messages_per_s']:.2f}x")
print(f"load: PyTorch {peer['load_s']:.2f} s, ORT int8 session {ort['load_s']:.2f} s; ORT peak RSS {ort['peak_rss_mib']:.0f} MiB; "
      f"ORT quantised ops {ort['quantised']}")
embeddings = {
    "scamstage int8 (default)": [json.loads(l)["embedding"] for l in open(f"{tmp}/ours.jsonl")],
    "scamstage f32": [json.loads(l)["embedding"] for l in open(f"{tmp}/ours-f32.jsonl")],
    "ORT int8": [json.loads(l) for l in open(f"{tmp}/ort.jsonl")],
}
for name, a in embeddings.items():
    cos = sorted(sum(x * y for x, y in zip(u, v)) for u, v in zip(a, b))
    print(f"embedding agreement with PyTorch, {name}: min cosine {cos[0]:.5f}, median {cos[len(cos)//2]:.5f}, "
          f"share >= 0.999: {sum(c >= 0.999 for c in cos) / len(cos):.3f}")
PY

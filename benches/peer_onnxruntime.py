#!/usr/bin/env python3
"""The int8 peer for `scamstage bench`: ONNX Runtime running the same multilingual-e5-small
weights (the converted models/multilingual-e5-small directory) exported to ONNX, fused by
onnxruntime's BERT optimizer and dynamically quantised to int8 (per-channel QInt8 weights,
activations quantised on the fly). Same texts, "query: " prefix, tokenizer.json (tokenizers
library), truncation at 512 tokens, batches of 32 sorted by length, mean pooling over the
attention mask and L2 normalisation as benches/peer_pytorch.py. Prints the same JSON report
(plus peak RSS and the quantised operators), and with --embeddings writes one embedding per
line (JSON, input order) for the agreement check.

The export (torch + transformers, f32, dynamic batch and sequence axes), optimisation and
quantisation run once, in a child process, into target/ort-peer/ (not committed); later runs
only load the int8 file, so neither the export's time nor torch's memory is counted.

Run by hand in a virtualenv (not part of the tests):
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install torch onnx onnxruntime transformers tokenizers
    .venv-bench/bin/python benches/peer_onnxruntime.py --threads 2
or through `PYTHON=.venv-bench/bin/python benches/compare.sh 2`, which runs it beside
scamstage and the PyTorch peer.
"""
import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from peer_timing import time_runs, write_embeddings

HEADS, HIDDEN, OPSET = 12, 384, 17


def source_stamp(model_dir):
    """Size and modification time of the weights the cached ONNX files were made from."""
    st = os.stat(os.path.join(model_dir, "model.safetensors"))
    return [st.st_size, st.st_mtime_ns]


def prepare(model_dir, cache):
    """Exports, optimises and quantises the model into `cache` (runs in a child process)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import BertModel

    os.makedirs(cache, exist_ok=True)
    f32, opt, int8 = (os.path.join(cache, n) for n in ("model.onnx", "model-opt.onnx", "model-int8.onnx"))
    # Eager attention exports the MatMul/Softmax pattern the BERT optimizer fuses into Attention.
    bert = BertModel.from_pretrained(model_dir, add_pooling_layer=False, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        """BertModel called with keywords, returning only the last hidden state."""

        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]}
    with torch.inference_mode():
        torch.onnx.export(Encoder().eval(), (ids, mask, torch.zeros_like(ids)), f32, input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)
    optimized = optimize_model(f32, model_type="bert", num_heads=HEADS, hidden_size=HIDDEN)
    fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(opt)
    # Shape inference does not know the fused com.microsoft operators' outputs: they are f32.
    quantize_dynamic(opt, int8, per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})

    def ops(path):
        return collections.Counter(n.op_type for n in onnx.load(path, load_external_data=False).graph.node)

    before, after = ops(opt), ops(int8)
    info = {
        "source": source_stamp(model_dir),
        "export": f"torch {torch.__version__} torch.onnx.export opset {OPSET}",
        "fused": fused,
        "ops_optimised_f32": dict(before),
        "ops_int8": dict(after),
        # Float operators that quantize_dynamic replaced (the rest of the graph stays f32).
        "quantised": {op: n - after.get(op, 0) for op, n in before.items() if after.get(op, 0) < n},
    }
    with open(os.path.join(cache, "prepared.json"), "w") as f:
        json.dump(info, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/multilingual-e5-small")
    ap.add_argument("--file", default="../shared/bench/messages.txt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--embeddings", help="write embeddings (JSON per line, input order) here")
    ap.add_argument("--cache", default="target/ort-peer", help="where the exported ONNX files are kept")
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.prepare_only:
        prepare(a.model, a.cache)
        return
    info_path = os.path.join(a.cache, "prepared.json")
    if not os.path.exists(info_path) or json.load(open(info_path)).get("source") != source_stamp(a.model):
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--prepare-only", "--model", a.model, "--cache", a.cache], check=True)
        print(f"exported and quantised into {a.cache} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    info = json.load(open(info_path))

    import onnxruntime as ort
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    tok = Tokenizer.from_file(f"{a.model}/tokenizer.json")
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(os.path.join(a.cache, "model-int8.onnx"), so, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0
    feeds = {i.name for i in sess.get_inputs()}

    texts = [l.rstrip("\n") for l in open(a.file, encoding="utf-8") if l.strip()]
    inputs = ["query: " + t for t in texts]
    lengths = [len(e.ids) for e in tok.encode_batch(inputs)]  # untruncated, as the PyTorch peer sorts
    order = sorted(range(len(inputs)), key=lambda i: lengths[i])
    tokens = sum(min(n, 512) for n in lengths)
    tok.enable_truncation(512)
    tok.enable_padding(pad_id=tok.token_to_id("<pad>"), pad_token="<pad>")

    def embed_all():
        out = [None] * len(inputs)
        for s in range(0, len(order), a.batch):
            idx = order[s:s + a.batch]
            enc = tok.encode_batch([inputs[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            (hidden,) = sess.run(["last_hidden_state"], {k: v for k, v in batch.items() if k in feeds})
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1.0)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
            for i, v in zip(idx, pooled):
                out[i] = v
        return out

    runs, m, vectors = time_runs(embed_all, a.runs)
    if a.embeddings:
        write_embeddings(a.embeddings, vectors)
    print(json.dumps({
        "peer": f"ONNX Runtime {ort.__version__} int8 (quantize_dynamic, per-channel QInt8), BERT-optimised ONNX",
        "threads": a.threads, "batch": a.batch, "messages": len(texts), "tokens": tokens,
        "load_s": load_s, "runs_s": runs, "median_s": m,
        "messages_per_s": len(texts) / m, "tokens_per_s": tokens / m,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "export": info["export"], "fused": info["fused"], "quantised": info["quantised"],
        "ops_int8": info["ops_int8"],
    }, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The peer for `scamstage bench`: transformers + PyTorch running the same
multilingual-e5-small weights (the converted models/multilingual-e5-small directory), the same
texts, "query: " prefix, mean pooling, L2 normalisation, batches of 32 sorted by length,
truncation at 512 tokens. Prints a JSON report like scamstage's encoder figures, and with
--embeddings writes one embedding per line (JSON) for the agreement check.

Run by hand in a virtualenv (not part of the tests):
    python3 -m venv .venv && .venv/bin/pip install torch transformers
    .venv/bin/python benches/peer_pytorch.py --threads 2
"""
import argparse
import json
import time

import torch
from peer_timing import time_runs, write_embeddings
from transformers import BertModel, PreTrainedTokenizerFast


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/multilingual-e5-small")
    ap.add_argument("--file", default="../shared/bench/messages.txt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--embeddings", help="write embeddings (JSON per line, input order) here")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    tok = PreTrainedTokenizerFast(tokenizer_file=f"{a.model}/tokenizer.json", pad_token="<pad>")
    model = BertModel.from_pretrained(a.model, add_pooling_layer=False).eval()
    load_s = time.perf_counter() - t0
    texts = [l.rstrip("\n") for l in open(a.file, encoding="utf-8") if l.strip()]
    inputs = ["query: " + t for t in texts]
    order = sorted(range(len(inputs)), key=lambda i: len(tok(inputs[i])["input_ids"]))
    tokens = sum(min(len(tok(x)["input_ids"]), 512) for x in inputs)

    def embed_all():
        out = [None] * len(inputs)
        with torch.inference_mode():
            for s in range(0, len(order), a.batch):
                idx = order[s:s + a.batch]
                enc = tok([inputs[i] for i in idx], padding=True, truncation=True, max_length=512, return_tensors="pt")
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                for i, v in zip(idx, pooled):
                    out[i] = v
        return out

    runs, m, vectors = time_runs(embed_all, a.runs)
    if a.embeddings:
        write_embeddings(a.embeddings, [v.tolist() for v in vectors])
    print(json.dumps({
        "peer": f"PyTorch {torch.__version__} f32, transformers BertModel",
        "threads": a.threads, "batch": a.batch, "messages": len(texts), "tokens": tokens,
        "load_s": load_s, "runs_s": runs, "median_s": m,
        "messages_per_s": len(texts) / m, "tokens_per_s": tokens / m,
    }, indent=2))


if __name__ == "__main__":
    main()

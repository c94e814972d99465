#!/usr/bin/env python3
"""Baseline for scamstage: character n-gram TF-IDF + logistic regression, per message.

The same train/test files as the model. Each message is classified on its own text plus
the previous message's text (the simplest context); the conversation's scam score is the
mean non-`none` probability over its messages, thresholded for <= 4 % false positives on a
dev split (20 % of training conversations, seeded). Prints per-language message macro-F1
and conversation metrics as JSON.

    python3 -m venv .venv && .venv/bin/pip install scikit-learn
    .venv/bin/python eval/baseline_tfidf.py --train datasets/authored/*/train*.jsonl \
        --test datasets/authored/*/test.jsonl > eval/baseline.json
"""
import argparse
import collections
import hashlib
import json
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

STAGES = ["none", "contact", "rapport", "isolation", "pitch", "extraction", "recruitment"]


def load(paths):
    convs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            convs.extend(json.loads(line) for line in f if line.strip())
    return convs


def rows(convs):
    texts, labels = [], []
    for c in convs:
        prev = ""
        for m in c["messages"]:
            role = "THEM" if m["sender"] == "them" else "ME"
            texts.append(f"{role}: {m['text']} || {prev}")
            labels.append(m.get("stage", "none"))
            prev = m["text"]
    return texts, labels


def in_dev(cid, seed=42, fraction=0.2):
    h = hashlib.sha256(f"{seed}:{cid}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2**64 < fraction


def conv_scores(model, vec, convs):
    out = []
    for c in convs:
        texts, _ = rows([c])
        p = model.predict_proba(vec.transform(texts))
        none = list(model.classes_).index("none")
        out.append(float((1 - p[:, none]).mean()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--test", nargs="+", required=True)
    a = ap.parse_args()
    train_all = load(a.train)
    dev = [c for c in train_all if in_dev(c["id"])]
    train = [c for c in train_all if not in_dev(c["id"])]
    test = load(a.test)

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=200000)
    x, y = rows(train)
    model = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
    model.fit(vec.fit_transform(x), y)

    dev_scores = conv_scores(model, vec, dev)
    dev_gold = [c["label"] == "scam" for c in dev]
    benign = sorted(s for s, g in zip(dev_scores, dev_gold) if not g)
    allowed_fp = int(0.04 * len(benign))
    threshold = benign[len(benign) - allowed_fp - 1] + 1e-9 if benign else 0.5

    result = {"threshold": threshold, "by_lang": {}}
    by_lang = collections.defaultdict(list)
    for c in test:
        by_lang[c.get("lang", "?")].append(c)
    for lang, convs in sorted(by_lang.items()) + [("all", test)]:
        tx, ty = rows(convs)
        pred = model.predict(vec.transform(tx))
        present = sorted(set(ty) | set(pred))
        scores = conv_scores(model, vec, convs)
        gold = [c["label"] == "scam" for c in convs]
        flagged = [s >= threshold for s in scores]
        tp = sum(f and g for f, g in zip(flagged, gold))
        fp = sum(f and not g for f, g in zip(flagged, gold))
        fn = sum(g and not f for f, g in zip(flagged, gold))
        negatives = sum(not g for g in gold)
        entry = {
            "stage_macro_f1": f1_score(ty, pred, labels=present, average="macro", zero_division=0),
            "scam_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
            "benign_fpr": fp / negatives if negatives else None,
            "roc_auc": roc_auc_score(gold, scores) if len(set(gold)) == 2 else None,
        }
        if lang == "all":
            result["overall"] = entry
        else:
            result["by_lang"][lang] = entry
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

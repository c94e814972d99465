#!/usr/bin/env python3
"""Checks authored corpus files against datasets/LABEL_GUIDE.md.

Usage: python3 datasets/validate.py FILE.jsonl [...]
Prints one line per problem (file:line: what) and a summary; exits 1 on any problem.
"""
import json
import sys

STAGES = ["none", "contact", "rapport", "isolation", "pitch", "extraction", "recruitment"]
TYPES = ["romance_investment", "romance_money", "job_recruitment", "impersonation", "advance_fee",
         "task_scam", "phishing", "investment", "none"]
ORDER = {s: i for i, s in enumerate(STAGES)}


def allowed(a, b):
    """Forward-only moves, as src/decode.rs allows them."""
    if a == b or a == "none":
        return True
    if (a, b) in (("recruitment", "extraction"), ("contact", "recruitment")):
        return True
    if b in ("none", "recruitment") or a in ("recruitment", "extraction"):
        return False
    return ORDER[b] > ORDER[a]


def check(conv):
    problems = []
    for key in ("id", "lang", "label", "scam_type", "messages"):
        if key not in conv:
            problems.append(f"missing `{key}`")
    if problems:
        return problems
    extra = set(conv) - {"id", "lang", "label", "scam_type", "messages"}
    if extra:
        problems.append(f"unknown keys {sorted(extra)}")
    if conv["label"] not in ("scam", "benign"):
        problems.append(f"label {conv['label']!r}")
    if conv["scam_type"] not in TYPES:
        problems.append(f"scam_type {conv['scam_type']!r}")
    if (conv["label"] == "benign") != (conv["scam_type"] == "none"):
        problems.append("benign <=> scam_type none")
    msgs = conv["messages"]
    if not msgs:
        problems.append("no messages")
    stages = []
    for i, m in enumerate(msgs):
        extra = set(m) - {"sender", "text", "ts", "stage"}
        if extra:
            problems.append(f"messages[{i}]: unknown keys {sorted(extra)}")
        if not str(m.get("sender", "")).strip():
            problems.append(f"messages[{i}]: empty sender")
        if not str(m.get("text", "")).strip():
            problems.append(f"messages[{i}]: empty text")
        if len(str(m.get("text", "")).encode()) > 65536:
            problems.append(f"messages[{i}]: over 64 KiB")
        st = m.get("stage")
        if st not in STAGES:
            problems.append(f"messages[{i}]: stage {st!r}")
        stages.append(st)
    if problems:
        return problems
    if conv["label"] == "benign" and any(s != "none" for s in stages):
        problems.append("benign conversation with a non-`none` stage")
    if conv["label"] == "scam":
        if "none" in stages:
            problems.append("scam conversation with a `none` message")
        for i in range(1, len(stages)):
            # The guide lets the order vary slightly (isolation before rapport); it never
            # goes back from extraction, nor from the job-lure track into romance stages.
            if stages[i - 1] in ("extraction", "recruitment") and not allowed(stages[i - 1], stages[i]):
                problems.append(f"messages[{i}]: {stages[i-1]} -> {stages[i]} moves backwards")
                break
    if not any(m["sender"] == "me" for m in msgs) and len(msgs) > 1 and not any(
            m["sender"] == "them" for m in msgs):
        problems.append("no sender is `me` or `them` (the user must be `me`)")
    return problems


def main(paths):
    bad = 0
    seen = set()
    total = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                total += 1
                try:
                    conv = json.loads(line)
                except json.JSONDecodeError as e:
                    print(f"{path}:{n}: invalid JSON: {e}")
                    bad += 1
                    continue
                if conv.get("id") in seen:
                    print(f"{path}:{n}: duplicate id {conv.get('id')!r}")
                    bad += 1
                seen.add(conv.get("id"))
                for p in check(conv):
                    print(f"{path}:{n}: {conv.get('id')}: {p}")
                    bad += 1
    print(f"{total} conversations, {bad} problems", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

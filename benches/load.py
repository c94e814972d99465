#!/usr/bin/env python3
"""Load check for `scamstage serve` (loopback only, bounded in time and requests).

Starts the release binary on an ephemeral loopback port, drives N concurrent clients for
D seconds with a mix of valid conversations (drawn from the authored corpus, each once,
then again under new ids if the run outlasts it) and malformed requests, then stops the server with SIGTERM and checks:

  * no 5xx, and every malformed request got the 4xx it deserves;
  * every valid request was answered exactly once, with the same JSON as offline
    `scamstage score` on the same conversations;
  * the server's resident memory stayed bounded (peak VmRSS is reported);
  * the server exited cleanly after SIGTERM.

It prints throughput (conversations/s, messages/s) and p50/p95/p99 latency next to the
offline `score` throughput measured on the same conversations. Standard library only.

    cargo build --release && python3 benches/load.py --clients 200 --duration 60
"""

import argparse
import glob
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def malformed(rng):
    """A bad request and the status it must get."""
    kind = rng.randrange(5)
    if kind == 0:
        return b'{"messages": [{"sender": "them", "text": "hi"', 400
    if kind == 1:
        return b'{"messages": [{"sender": "them", "text": "caf\xe9"}]}', 400
    if kind == 2:
        return json.dumps({"messages": [{"sender": "them", "text": "   "}]}).encode(), 422
    if kind == 3:
        return json.dumps({"messages": [{"sender": "them", "text": "x" * 70000}]}).encode(), 422
    return json.dumps({"messages": [{"sender": "them", "text": "hi", "stage": "romance"}]}).encode(), 422


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def max_difference(a, b):
    """Largest numeric difference between two JSON values of the same shape; None when
    anything but a number differs (a label, a count, a key)."""
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
            ds = [max_difference(a[k], b[k]) for k in a]
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            ds = [max_difference(x, y) for x, y in zip(a, b)]
        else:
            return 0.0 if a == b else None
        return None if None in ds else max(ds, default=0.0)
    return abs(a - b)


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/scamstage"))
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds during which new requests start")
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--bad-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", nargs="*", default=sorted(glob.glob(os.path.join(ROOT, "datasets/authored/*/*.jsonl"))))
    args = ap.parse_args()

    convs = [json.loads(l) for p in args.data for l in open(p, encoding="utf-8") if l.strip()]
    for c in convs:  # strip gold labels: clients send what a platform would have
        for k in ("label", "scam_type"):
            c.pop(k, None)
        for m in c["messages"]:
            m.pop("stage", None)
    rng = random.Random(args.seed)
    rng.shuffle(convs)

    def rounds():
        """Every conversation once, then again under new ids if the run outlasts the corpus."""
        for n in range(1_000_000):
            for c in convs:
                yield c if n == 0 else dict(c, id=f"{c['id']}#{n}")

    work = rounds()
    lock = threading.Lock()

    server = subprocess.Popen([args.bin, "serve", "--addr", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    first = server.stderr.readline()
    m = re.search(r"http://([\d.]+):(\d+)", first)
    if not m:
        sys.exit(f"load.py: the server did not report its address: {first!r}")
    host, port = m.group(1), int(m.group(2))
    assert host.startswith("127."), "loopback only"
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

    def request(method, path, body=None, timeout=600):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    t0 = time.time()
    while True:
        try:
            if request("GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        if time.time() - t0 > 120:
            sys.exit("load.py: the server never became ready")
        time.sleep(0.1)

    peak = [rss_kib(server.pid)]
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.wait(0.25):
            peak[0] = max(peak[0], rss_kib(server.pid))

    threading.Thread(target=sample, daemon=True).start()

    results = {}  # conversation id -> list of (status, body)
    latencies, bad, problems = [], [], []
    counts = {"requests": 0, "retried_429": 0}
    start = time.time()
    deadline = start + args.duration
    last_answer = [start]

    def client(k):
        crng = random.Random(args.seed * 1000 + k)
        while time.time() < deadline:
            with lock:
                if counts["requests"] >= args.max_requests:
                    return
                counts["requests"] += 1
                conv = None if crng.random() < args.bad_fraction else next(work)
            if conv is None:
                body, want = malformed(crng)
                status, _, text = request("POST", "/v1/score", body)
                with lock:
                    bad.append(status)
                    if status != want:
                        problems.append(f"malformed request got {status}, expected {want}: {text[:200]!r}")
                continue
            body = json.dumps(conv).encode()
            sent = time.time()
            while True:
                status, headers, text = request("POST", "/v1/score", body)
                if status != 429:
                    break
                with lock:
                    counts["retried_429"] += 1
                time.sleep(int(headers.get("retry-after", "1")))
            with lock:
                latencies.append(time.time() - sent)
                results.setdefault(conv["id"], []).append((status, text))
                last_answer[0] = max(last_answer[0], time.time())

    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = last_answer[0] - start
    stop_sampling.set()
    server.send_signal(signal.SIGTERM)
    exit_code = server.wait(timeout=120)

    five_xx = [s for s, _ in (r for rs in results.values() for r in rs) if s >= 500] + [s for s in bad if s >= 500]
    answered = {i: rs for i, rs in results.items()}
    by_id = {c["id"]: c for c in convs}
    sent_convs = [dict(by_id[i.split("#")[0]], id=i) for i in answered]
    messages = sum(len(c["messages"]) for c in sent_convs)

    # Offline reference on exactly the conversations that were served.
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "served.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            for c in sent_convs:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        one = os.path.join(tmp, "one.jsonl")
        with open(one, "w", encoding="utf-8") as f:
            f.write(json.dumps(sent_convs[0], ensure_ascii=False) + "\n")
        t = time.time()
        subprocess.run([args.bin, "score", "--quiet", "--format", "jsonl", one], check=True, capture_output=True)
        load_s = time.time() - t
        t = time.time()
        out = subprocess.run([args.bin, "score", "--quiet", "--format", "jsonl", data], check=True, capture_output=True, text=True)
        offline_s = time.time() - t - load_s
    offline = {json.loads(l)["id"]: json.loads(l) for l in out.stdout.splitlines()}

    mismatched, worst = 0, 0.0
    for i, rs in answered.items():
        if len(rs) != 1:
            problems.append(f"{i}: answered {len(rs)} times")
        status, text = rs[0]
        if status != 200:
            problems.append(f"{i}: status {status}: {text[:200]!r}")
        elif json.loads(text) != offline[i]:
            d = max_difference(json.loads(text), offline[i])
            problems.append(f"{i}: served result differs from offline score (largest numeric difference {d})")
            mismatched += 1
            worst = max(worst, d or 0.0)
    if five_xx:
        problems.append(f"{len(five_xx)} responses with 5xx")
    if exit_code != 0:
        problems.append(f"server exited with {exit_code} after SIGTERM")

    report = {
        "clients": args.clients,
        "duration_s": round(elapsed, 1),
        "requests": counts["requests"],
        "valid_answered": len(answered),
        "distinct_texts": len({i.split("#")[0] for i in answered}),
        "malformed_answered": len(bad),
        "retried_after_429": counts["retried_429"],
        "five_xx": len(five_xx),
        "identical_to_offline": len(answered) - mismatched,
        "different_from_offline": mismatched,
        "largest_numeric_difference": worst,
        "served": {
            "conversations_per_s": round(len(answered) / elapsed, 2),
            "messages_per_s": round(messages / elapsed, 1),
            "latency_s": {q: round(percentile(latencies, int(q[1:])), 2) for q in ("p50", "p95", "p99")},
        },
        "offline_score": {
            "conversations_per_s": round(len(sent_convs) / offline_s, 2),
            "messages_per_s": round(messages / offline_s, 1),
            "model_load_s": round(load_s, 2),
        },
        "served_vs_offline_messages_per_s": round((messages / elapsed) / (messages / offline_s), 2),
        "server_peak_rss_mib": round(peak[0] / 1024, 1),
        "server_exit_code": exit_code,
        "problems": problems,
    }
    print(json.dumps(report, indent=2))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""What the peers share: timing an embedding pass the way `scamstage bench` does, and
writing the embeddings for compare.sh's agreement check."""
import json
import statistics
import time


def time_runs(embed_all, runs):
    """One warm-up pass, then `runs` timed passes: (seconds per run, median, last vectors)."""
    embed_all()
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        vectors = embed_all()
        seconds.append(time.perf_counter() - t)
    return seconds, statistics.median(seconds), vectors


def write_embeddings(path, vectors):
    """One JSON array of floats (6 decimals) per line, in input order."""
    with open(path, "w") as f:
        for v in vectors:
            f.write(json.dumps([round(float(x), 6) for x in v]) + "\n")

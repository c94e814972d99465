#!/usr/bin/env python3
"""Scores a JSONL corpus under Spark (local mode) by piping every partition through
`scamstage score --format jsonl -`, then checks that every input id came back exactly
once and writes the results.

Needs the `pyspark` package and a Java 17+ runtime; `benches/spark_pipe.sh` sets both up
in a virtualenv and runs this. The same `RDD.pipe` call works unchanged on a cluster whose
workers have the binary and the model (`SCAMSTAGE_MODELS_DIR`).

    python3 benches/spark_pipe.py --out /tmp/scored datasets/authored/*/test.jsonl
"""

import argparse
import collections
import json
import os
import shlex
import sys
import time

from pyspark.sql import SparkSession

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="JSONL files, one conversation per line")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/scamstage"))
    ap.add_argument("--out", required=True, help="directory for the scored JSONL (Spark's part files)")
    ap.add_argument("--cores", type=int, default=2, help="Spark local[N]; each task's scamstage uses one thread")
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()

    ids = [json.loads(l)["id"] for p in args.inputs for l in open(p, encoding="utf-8") if l.strip()]
    spark = SparkSession.builder.master(f"local[{args.cores}]").appName("scamstage-pipe").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    started = time.time()
    lines = spark.sparkContext.textFile(",".join(os.path.abspath(p) for p in args.inputs), args.partitions)
    command = f"{shlex.quote(args.bin)} score --quiet --threads 1 --format jsonl -"
    # scamstage exits 1 after skipping a bad line (reported on the task's stderr); the task
    # keeps its other results and the skipped id shows up as missing below.
    scored = lines.pipe(command, checkCode=False).cache()
    scored.saveAsTextFile(args.out)
    returned = collections.Counter(json.loads(l)["id"] for l in scored.collect())
    elapsed = time.time() - started
    partitions = lines.getNumPartitions()
    spark.stop()

    missing = [i for i in ids if i not in returned]
    repeated = [i for i, n in returned.items() if n > 1]
    unknown = [i for i in returned if i not in set(ids)]
    print(json.dumps({
        "inputs": len(ids),
        "returned": sum(returned.values()),
        "partitions": partitions,
        "seconds": round(elapsed, 1),
        "missing": missing[:10],
        "repeated": repeated[:10],
        "unknown": unknown[:10],
        "out": args.out,
    }, indent=2))
    if len(set(ids)) != len(ids):
        sys.exit("spark_pipe.py: input ids are not unique; the exactly-once check needs unique ids")
    sys.exit(1 if missing or repeated or unknown else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Draws the HTTP benchmark's chart from http-bench.sh's raw results (needs matplotlib).

Usage: http-chart.py [Benchmarks/HTTP/.results/http.tsv] [Docs/images/http-benchmark.png]
"""

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Benchmarks/HTTP/.results/http.tsv")
target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "Docs/images/http-benchmark.png")

with open(source, newline="") as f:
    rows = [r for r in csv.DictReader(f, delimiter="\t") if r["req_per_s"]]

labels = [f"({r['row']}) {r['server']}" for r in rows]
rps = [float(r["req_per_s"]) for r in rows]
p99 = [float(r["p99_ms"]) for r in rows]


def colour(server):
    if "SessionKit" in server:
        return "#2f6fdf"
    if "no sessions" in server:
        return "#9aa3b2"
    return "#e08a3c"


colours = [colour(r["server"]) for r in rows]
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.55 * len(rows) + 1.6), sharey=True,
                                  gridspec_kw={"width_ratios": [3, 2]})
y = range(len(rows))
left.barh(y, rps, color=colours)
left.set_yticks(list(y), labels)
left.invert_yaxis()
left.set_xlabel("requests per second (higher is better)")
for i, v in enumerate(rps):
    left.text(v, i, f" {v:,.0f}", va="center", fontsize=9)
left.set_xlim(0, max(rps) * 1.18)
right.barh(y, p99, color=colours)
right.set_xlabel("p99 latency, ms (lower is better)")
for i, v in enumerate(p99):
    right.text(v, i, f" {v:.2f}", va="center", fontsize=9)
right.set_xlim(0, max(p99) * 1.25)
fig.suptitle("Session read + write on every request: wrk, 32 connections, loopback, 2 cores shared with wrk")
fig.tight_layout()
os.makedirs(os.path.dirname(target), exist_ok=True)
fig.savefig(target, dpi=110)
print(f"wrote {target}")

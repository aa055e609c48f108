#!/usr/bin/env python3
"""The scale bench's results (bench-results/scale-<backend>-<runs>.json) as a Markdown table.

  scale_table.py RESULTS_DIR [BEFORE_DIR]

Each cell is the median answer time over one client and, in parentheses, the server's CPU per answer.
With BEFORE_DIR (results of an earlier build, same layout), each cell also shows the earlier median.
"""
import glob
import json
import os
import sys

CASES = [
    ("search_default", "search, first 1000 runs"),
    ("search_by_metric", "search by a metric, first 1000"),
    ("search_filtered", "search, a param filter matching 1 %"),
    ("ui_runs_page", "UI runs page (100 rows + count)"),
    ("run_count", "UI run count (page of 1 row)"),
    ("metric_history", "metric history (100 points)"),
]


def load(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "scale-*-*.json")):
        parts = os.path.basename(path)[: -len(".json")].split("-")
        if len(parts) == 3 and parts[2].isdigit():
            r = json.load(open(path))
            out[(r["backend"], r["runs"])] = r
    return out


def size(n):
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    now = load(sys.argv[1])
    before = load(sys.argv[2]) if len(sys.argv) == 3 else {}
    keys = sorted(now, key=lambda k: (k[0] != "sqlite", k[1]))
    print("| answer | " + " | ".join(f"{'SQLite' if b == 'sqlite' else 'PostgreSQL'} {size(n)}" for b, n in keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for case, label in CASES:
        cells = []
        for k in keys:
            a = now[k]["answers"].get(case)
            cell = f"{a['median_ms']:.1f} ({a['cpu_ms']:.0f})" if a else "–"
            b = before.get(k, {}).get("answers", {}).get(case)
            if b:
                old = b["median_ms"]
                cell = f"{old:.1f} → **{cell}**" if old < 10 else f"{old:,.0f} → **{cell}**"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + " |")
    rows = [
        ("database size", lambda r: f"{r['db_bytes'] / 1e6:,.0f} MB"),
        ("metric points", lambda r: f"{r['metric_points']:,}"),
        ("bytes per point (`metric_points` table and its key)", lambda r: f"{r['bytes_per_point']}" if r["bytes_per_point"] else "–"),
        ("whole database per point", lambda r: f"{r['db_bytes_per_point']:.0f}"),
        ("ready (first answer)", lambda r: f"{r['server']['ready_200_s'] * 1000:.0f} ms"),
        ("idle memory (RSS)", lambda r: f"{r['server']['idle']['rss_mib']} MiB"),
    ]
    for label, f in rows:
        print(f"| {label} | " + " | ".join(f(now[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()

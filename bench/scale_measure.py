#!/usr/bin/env python3
"""Time the answers of a running `mltrack server` on a store seeded by scale_seed.py (stdlib only).

One client, sequential requests on one keep-alive connection, so each time is the server's answer plus
loopback transfer (an upper bound of the server time) and the CPU figure is the server process's own
(utime + stime from /proc) divided by the requests. Each case: 3 warm-up requests, then REPEAT timed ones.

  scale_measure.py --url http://127.0.0.1:5300 --pid PID --json out.json [--repeat 20]

Cases (experiment 1, `scale`, as seeded):
  search_default     runs/search, first page of 1000, default order (start_time DESC)
  search_by_metric   runs/search, first page of 1000, order_by metrics.m01 DESC
  search_filtered    runs/search, params.p00 = 'v7' (1 % of the runs), first page of 1000
  ui_runs_page       GET /experiments/1: the web UI's runs page (100 rows, nested, with the run count)
  run_count          GET /experiments/1?size=1: the same page reduced to one row, so mostly the run count
  metric_history     metrics/get-history of a 100-point series
"""
import argparse
import http.client
import json
import os
import statistics
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


class Client:
    def __init__(self, url: str):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def call(self, method: str, path: str, body=None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        out = resp.read()
        if resp.status != 200:
            raise SystemExit(f"{method} {path}: HTTP {resp.status}: {out[:300]!r}")
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True, help="server pid, for its CPU time")
    ap.add_argument("--json", required=True, help="where the results go")
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    c = Client(a.url)
    search = "/api/2.0/mlflow/runs/search"
    first = json.loads(c.call("POST", search, {"experiment_ids": ["1"], "max_results": 1}))
    oldest = json.loads(
        c.call("POST", search, {"experiment_ids": ["1"], "max_results": 1, "order_by": ["attributes.start_time ASC"]})
    )
    # run 0 (the oldest) is one of the 1 % with 100-point histories
    history_run = oldest["runs"][0]["info"]["run_id"]
    assert first["runs"], "the store has no runs: seed it with scale_seed.py"
    cases = {
        "search_default": ("POST", search, {"experiment_ids": ["1"], "max_results": 1000}, 1000),
        "search_by_metric": (
            "POST", search, {"experiment_ids": ["1"], "max_results": 1000, "order_by": ["metrics.m01 DESC"]}, 1000,
        ),
        "search_filtered": (
            "POST", search, {"experiment_ids": ["1"], "max_results": 1000, "filter": "params.p00 = 'v7'"}, None,
        ),
        "ui_runs_page": ("GET", "/experiments/1", None, None),
        "run_count": ("GET", "/experiments/1?size=1", None, None),
        "metric_history": (
            "GET", f"/api/2.0/mlflow/metrics/get-history?run_id={history_run}&metric_key=m00&max_results=25000", None, None,
        ),
    }
    results = {}
    for name, (method, path, body, expect) in cases.items():
        for _ in range(3):
            out = c.call(method, path, body)
        if expect is not None:
            got = len(json.loads(out).get("runs", []))
            if got != expect:
                raise SystemExit(f"{name}: expected {expect} runs, got {got}")
        if name == "metric_history":
            n = len(json.loads(out)["metrics"])
            if n != 100:
                raise SystemExit(f"{name}: expected 100 points, got {n}")
        times = []
        cpu0 = cpu_seconds(a.pid)
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = c.call(method, path, body)
            times.append((time.perf_counter() - t) * 1000)
        cpu = (cpu_seconds(a.pid) - cpu0) * 1000 / a.repeat
        times.sort()
        results[name] = {
            "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
            "min_ms": round(times[0], 2),
            "cpu_ms": round(cpu, 2),
            "bytes": len(out),
        }
        print(f"  {name:18} median {results[name]['median_ms']:8.2f} ms  p90 {results[name]['p90_ms']:8.2f} ms  "
              f"cpu {cpu:7.2f} ms  {len(out):>9} bytes", flush=True)
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

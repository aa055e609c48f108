#!/usr/bin/env python3
"""Runs ../shared/tools/tracking_bench.py unchanged and adds the PostgreSQL server's own CPU per
request to each case (`"db"` in the JSON), for `BACKEND=postgres bench/tracking.sh`.

Why a wrapper: a tracking server on PostgreSQL hands part of every request to the database
processes, so its own CPU per request understates the cost; the two servers compared differ in
how much they leave to the database. The wrapper samples the PostgreSQL process tree at exactly
the instants the harness samples the tracking server (start and end of each timed window, after
the warm-up), so both numbers cover the same requests.

How the database CPU is counted (utime + stime from /proc/<pid>/stat):
  * `own`: backends whose command line names the benchmark's database (`postgres: 15/main: USER
    DB ...`, autovacuum workers of that database included); a backend born during the window
    counts from zero.
  * `exited`: backends that ended during the window, from the postmaster's cutime + cstime
    (the CPU of reaped children), minus what those that were alive at the start had already used.
  * `background`: the shared processes (WAL writer, checkpointer, background writer, launchers);
    WAL and checkpoints are work the requests caused.
  * `other_dbs`: backends of other databases, reported but not counted (another workload).
`cpu_ms_per_req` = (own + exited + background) / requests. A connection pool that closes and
reopens connections is covered by `exited`; so would be another workload's short-lived
connections, which is why `other_dbs` is shown: if it is not ~0, the machine was shared.

    PG_BENCH_DB=perfpg_x python3 bench/pg_cpu_bench.py --url ... --server-pid PID [tracking_bench args]
    python3 bench/pg_cpu_bench.py --summary mlflow.json ... mltrack.json   # markdown table

Parallel workers count for their leader's database. Needs to run on the database's machine with
permission to read its processes' /proc entries (root, or the postgres user).
"""
import os
import sys

TOOLS = os.path.join(os.environ.get("MLTRACK_SHARED", os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", "..", "shared")), "tools")
sys.dont_write_bytecode = True
sys.path.insert(0, TOOLS)
import tracking_bench as tb  # noqa: E402  (the shared harness, unchanged)

DB = os.environ.get("PG_BENCH_DB", "")
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # after "pid (comm) "
    # fields[0] is state (stat field 3): utime = field 14, stime 15, cutime 16, cstime 17
    return int(fields[1]), int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])


def postmaster_pid():
    """The postgres process whose parent is not a postgres process."""
    pids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids[int(d)] = _stat(d)[0]
            except OSError:
                pass
    roots = [p for p, ppid in pids.items() if ppid not in pids]
    if len(roots) != 1:
        raise SystemExit(f"expected one PostgreSQL postmaster, found {roots}")
    return roots[0]


PM = int(os.environ.get("PG_POSTMASTER_PID") or (postmaster_pid() if DB else 0))


def snapshot():
    """{pid: (kind, ticks)} for the postmaster's children, and the postmaster's reaped ticks."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid, ut, st, _, _ = _stat(d)
            if ppid != PM:
                continue
            with open(f"/proc/{d}/cmdline") as f:
                words = f.read().replace("\0", " ").split()
        except (OSError, ValueError):
            continue
        # "postgres: 15/main: USER DB HOST STATE" or "postgres: 15/main: autovacuum worker DB"
        rest = words[2:]
        if rest[:2] == ["parallel", "worker"] and rest[4:5] and rest[4].isdigit():
            kind = ("leader", int(rest[4]))
        elif rest[:2] == ["autovacuum", "worker"]:
            kind = "own" if DB in rest[2:3] else "other_dbs"
        elif len(rest) >= 2 and rest[0] not in ("walwriter", "checkpointer", "background",
                                                "autovacuum", "logical", "archiver"):
            kind = "own" if rest[1] == DB else "other_dbs"
        else:
            kind = "background"
        procs[int(d)] = (kind, ut + st)
    for pid, (kind, t) in procs.items():  # a parallel worker counts for its leader's database
        if isinstance(kind, tuple):
            procs[pid] = (procs.get(kind[1], ("other_dbs",))[0], t)
    _, _, _, cut, cst = _stat(PM)
    return procs, cut + cst


def delta(a, b):
    (pa, ra), (pb, rb) = a, b
    out = {"own": 0, "background": 0, "other_dbs": 0}
    for pid, (kind, t) in pb.items():
        out[kind] += t - (pa[pid][1] if pid in pa else 0)
    gone = sum(t for pid, (_, t) in pa.items() if pid not in pb)
    out["exited"] = rb - ra - gone
    return {k: round(v / TICK, 2) for k, v in out.items()}


_snaps = []
_orig_usage = tb.server_usage
_orig_timed = tb.timed


def server_usage(pid):
    _snaps.append(snapshot())
    return _orig_usage(pid)


async def timed(name, make, a, host, port, budget):
    _snaps.clear()
    res = await _orig_timed(name, make, a, host, port, budget)
    if len(_snaps) >= 2 and res.get("requests"):
        d = delta(_snaps[0], _snaps[-1])
        cpu = d["own"] + d["exited"] + d["background"]
        res["db"] = {"database": DB, "cpu_s": round(cpu, 2),
                     "cpu_ms_per_req": round(1000 * cpu / res["requests"], 2), "parts_cpu_s": d}
        print(f"[{name}] database cpu {cpu:.2f}s = {res['db']['cpu_ms_per_req']} ms/req "
              f"{d}", flush=True)
    return res


tb.server_usage = server_usage
tb.timed = timed

def summary(paths):
    """A markdown table of several result files, the last one (mltrack) compared with each other."""
    import json
    runs = [(os.path.basename(p).removesuffix(".json"), json.load(open(p))["cases"]) for p in paths]
    *refs, (last, mine) = runs
    hdr = ([f"{n} req/s" for n, _ in runs] + [f"{last} ÷ {n}" for n, _ in refs]
           + ["server CPU ms/req", "DB CPU ms/req", "errors"])
    print("| case | " + " | ".join(hdr) + " |")
    print("|---|" + "---:|" * len(hdr))
    for case in tb.ALL_CASES:
        if case not in mine:
            continue
        rs = [r.get(case, {}) for _, r in runs]
        rate = [r.get("ok_per_s") for r in rs]
        ratios = [f"{rate[-1] / x:.1f}×" if x and rate[-1] is not None else "—" for x in rate[:-1]]
        cpu = lambda k: " / ".join(str(r.get(k, {}).get("cpu_ms_per_req", "—")) for r in rs)  # noqa
        errs = " / ".join(str(r.get("errors", r.get("failed", "—"))) for r in rs)
        cells = ["—" if x is None else f"{x:.1f}" for x in rate] + ratios
        print(f"| {case} | " + " | ".join(cells) + f" | {cpu('server')} | {cpu('db')} | {errs} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--summary"]:
        summary(sys.argv[2:])
        sys.exit(0)
    if "--server-pid" not in sys.argv:
        raise SystemExit("pg_cpu_bench.py needs --server-pid (it samples at the same instants)")
    sys.argv[0] = os.path.join(TOOLS, "tracking_bench.py")
    tb.main()

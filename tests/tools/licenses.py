#!/usr/bin/env python3
"""Every dependency's licence is one deny.toml allows, and every dependency comes from crates.io.

    python3 tests/tools/licenses.py

The same policy `cargo deny check licenses sources` applies, read from the same deny.toml, for
machines without cargo-deny (CI builds nothing extra for it). Licence expressions are SPDX
(`MIT OR Apache-2.0`, `(MIT OR Apache-2.0) AND Unicode-3.0`, `Apache-2.0 WITH LLVM-exception`);
the old `MIT/Apache-2.0` form counts as OR, as crates.io reads it. A crate without a licence
field fails. Exits 1 on any violation.
"""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def tokens(expr):
    expr = expr.replace("/", " OR ")
    return re.findall(r"\(|\)|[A-Za-z0-9.+\-]+", expr)


def satisfiable(expr, allowed):
    """Is there a choice among the ORs that uses only allowed licences?"""
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def atom():
        if peek() == "(":
            take()
            v = disjunction()
            if take() != ")":
                raise ValueError(expr)
            return v
        name = take()
        if peek() == "WITH":
            take()
            name = f"{name} WITH {take()}"
        return name in allowed or name.removesuffix("+") in allowed

    def conjunction():
        v = atom()
        while peek() == "AND":
            take()
            v = atom() and v
        return v

    def disjunction():
        v = conjunction()
        while peek() == "OR":
            take()
            v = conjunction() or v
        return v

    result = disjunction()
    if pos != len(toks):
        raise ValueError(expr)
    return result


def main():
    policy = tomllib.loads((ROOT / "deny.toml").read_text())
    allowed = set(policy["licenses"]["allow"])
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"], cwd=ROOT))
    bad = []
    for p in meta["packages"]:
        if p["source"] is None:
            continue  # this workspace
        if p["source"] != CRATES_IO:
            bad.append(f"{p['name']} {p['version']}: from {p['source']}, not crates.io")
            continue
        lic = p.get("license")
        if not lic:
            bad.append(f"{p['name']} {p['version']}: no licence field")
        elif not satisfiable(lic, allowed):
            bad.append(f"{p['name']} {p['version']}: {lic}")
    n = sum(1 for p in meta["packages"] if p["source"])
    if bad:
        print(f"licenses: {len(bad)} of {n} dependencies break deny.toml:")
        for b in bad:
            print(f"  {b}")
        sys.exit(1)
    print(f"licenses: {n} dependencies, all from crates.io under licences deny.toml allows")


if __name__ == "__main__":
    main()

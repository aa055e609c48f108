"""Generate drift/fixtures/integers.json: integer columns and the numbers Evidently 0.7 gives for them.

Evidently keeps a pandas `int64` column's dtype, and numpy bins integer arrays with its own rule
(`np.histogram_bin_edges`: an automatic bin width below 1 becomes 1). So a 0/1 column has one Sturges
bin and a Hellinger distance of 0, and PSI, KL and Jensen-Shannon change on narrow integer ranges
(more than 20 distinct values spanning fewer than log2(rows) + 1 units). drift/tests/integers.rs
checks the Rust numbers against this file to 1e-9 relative.

Run with the venv described in drift/fixtures/make_fixtures.py (evidently 0.7, pandas 2, scipy):

    ~/.cache/mltrack/evidently-venv/bin/python drift/tests/make_integer_fixtures.py

Each side is stored as distinct values with counts (the tests only see the multiset), which keeps the
million-row cases small; here they are expanded with np.repeat and shuffled before Evidently runs.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures"))
from make_fixtures import DISPLAY_TO_NAME, NUM_METHODS, number, run_report  # noqa: E402
import evidently  # noqa: E402
import scipy  # noqa: E402
from evidently.metrics import ValueDrift  # noqa: E402

warnings.filterwarnings("ignore")
OUT = ROOT / "fixtures" / "integers.json"


def side(values, dtype):
    """Distinct values and counts of one side, as stored in the fixture."""
    uniq, counts = np.unique(np.asarray(values), return_counts=True)
    return {"dtype": dtype, "values": [int(v) if dtype == "int64" else float(v) for v in uniq],
            "counts": [int(c) for c in counts]}


def expand(stored, rng):
    x = np.repeat(np.asarray(stored["values"], dtype=stored["dtype"]), stored["counts"])
    rng.shuffle(x)
    return x


def case(name, ref, cur, rng, note=""):
    r, c = expand(ref, rng), expand(cur, rng)
    assert r.dtype.name == ref["dtype"] and c.dtype.name == cur["dtype"]
    ref_df, cur_df = pd.DataFrame({"x": r}), pd.DataFrame({"x": c})
    metrics = [ValueDrift(column="x")] + [ValueDrift(column="x", method=m) for m in NUM_METHODS]
    results = run_report(ref_df, cur_df, ["x"], [], metrics)
    (cfg, value, status), rest = results[0], results[1:]
    out = {
        "name": name,
        "note": note,
        "reference": ref,
        "current": cur,
        "default": {"stattest": DISPLAY_TO_NAME[cfg["method"]], "threshold": cfg["threshold"],
                    "score": number(value), "drift": status == "FAIL"},
        "methods": {m: {"threshold": cfg["threshold"], "score": number(value), "drift": status == "FAIL"}
                    for m, (cfg, value, status) in zip(NUM_METHODS, rest)},
    }
    print(f"{name:34s} default={out['default']['stattest']:14s} hellinger={out['methods']['hellinger']['score']}"
          f" psi={out['methods']['psi']['score']}")
    return out


def main():
    rng = np.random.default_rng(20261205)
    i64 = lambda a: side(a, "int64")  # noqa: E731
    f64 = lambda a: side(np.asarray(a, dtype=float), "float64")  # noqa: E731
    cases = []
    binary_ref = rng.choice([0, 1], 400, p=[.7, .3])
    binary_cur = rng.choice([0, 1], 300, p=[.5, .5])
    cases.append(case("int_binary_small", i64(binary_ref), i64(binary_cur), rng,
                      note="one integer Sturges bin: Hellinger 0 whatever the shares"))
    cases.append(case("int_binary_large", i64(rng.choice([0, 1], 3000, p=[.8, .2])),
                      i64(rng.choice([0, 1], 2500, p=[.6, .4])), rng))
    cases.append(case("int_ref_float_cur_binary", i64(binary_ref), f64(binary_cur), rng,
                      note="Hellinger's keys are set(ref) | set(cur): the int64 keys win, so integer bins"))
    cases.append(case("int_ref_float_cur_new_value", i64(binary_ref), f64(rng.choice([0, 1, 2], 300)), rng,
                      note="a float key only in current makes Hellinger's keys float64: float bins"))
    cases.append(case("float_ref_int_cur_binary", f64(binary_ref), i64(binary_cur), rng,
                      note="the float64 reference keys win: float bins"))
    cases.append(case("float_binary_small", f64(binary_ref), f64(binary_cur), rng,
                      note="the same data as floats, for contrast"))
    cases.append(case("int_three_values", i64(rng.choice([0, 1, 2], 900, p=[.5, .3, .2])),
                      i64(rng.choice([0, 1, 2], 800, p=[.3, .3, .4])), rng,
                      note="2 integer Hellinger bins instead of 3"))
    cases.append(case("int_sparse_keys", i64(rng.choice([-3, 0, 4, 5], 700)),
                      i64(rng.choice([-3, 0, 4, 5, 6], 650)), rng))
    cases.append(case("int_constant", i64(np.full(1500, 7)), i64(np.full(1200, 7)), rng))
    cases.append(case("int_wide_range", i64(rng.integers(0, 500, 2000)), i64(rng.integers(20, 520, 1800)), rng,
                      note="wide range: integer and float bins agree"))
    # More than 20 distinct values over fewer than log2(rows) + 1 units: Sturges width below 1, so the
    # integer rule changes the PSI/KL/JS bins (2^20 rows give log2 + 1 = 21).
    cases.append(case("int_narrow_range_many_rows",
                      i64(np.clip(np.round(rng.normal(10, 4, 600_000)), 0, 21).astype(np.int64)),
                      i64(np.clip(np.round(rng.normal(11, 4, 500_000)), 0, 21).astype(np.int64)), rng,
                      note="22 values, 1.1M rows: 21 integer bins instead of 22"))
    cases.append(case("int_ref_float_cur_narrow_range_many_rows",
                      i64(rng.integers(0, 21, 600_000)), f64(rng.integers(0, 21, 500_000)), rng,
                      note="pd.concat of int64 and float64 is float64: float bins for PSI/KL/JS"))
    cases.append(case("int_negative_narrow_range_many_rows",
                      i64(rng.integers(-30, -8, 700_000)), i64(rng.integers(-31, -9, 450_000)), rng))
    meta = {
        "generator": "drift/tests/make_integer_fixtures.py",
        "evidently": evidently.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    OUT.write_text(json.dumps({**meta, "cases": cases}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()

"""MLflow `python_function` loader for mltrack's price pipeline: numpy and pandas only, no Spark.

mltrack writes this file into every model it packages (`code/mltrack_pyfunc.py`, MLflow's
`code_paths`) and names it as the flavor's `loader_module`, so

    mlflow.pyfunc.load_model("models:/airbnb-price/Production").predict(df)

works in plain Python. It reads the trees from `pipeline.json`, the same trees `sparkml/` holds
(parquet would need pyarrow), and predicts as `mltrack score` and Spark do: string indexers with
`handle_invalid`, features in the assembler's order, each tree walked in double precision, the mean
over trees (the weighted sum for boosted ensembles; exp of it for log-label models).

Rows the pipeline skips (an unseen or null category, a null/NaN number, under `skip`) come back as
NaN predictions, one prediction per input row in input order. Model config `skipped: drop` returns
only the kept rows instead (index = their input index):
`mlflow.pyfunc.load_model(uri, model_config={"skipped": "drop"})`.
"""
import json

import numpy as np
import pandas as pd

SUPPORTED_FORMAT = 1


class _Tree:
    def __init__(self, nodes, n_categories):
        n = len(nodes)
        self.feature = np.zeros(n, dtype=np.int64)
        self.left = np.arange(n, dtype=np.int64)
        self.right = np.arange(n, dtype=np.int64)
        self.value = np.zeros(n, dtype=np.float64)
        self.threshold = np.full(n, np.inf)
        self.categorical = np.zeros(n, dtype=bool)
        self.leaf = np.ones(n, dtype=bool)
        self.left_set = np.zeros((n, max(n_categories, 1)), dtype=bool)
        for i, node in enumerate(nodes):
            self.value[i] = node["prediction"]
            split = node.get("split")
            if split is None:
                continue
            rule = split["rule"]
            self.leaf[i] = False
            self.feature[i] = rule["feature"]
            self.left[i] = split["left"]
            self.right[i] = split["right"]
            if rule["kind"] == "continuous":
                self.threshold[i] = rule["threshold"]
            else:
                self.categorical[i] = True
                self.left_set[i, rule["categories"]] = True

    def predict(self, x):
        at = np.zeros(x.shape[0], dtype=np.int64)
        rows = np.arange(x.shape[0])
        while True:
            live = ~self.leaf[at]
            if not live.any():
                return self.value[at]
            i = at[live]
            v = x[rows[live], self.feature[i]]
            # Spark's routing: `v <= threshold` left (NaN goes right); a category left when it is in
            # the node's set (a value outside 0..arity goes right).
            cat = self.categorical[i]
            whole = np.isfinite(v) & (v >= 0) & (v < self.left_set.shape[1]) & (v == np.floor(v))
            in_set = np.zeros(v.shape, dtype=bool)
            ok = cat & whole
            in_set[ok] = self.left_set[i[ok], v[ok].astype(np.int64)]
            go_left = np.where(cat, in_set, v <= self.threshold[i])
            at[live] = np.where(go_left, self.left[i], self.right[i])


class MltrackPriceModel:
    """The fitted pipeline; `predict(DataFrame) -> Series` named after the label."""

    def __init__(self, pipeline, skipped="nan"):
        if skipped not in ("nan", "drop"):
            raise ValueError(f"model config `skipped` must be `nan` or `drop`, not `{skipped}`")
        self.skipped = skipped
        self.label = pipeline["label"]
        self.handle_invalid = pipeline["handle_invalid"]
        self.log_label = pipeline["log_label"]
        self.indexers = [
            (i["column"], {label: k for k, label in enumerate(i["labels"])})
            for i in pipeline["indexers"]
        ]
        self.numeric = pipeline["assembler"]["numeric"]
        arity = max([len(labels) + 1 for _, labels in self.indexers] + [1])
        self.trees = [_Tree(t["nodes"], arity) for t in pipeline["forest"]["trees"]]
        # A boosted ensemble (a Spark GBT model imported by mltrack) sums weighted trees.
        self.weights = pipeline["forest"].get("tree_weights")

    def predict(self, model_input, params=None):
        df = pd.DataFrame(model_input)
        n = len(df)
        columns = [c for c, _ in self.indexers] + list(self.numeric)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"input has no column `{missing[0]}`")
        x = np.empty((n, len(columns)), dtype=np.float64)
        bad = np.zeros(n, dtype=bool)
        for j, (column, labels) in enumerate(self.indexers):
            values = df[column]
            index = values.map(lambda v: labels.get(v, -1) if isinstance(v, str) else -1)
            index = index.to_numpy(dtype=np.float64)
            invalid = index < 0
            if invalid.any() and self.handle_invalid == "error":
                row = int(np.argmax(invalid))
                raise ValueError(f"column `{column}` row {row}: unseen or null category")
            if self.handle_invalid == "keep":
                index[invalid] = len(labels)
            else:
                bad |= invalid
            x[:, j] = index
        for j, column in enumerate(self.numeric, start=len(self.indexers)):
            values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
            invalid = ~np.isfinite(values)
            if invalid.any() and self.handle_invalid == "error":
                row = int(np.argmax(invalid))
                raise ValueError(f"column `{column}` row {row}: null or invalid number")
            if self.handle_invalid == "skip":
                bad |= invalid
            x[:, j] = values
        keep = ~bad
        total = np.zeros(int(keep.sum()))
        if self.weights is None:
            for tree in self.trees:
                total = total + tree.predict(x[keep])
            pred = total / len(self.trees)
        else:
            for tree, weight in zip(self.trees, self.weights):
                total = total + weight * tree.predict(x[keep])
            pred = total
        if self.log_label:
            pred = np.exp(pred)
        if self.skipped == "drop":
            return pd.Series(pred, index=df.index[keep], name=self.label)
        out = np.full(n, np.nan)
        out[keep] = pred
        return pd.Series(out, index=df.index, name=self.label)


def _load_pyfunc(path, model_config=None):
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    version = saved.get("format_version")
    if version != SUPPORTED_FORMAT:
        raise ValueError(
            f"{path}: format_version {version} is not supported (expected {SUPPORTED_FORMAT})"
        )
    skipped = (model_config or {}).get("skipped", "nan")
    return MltrackPriceModel(saved["pipeline"], skipped=skipped)

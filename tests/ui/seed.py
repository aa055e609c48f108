"""Seeds a tracking server through the unmodified ``mlflow`` client with what the UI tests look at:
an experiment with runs (params, metric histories), a parent with nested children, artifacts of
every previewable kind (text, JSON, CSV, image, an HTML report), a description, and a registered
model with two versions made from runs.

Run standalone to look at the UI by hand:  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python seed.py
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import uuid

# A 2x2 PNG (red, green / blue, white).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)

REPORT = """<!doctype html><html><head><meta charset="utf-8"><title>Drift report</title>
<style>h1{color:#b42318}</style></head><body><h1>Drift report</h1>
<p id="verdict">Drift detected in 2 of 5 columns</p>
<script>document.title = "script ran"; parent.document.title = "escaped";</script>
</body></html>"""


def seed(prefix: str | None = None) -> dict:
    import mlflow
    from mlflow import MlflowClient

    prefix = prefix or f"ui-{uuid.uuid4().hex[:8]}"
    client = MlflowClient()
    exp_name = f"{prefix}-experiment"
    exp_id = client.create_experiment(exp_name)
    mlflow.set_experiment(experiment_id=exp_id)
    runs = {}
    specs = [
        ("alpha", {"lr": "0.1", "depth": "4", "model": "tree"}, 0.50),
        ("beta", {"lr": "0.01", "depth": "8", "model": "tree"}, 0.30),
        ("gamma", {"lr": "0.001", "depth": "8", "model": "forest"}, 0.70),
    ]
    for name, params, final in specs:
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_params(params)
            for step in range(20):
                loss = final + (1.0 - final) * (0.8 ** step)
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("rmse", final * 100)
            runs[name] = run.info.run_id
    # Artifacts and a description on alpha.
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "notes.txt": "first line\n<b>not bold</b>\n",
            "config.json": json.dumps({"lr": 0.1, "layers": [4, 8]}),
            "data/predictions.csv": "id,prediction,label\n1,0.25,0\n2,0.75,1\n3,\"0,5\",1\n",
            "plots/tiny.png": PNG,
            "reports/drift.html": REPORT,
        }
        for rel, content in files.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(path, mode) as f:
                f.write(content)
        client.log_artifacts(runs["alpha"], tmp)
    client.set_tag(runs["alpha"], "mlflow.note.content", "Baseline with the default learning rate.")
    client.set_tag(runs["alpha"], "team", "pricing")
    # A parent with two nested children.
    with mlflow.start_run(run_name="sweep") as parent:
        mlflow.log_param("trials", "2")
        for i in range(2):
            with mlflow.start_run(run_name=f"trial-{i + 1}", nested=True) as child:
                mlflow.log_param("lr", str(0.05 * (i + 1)))
                mlflow.log_metric("loss", 0.4 + 0.1 * i)
                runs[f"trial-{i + 1}"] = child.info.run_id
        mlflow.log_metric("loss", 0.4)
        runs["sweep"] = parent.info.run_id
    # A registered model with a version from alpha and one from beta.
    model = f"{prefix}-model"
    client.create_registered_model(model, description="Price model")
    v1 = client.create_model_version(model, f"runs:/{runs['alpha']}/model", run_id=runs["alpha"])
    v2 = client.create_model_version(model, f"runs:/{runs['beta']}/model", run_id=runs["beta"])
    client.set_registered_model_alias(model, "champion", v1.version)
    client.transition_model_version_stage(model, v1.version, "Staging")
    return {
        "prefix": prefix,
        "experiment_id": exp_id,
        "experiment_name": exp_name,
        "runs": runs,
        "model": model,
        "versions": [v1.version, v2.version],
    }


if __name__ == "__main__":
    print(json.dumps(seed(), indent=2))

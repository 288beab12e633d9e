"""The analysis job, run as the Processing job runs it: ``python3 analysis.pyz …`` on real splits and a real model."""

import io
import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from sagedrop.analysis.importance import feature_columns, importance_by_column
from sagedrop.analysis.job import MODEL_FILE
from sagedrop.analysis.threshold import ThresholdRule, choose_threshold
from sagedrop.dataset import prepare_dataset, to_headerless_csv
from sagedrop.pipeline.analysing import build_analysis_app
from sagedrop.run_config import RunConfig


@pytest.fixture(scope="module")
def prepared():
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.iloc[:, :8].copy()
    rng = np.random.default_rng(0)
    frame["clinic"] = rng.choice(["north", "south", "east"], len(frame))  # a text column: one-hot features
    frame["diagnosis"] = np.where(data.target == 1, "benign", "malignant")
    csv = frame.to_csv(index=False).encode()
    return prepare_dataset(csv, RunConfig(label="diagnosis"), source="incoming/cancer.csv")


@pytest.fixture(scope="module")
def job_folders(prepared, tmp_path_factory):
    """The folders a Processing job's inputs fill, and a model trained as the built-in algorithm trains."""
    root = tmp_path_factory.mktemp("processing")
    for split in ("train", "validation", "test"):
        folder = root / "input" / split
        folder.mkdir(parents=True)
        (folder / f"{split}.csv").write_bytes(to_headerless_csv(getattr(prepared, split)))
    (root / "input" / "schema").mkdir()
    (root / "input" / "schema" / "schema.json").write_text(json.dumps(prepared.schema))

    def matrix(frame):
        return xgb.DMatrix(frame.iloc[:, 1:].to_numpy(float), label=frame.iloc[:, 0].to_numpy(float))

    booster = xgb.train(
        {"objective": "binary:logistic", "eta": 0.3, "eval_metric": "auc", "nthread": 1},
        matrix(prepared.train),
        num_boost_round=500,
        evals=[(matrix(prepared.validation), "validation")],
        callbacks=[xgb.callback.EarlyStopping(rounds=5, data_name="validation", maximize=True, save_best=True)],
        verbose_eval=False,
    )
    model_file = root / MODEL_FILE
    booster.save_model(str(model_file))
    (root / "input" / "model").mkdir()
    with tarfile.open(root / "input" / "model" / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname=MODEL_FILE)
    (root / "input" / "code").mkdir()
    (root / "input" / "code" / "analysis.pyz").write_bytes(build_analysis_app())
    return root, booster


def run_job(root, *extra):
    arguments = [
        *("--model", root / "input/model", "--schema", root / "input/schema"),
        *("--validation", root / "input/validation", "--test", root / "input/test", "--output", root / "output"),
        *extra,
    ]
    completed = subprocess.run(
        [sys.executable, root / "input/code/analysis.pyz", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={"PATH": "/usr/bin:/bin"},  # no PYTHONPATH: the zip application carries its own code
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads((root / "output" / "analysis.json").read_text())


def test_the_job_chooses_the_threshold_on_the_validation_split(prepared, job_folders):
    root, booster = job_folders
    analysis = run_job(root)
    validation = prepared.validation
    scores = booster.predict(xgb.DMatrix(validation.iloc[:, 1:].to_numpy(float)))
    expected = choose_threshold(validation.iloc[:, 0].to_numpy(), scores, ThresholdRule())
    assert analysis["threshold"]["value"] == pytest.approx(expected.value)
    assert analysis["threshold"]["chosen_on"] == "validation"
    assert analysis["threshold"]["metric"] == "f1"
    assert analysis["threshold"]["rows"] == len(validation)
    assert analysis["threshold"]["score"] >= analysis["threshold"]["score_at_0_5"]


def test_the_job_records_the_rounds_early_stopping_kept(job_folders):
    root, booster = job_folders
    analysis = run_job(root)
    assert analysis["rounds"]["kept"] == booster.num_boosted_rounds()
    assert analysis["rounds"]["best_iteration"] == booster.best_iteration
    assert analysis["rounds"]["kept"] < 500  # early stopping cut it short


def test_the_job_explains_by_uploaded_column(prepared, job_folders):
    root, booster = job_folders
    analysis = run_job(root, "--sample-rows", "10000")  # more than the test split: every row explained
    test = prepared.test
    contributions = booster.predict(xgb.DMatrix(test.iloc[:, 1:].to_numpy(float)), pred_contribs=True)
    expected = importance_by_column(
        contributions, prepared.schema["features"], feature_columns(prepared.schema["encodings"])
    )
    assert analysis["feature_importance"] == expected
    assert analysis["explained_rows"] == len(test)
    columns = {item["column"] for item in analysis["feature_importance"]}
    assert columns <= set(prepared.schema["source_columns"])
    assert not any("_" in column and column.startswith("clinic_") for column in columns)


def test_a_sample_bounds_the_rows_explained(job_folders):
    root, _ = job_folders
    assert run_job(root, "--sample-rows", "25")["explained_rows"] == 25


def test_a_cost_matrix_and_a_fixed_value_reach_the_job(job_folders):
    root, _ = job_folders
    costly = run_job(root, "--threshold-metric", "cost", "--false-positive-cost", "1", "--false-negative-cost", "20")
    assert costly["threshold"]["metric"] == "cost"
    fixed = run_job(root, "--threshold-value", "0.7")
    assert fixed["threshold"] == {"value": 0.7, "chosen_on": "configuration", "metric": None}


def test_the_zip_application_is_reproducible():
    assert build_analysis_app() == build_analysis_app()
    names = set(__import__("zipfile").ZipFile(io.BytesIO(build_analysis_app())).namelist())
    assert {"__main__.py", "sagedrop/analysis/job.py", "sagedrop/analysis/threshold.py"} <= names
    assert not any(name.startswith(("sagedrop/aws", "sagedrop/pipeline")) for name in names)


def test_the_validation_split_is_scored_chunk_by_chunk_over_its_parts(prepared, job_folders, tmp_path, monkeypatch):
    from sagedrop.analysis import job

    _, booster = job_folders
    validation = prepared.validation
    halves = (validation.iloc[: len(validation) // 2], validation.iloc[len(validation) // 2 :])
    files = []
    for index, half in enumerate(halves):
        files.append(tmp_path / f"part-{index:05d}.csv")
        files[-1].write_bytes(to_headerless_csv(half))
    monkeypatch.setattr(job, "CHUNK_ROWS", 7)  # many chunks per part, the last one short

    labels, scores = job.scored_split(files, booster)

    whole = booster.predict(xgb.DMatrix(validation.iloc[:, 1:].to_numpy(float)))
    assert labels.tolist() == validation.iloc[:, 0].astype(float).tolist()
    assert scores == pytest.approx(whole, abs=1e-6)

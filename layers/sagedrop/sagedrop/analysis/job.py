"""The analysis job's entry point: ``python3 analysis.pyz --model DIR --validation DIR ... --output DIR``.

Runs in a SageMaker Processing job on the XGBoost image; every path is a folder the job's
ProcessingInputs fill (see sagedrop.pipeline.analysing). Writes ``analysis.json`` into ``--output``:

``{"rounds": {"kept", "best_iteration"}, "threshold": {"value", "chosen_on", "metric", "score",
"score_at_0_5", "rows"} | null, "feature_importance": [{"column", "importance"}, ...],
"explained_rows", "method"}``

Memory stays bounded by the sample size: the test split is read in chunks and only a uniform
random sample of ``--sample-rows`` rows is kept for the explanations.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sagedrop.analysis.importance import feature_columns, importance_by_column
from sagedrop.analysis.threshold import ThresholdRule, choose_threshold

ANALYSIS_FILE = "analysis.json"
MODEL_FILE = "xgboost-model"  # the built-in algorithm's model file name
BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
CHUNK_ROWS = 50_000


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sagedrop-analysis")
    parser.add_argument("--model", required=True, help="folder holding the training job's model.tar.gz")
    parser.add_argument("--schema", required=True, help="folder holding schema.json")
    parser.add_argument("--validation", help="folder of the validation split's CSV files (label first)")
    parser.add_argument("--test", required=True, help="folder of the test split's CSV files (label first)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--threshold-metric", default="f1")
    parser.add_argument("--false-positive-cost", type=float, default=1.0)
    parser.add_argument("--false-negative-cost", type=float, default=1.0)
    parser.add_argument("--threshold-value", type=float, help="a fixed threshold: nothing is chosen")
    parser.add_argument("--sample-rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load_booster(model_folder: Path):
    import xgboost  # the XGBoost image's own

    archives = sorted(model_folder.glob("*.tar.gz"))
    with tempfile.TemporaryDirectory() as scratch:
        if archives:
            with tarfile.open(archives[0]) as archive:
                member = archive.getmember(MODEL_FILE)
                extracted = archive.extractfile(member)
                model_path = Path(scratch, MODEL_FILE)
                model_path.write_bytes(extracted.read() if extracted else b"")
        else:
            model_path = model_folder / MODEL_FILE
        booster = xgboost.Booster()
        booster.load_model(str(model_path))
    return booster


def csv_files(folder: str | None) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file()) if folder else []


def scored_split(files: list[Path], booster) -> tuple[np.ndarray, np.ndarray]:
    """Labels and the model's scores of a label-first, headerless numeric split, chunk by chunk.

    Only the two columns are kept (16 bytes a row), never the features of the whole split.
    """
    import xgboost

    labels: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for path in files:
        for chunk in pd.read_csv(path, header=None, dtype=float, chunksize=CHUNK_ROWS):
            data = chunk.to_numpy()
            labels.append(data[:, 0])
            scores.append(booster.predict(xgboost.DMatrix(data[:, 1:], missing=np.nan), validate_features=False))
    if not labels:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(labels), np.concatenate(scores)


def sample_split(files: list[Path], rows: int, seed: int) -> np.ndarray:
    """A uniform random sample of at most ``rows`` feature rows, reading chunk by chunk."""
    rng = np.random.default_rng(seed)
    kept_keys = np.zeros(0)
    kept = None
    for path in files:
        for chunk in pd.read_csv(path, header=None, dtype=float, chunksize=CHUNK_ROWS):
            features = chunk.to_numpy()[:, 1:]
            keys = rng.random(len(features))
            all_keys = np.r_[kept_keys, keys]
            all_rows = features if kept is None else np.vstack([kept, features])
            best = np.argsort(all_keys)[:rows]
            kept_keys, kept = all_keys[best], all_rows[best]
    return kept if kept is not None else np.zeros((0, 0))


def analyse(arguments: argparse.Namespace) -> dict:
    import xgboost

    schema = json.loads(Path(arguments.schema, "schema.json").read_text(encoding="utf-8"))
    booster = load_booster(Path(arguments.model))
    best = booster.attr("best_iteration")
    result: dict = {
        "rounds": {"kept": int(booster.num_boosted_rounds()), "best_iteration": int(best) if best else None},
        "threshold": None,
        "method": "TreeSHAP (xgboost pred_contribs) on a sample of the test split",
    }
    if schema["problem_type"] == BINARY:
        result["threshold"] = _threshold(arguments, booster)
    sample = sample_split(csv_files(arguments.test), arguments.sample_rows, arguments.seed)
    features = schema["features"]
    contributions = booster.predict(
        xgboost.DMatrix(sample, missing=np.nan), pred_contribs=True, validate_features=False
    )
    result["feature_importance"] = importance_by_column(contributions, features, feature_columns(schema["encodings"]))
    result["explained_rows"] = int(len(sample))
    result["importance_method"] = f"TreeSHAP (pred_contribs) on {len(sample):,} test rows"
    return result


def _threshold(arguments: argparse.Namespace, booster) -> dict:
    if arguments.threshold_value is not None:
        return {"value": arguments.threshold_value, "chosen_on": "configuration", "metric": None}
    labels, scores = scored_split(csv_files(arguments.validation), booster)
    if len(labels) == 0:
        return {"value": 0.5, "chosen_on": "default", "metric": None, "reason": "no validation split"}
    rule = ThresholdRule(arguments.threshold_metric, arguments.false_positive_cost, arguments.false_negative_cost)
    choice = choose_threshold(labels, scores, rule)
    return {
        "value": round(choice.value, 6),
        "chosen_on": "validation",
        "metric": choice.metric,
        "score": round(choice.score, 6),
        "score_at_0_5": round(choice.score_at_default, 6),
        "rows": int(len(labels)),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    result = analyse(arguments)
    output = Path(arguments.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / ANALYSIS_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({key: result[key] for key in ("rounds", "threshold")}))
    return 0

"""The work the pipeline does, as one plain process: a data scientist's script, for comparison.

pandas one-hot encoding, a seeded shuffle split 70/15/15, XGBoost with sagedrop's own defaults
(``DEFAULT_XGBOOST_HYPERPARAMETERS``: a low eta, early stopping on the validation split), the
decision threshold chosen on the validation split by the pipeline's rule (F1), TreeSHAP
(``pred_contribs``) on a sample of 2,000 test rows, predictions on the test split, accuracy at
the chosen threshold and ROC AUC. The pipeline does all of this too (and more: the data report,
an endpoint, a report page); the script is the floor its overhead is measured against.
Prints one JSON line with its timings.

    python benchmarks/direct_xgboost.py data/bank-full.csv.gz [--label y]
"""

from __future__ import annotations

import argparse
import json
import time

START = time.perf_counter()

import numpy as np  # noqa: E402 - imports are part of what is timed
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402

from sagedrop.analysis.threshold import ThresholdRule, choose_threshold  # noqa: E402
from sagedrop.run_config.hyperparameters import DEFAULT_XGBOOST_HYPERPARAMETERS  # noqa: E402

SEED = 1729
EXPLAINED_ROWS = 2000


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    order = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((order[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def training_parameters() -> tuple[dict, int, int]:
    """sagedrop's defaults as xgboost.train takes them: (params, num_round, early_stopping_rounds)."""
    params = {
        key: float(value) if "." in value else int(value)
        for key, value in DEFAULT_XGBOOST_HYPERPARAMETERS.items()
        if key not in ("num_round", "early_stopping_rounds")
    }
    params |= {"objective": "binary:logistic", "eval_metric": "auc", "verbosity": 0}
    rounds = int(DEFAULT_XGBOOST_HYPERPARAMETERS["num_round"])
    return params, rounds, int(DEFAULT_XGBOOST_HYPERPARAMETERS["early_stopping_rounds"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--label", default="y")
    args = parser.parse_args()
    imported = time.perf_counter()

    frame = pd.read_csv(args.csv)
    y = frame[args.label]
    features = pd.get_dummies(frame.drop(columns=[args.label]), dtype=float)
    classes = sorted(y.unique())
    y = y.map({value: index for index, value in enumerate(classes)}).to_numpy()
    shuffled = np.random.default_rng(SEED).permutation(len(frame))
    n_train, n_validation = int(0.70 * len(frame)), int(0.15 * len(frame))
    train, validation, test = np.split(shuffled, [n_train, n_train + n_validation])
    prepared = time.perf_counter()

    params, rounds, patience = training_parameters()
    dtrain = xgb.DMatrix(features.iloc[train], label=y[train])
    dvalidation = xgb.DMatrix(features.iloc[validation], label=y[validation])
    booster = xgb.train(
        params,
        dtrain,
        rounds,
        evals=[(dvalidation, "validation")],
        early_stopping_rounds=patience,
        verbose_eval=False,
    )
    booster = booster[: booster.best_iteration + 1]  # the model the container saves (save_best)
    trained = time.perf_counter()

    threshold = choose_threshold(y[validation], booster.predict(dvalidation), ThresholdRule()).value
    sample = np.random.default_rng(SEED).choice(test, size=min(EXPLAINED_ROWS, len(test)), replace=False)
    contributions = booster.predict(xgb.DMatrix(features.iloc[sample]), pred_contribs=True)
    importance = np.abs(contributions[:, :-1]).mean(axis=0)
    analysed = time.perf_counter()

    scores = booster.predict(xgb.DMatrix(features.iloc[test]))
    accuracy = float(((scores > threshold).astype(int) == y[test]).mean())
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": len(frame),
                "features": features.shape[1],
                "rounds": booster.num_boosted_rounds(),
                "threshold": round(float(threshold), 4),
                "top_feature": str(features.columns[int(importance.argmax())]),
                "accuracy": round(accuracy, 4),
                "roc_auc": round(roc_auc(y[test], scores), 4),
                "baseline_accuracy": round(float((y[test] == np.bincount(y[train]).argmax()).mean()), 4),
                "seconds": {
                    "import": round(imported - START, 3),
                    "prepare": round(prepared - imported, 3),
                    "train": round(trained - prepared, 3),
                    "analyse": round(analysed - trained, 3),
                    "predict": round(done - analysed, 3),
                    "total": round(done - START, 3),
                },
            }
        )
    )


if __name__ == "__main__":
    main()

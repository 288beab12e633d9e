"""The work the pipeline does, as one plain process: the notebook tutorial's way, for comparison.

pandas one-hot encoding, a seeded shuffle split 70/15/15, XGBoost with the tutorial's
hyperparameters (trained on the train split, validation split for the AUC eval metric),
predictions on the test split, accuracy and ROC AUC. Prints one JSON line with its timings.

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

HYPERPARAMETERS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.7,
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "verbosity": 0,
}
ROUNDS = 50
SEED = 1729


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    order = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((order[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


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

    dtrain = xgb.DMatrix(features.iloc[train], label=y[train])
    dvalidation = xgb.DMatrix(features.iloc[validation], label=y[validation])
    booster = xgb.train(HYPERPARAMETERS, dtrain, ROUNDS, evals=[(dvalidation, "validation")], verbose_eval=False)
    trained = time.perf_counter()

    scores = booster.predict(xgb.DMatrix(features.iloc[test]))
    accuracy = float(((scores > 0.5).astype(int) == y[test]).mean())
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": len(frame),
                "features": features.shape[1],
                "accuracy": round(accuracy, 4),
                "roc_auc": round(roc_auc(y[test], scores), 4),
                "baseline_accuracy": round(float((y[test] == np.bincount(y[train]).argmax()).mean()), 4),
                "seconds": {
                    "import": round(imported - START, 3),
                    "prepare": round(prepared - imported, 3),
                    "train": round(trained - prepared, 3),
                    "predict": round(done - trained, 3),
                    "total": round(done - START, 3),
                },
            }
        )
    )


if __name__ == "__main__":
    main()

"""Which XGBoost defaults should a run train with? A sweep on the pipeline's own splits.

    python benchmarks/defaults_sweep.py [--datasets bank,digits,wine,diabetes,abalone] [--seeds 3] [--runs DIR]
        [--split-seeds 1729,1,2] [--only REGEX] [--threads 1]

Each data set goes through the whole-file preprocessing (``prepare_dataset`` with the built-in run
configuration: label in column 0, the same seed and 70/15/15 split), or, with ``--runs DIR``, the
splits are read back from real runs that ``benchmarks/model_quality.py --out DIR`` kept (exactly
what "Prepare the data" wrote, whichever way it prepares). Each candidate is trained the way
SageMaker's built-in XGBoost trains it: the train and validation channels in the watch list, and
with ``early_stopping_rounds`` the container's ``EarlyStopping(data_name="validation",
metric_name=eval_metric[-1], maximize=…, save_best=True)``, so the saved model is truncated to its
best round and predictions use that. The figures are on the test split, averaged over xgboost
seeds (``subsample`` < 1 makes the seed matter). scikit-learn's HistGradientBoosting trains on the
same train split, with its defaults, and with early stopping on the same validation split. A
binary threshold is chosen on the validation split to maximise F1 by the pipeline's own rule
(sagedrop.analysis.threshold: class 1 above it), for both models, and applied to the test split;
beside it (``f1@bag``, ``f1@smooth``) two candidate rules for choosing it more robustly, and the F1
of the best threshold *on the test split* (``f1@oracle``: not a rule, it shows how much of a gap is
the model and how much the choice of threshold).

``--split-seeds`` repeats everything on other splits (the run configuration's ``seed``) and
averages over splits and seeds: one test split of bank-full has about 600 positives, so its F1
moves by about 0.01 from one split to another, more than the differences being judged.

A benchmark, not a test: it asserts nothing. Uses ``--threads`` threads (default 1).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn import datasets as sk_datasets
from sklearn import metrics as sk_metrics
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threshold_rules import THRESHOLD_RULES, oracle_f1  # beside this script

from sagedrop.dataset import prepare_dataset
from sagedrop.problem_types import XGBOOST_OBJECTIVES, ProblemType
from sagedrop.run_config import RunConfig, resolve_run_config
from sagedrop.run_config.hyperparameters import DEFAULT_XGBOOST_HYPERPARAMETERS
from sagedrop_local.sagemaker.hyperparameters import _MAXIMIZE_METRICS as MAXIMIZE_METRICS

ROOT = Path(__file__).resolve().parents[1]
THREADS = 1  # --threads
# The metrics the container's EarlyStopping maximises (its XGB_MAXIMIZE_METRICS).
MAXIMIZE = frozenset(MAXIMIZE_METRICS)


# --- data ---------------------------------------------------------------------------------------


ABALONE = importlib.resources.files("sklego") / "data" / "abalone.zip" if find_spec("sklego") else None


def _sklearn_csv(loader: Callable) -> bytes:
    frame = loader(as_frame=True).frame
    return frame.to_csv(index=False).encode()


DATASETS: dict[str, tuple[Callable[[], bytes], str]] = {
    "bank": (lambda: gzip.decompress((ROOT / "data" / "bank-full.csv.gz").read_bytes()), "y"),
    "digits": (lambda: _sklearn_csv(sk_datasets.load_digits), "target"),
    "wine": (lambda: _sklearn_csv(sk_datasets.load_wine), "target"),
    "diabetes": (lambda: _sklearn_csv(sk_datasets.load_diabetes), "target"),
    # the UCI table scikit-lego ships in its wheel (a dev dependency): rings, a regression
    "abalone": (lambda: pd.read_csv(ABALONE).to_csv(index=False).encode(), "rings"),
}


@dataclass(frozen=True)
class Splits:
    problem_type: ProblemType
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    class_count: int | None
    default_hyperparameters: dict[str, str]


def pipeline_splits(name: str, split_seed: int | None = None) -> Splits:
    """The train/validation/test splits "Prepare the data" writes for this data set (built-in config).

    ``split_seed``: the run configuration's ``seed`` (None: its default), for another split.
    """
    load, label = DATASETS[name]
    document = {"label": label} | ({} if split_seed is None else {"seed": split_seed})
    config = resolve_run_config(None, document, source=f"benchmark:{name}")
    prepared = prepare_dataset(load(), config, source=f"{name}.csv")

    def xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        values = frame.to_numpy(dtype=float)
        return values[:, 1:], values[:, 0]

    return Splits(
        problem_type=ProblemType(prepared.schema["problem_type"]),
        train=xy(prepared.train),
        validation=xy(prepared.validation),
        test=xy(prepared.test),
        class_count=prepared.schema["class_count"],
        default_hyperparameters=dict(config.hyperparameters),
    )


def run_splits(name: str, runs: Path) -> Splits:
    """The splits a real run wrote on the default split, as model_quality.py --out keeps it.

    ``runs/<name>/seed-<seed>/run/bucket/runs/<run-id>/``: exactly the pipeline's splits, whatever its
    preparation does (label-first headerless part files).
    """
    seed = RunConfig.model_fields["seed"].default
    run_dirs = sorted((runs / name / f"seed-{seed}" / "run" / "bucket" / "runs").glob("*/schema.json"))
    if not run_dirs:
        raise SystemExit(f"{runs / name}: no run of {name} (make one with model_quality.py --out {runs})")
    run_dir = run_dirs[-1].parent
    schema = json.loads((run_dir / "schema.json").read_text())

    def xy(split: str) -> tuple[np.ndarray, np.ndarray]:
        files = sorted((run_dir / "data" / split).glob("*.csv"))
        values = pd.concat([pd.read_csv(path, header=None) for path in files]).to_numpy(dtype=float)
        return values[:, 1:], values[:, 0]

    config = resolve_run_config(None, {"label": DATASETS[name][1]}, source=f"benchmark:{name}")
    return Splits(
        problem_type=ProblemType(schema["problem_type"]),
        train=xy("train"),
        validation=xy("validation"),
        test=xy("test"),
        class_count=schema["class_count"],
        default_hyperparameters=dict(config.hyperparameters),
    )


# --- metrics ------------------------------------------------------------------------------------


def scores_of(problem_type: ProblemType, y: np.ndarray, predicted: np.ndarray, thresholds: Mapping[str, float]) -> dict:
    if problem_type is ProblemType.BINARY:
        # class 1 *above* the threshold, as the pipeline decides (evaluation and endpoint)
        return {
            "roc_auc": sk_metrics.roc_auc_score(y, predicted),
            "f1@0.5": sk_metrics.f1_score(y, predicted > 0.5),
            **{column: sk_metrics.f1_score(y, predicted > value) for column, value in thresholds.items()},
            "f1@oracle": oracle_f1(y, predicted),
            "thr": thresholds.get("f1@thr", 0.5),
            "accuracy": sk_metrics.accuracy_score(y, predicted > 0.5),
            "logloss": sk_metrics.log_loss(y, np.clip(predicted, 1e-15, 1 - 1e-15)),
        }
    if problem_type is ProblemType.MULTICLASS:
        labels = predicted.argmax(axis=1)
        return {
            "accuracy": sk_metrics.accuracy_score(y, labels),
            "macro_f1": sk_metrics.f1_score(y, labels, average="macro"),
            "mlogloss": sk_metrics.log_loss(y, predicted, labels=range(predicted.shape[1])),
        }
    return {
        "r2": sk_metrics.r2_score(y, predicted),
        "rmse": float(np.sqrt(sk_metrics.mean_squared_error(y, predicted))),
        "mae": sk_metrics.mean_absolute_error(y, predicted),
    }


# --- candidates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    hyperparameters: dict[str, str]  # as a run configuration would send them (strings)
    eval_metric: str | None = None  # None: the pipeline's choice for the problem type
    scale_pos_weight: bool = False  # negatives/positives of the train split (binary only)


@dataclass
class Result:
    name: str
    figures: dict[str, float] = field(default_factory=dict)
    rounds: float = 0.0
    seconds: float = 0.0


def tuned(base: Mapping[str, str], **changes: object) -> dict[str, str]:
    """``base`` with ``changes`` (strings, as a run configuration sends them); a None removes the name."""
    merged = {**base, **{name: str(value) for name, value in changes.items() if value is not None}}
    return {name: value for name, value in merged.items() if changes.get(name, "") is not None}


# The set this sweep recommends: early stopping on the validation channel, a lower eta, no gamma or
# min_child_weight (xgboost's 0 and 1: the tutorial's 4 and 6 cost digits 3 points of accuracy).
# (adopted as sagedrop's defaults: the run configuration declares them)
RECOMMENDED = DEFAULT_XGBOOST_HYPERPARAMETERS
#: The AWS bank-marketing tutorial's set, sagedrop's defaults before this sweep.
TUTORIAL_HYPERPARAMETERS = MappingProxyType(
    {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7", "num_round": "50"}
)


def candidates(problem_type: ProblemType, defaults: Mapping[str, str]) -> list[Candidate]:
    """The current defaults, the tutorial's set with early stopping, then variants of RECOMMENDED."""
    other_metric = {ProblemType.BINARY: "logloss", ProblemType.MULTICLASS: "merror"}.get(problem_type)
    tutorial, stopping = TUTORIAL_HYPERPARAMETERS, {"num_round": 2000, "early_stopping_rounds": 50}
    current_is_recommended = dict(defaults) == dict(RECOMMENDED)
    found = [
        Candidate("current defaults = RECOMMENDED" if current_is_recommended else "current defaults", dict(defaults))
    ]
    if dict(defaults) != dict(tutorial):
        found.append(Candidate("tutorial (50 rounds, eta 0.2)", dict(tutorial)))
    found += [
        Candidate("tutorial, eta 0.1, es 50", tuned(tutorial, eta=0.1, **stopping)),
        Candidate("tutorial, eta 0.05, es 50", tuned(tutorial, eta=0.05, **stopping)),
    ]
    if other_metric:
        found.append(
            Candidate(
                f"tutorial, eta 0.05, es 50, stop on {other_metric}",
                tuned(tutorial, eta=0.05, **stopping),
                eval_metric=other_metric,
            )
        )
    if problem_type is ProblemType.BINARY:
        found.append(
            Candidate(
                "tutorial, eta 0.1, es 50, scale_pos_weight",
                tuned(tutorial, eta=0.1, **stopping),
                scale_pos_weight=True,
            )
        )
    plain = tuned(RECOMMENDED, max_depth=6, subsample=0.7, colsample_bytree=None)
    found += [
        Candidate("no gamma/mcw, eta 0.1, depth 6, subsample 0.7", tuned(plain, eta=0.1)),
        Candidate("no gamma/mcw, eta 0.05, depth 5, subsample 0.7", tuned(plain, max_depth=5)),
        Candidate("no gamma/mcw, eta 0.05, depth 6, subsample 0.7", plain),
    ]
    if not current_is_recommended:
        found.append(Candidate("RECOMMENDED", dict(RECOMMENDED)))
    found += [
        Candidate("RECOMMENDED, es 20", tuned(RECOMMENDED, early_stopping_rounds=20)),
        Candidate("RECOMMENDED, num_round 1000", tuned(RECOMMENDED, num_round=1000)),
        Candidate("RECOMMENDED, depth 4", tuned(RECOMMENDED, max_depth=4)),
        Candidate("RECOMMENDED, depth 6", tuned(RECOMMENDED, max_depth=6)),
        Candidate("RECOMMENDED, eta 0.03", tuned(RECOMMENDED, eta=0.03)),
        Candidate("RECOMMENDED, eta 0.1", tuned(RECOMMENDED, eta=0.1)),
        Candidate("RECOMMENDED, min_child_weight 3", tuned(RECOMMENDED, min_child_weight=3)),
        Candidate("RECOMMENDED, min_child_weight 6", tuned(RECOMMENDED, min_child_weight=6)),
    ]
    if other_metric:
        found.append(Candidate(f"RECOMMENDED, stop on {other_metric}", dict(RECOMMENDED), eval_metric=other_metric))
    if problem_type is ProblemType.BINARY:
        found.append(Candidate("RECOMMENDED, scale_pos_weight", dict(RECOMMENDED), scale_pos_weight=True))
    if problem_type is ProblemType.REGRESSION:
        # without the regression default (XGBOOST_OBJECTIVES' min_child_weight 20): xgboost's own value
        found.append(
            Candidate("RECOMMENDED, min_child_weight 1 (xgboost's own)", tuned(RECOMMENDED, min_child_weight=1))
        )
    return found


# --- training -----------------------------------------------------------------------------------


def train_xgboost(splits: Splits, candidate: Candidate, seed: int) -> tuple[xgb.Booster, float]:
    """Train as the built-in container does; return the (truncated) booster and the training seconds."""
    objectives = XGBOOST_OBJECTIVES[splits.problem_type]
    metric = candidate.eval_metric or objectives.eval_metric
    hp = dict(candidate.hyperparameters)
    rounds = int(hp.pop("num_round"))
    patience = int(hp.pop("early_stopping_rounds", 0))
    # as training_hyperparameters: the default objective's own hyperparameters under the candidate's
    params: dict[str, object] = {
        **objectives.hyperparameters,
        **hp,
        "objective": objectives.default,
        "eval_metric": [metric],
    }
    params.update({"nthread": THREADS, "seed": seed, "verbosity": 0})
    if splits.problem_type is ProblemType.MULTICLASS:
        params["num_class"] = splits.class_count
    y_train = splits.train[1]
    if candidate.scale_pos_weight:
        params["scale_pos_weight"] = float((y_train == 0).sum() / max((y_train == 1).sum(), 1))
    started = time.perf_counter()
    dtrain = xgb.DMatrix(splits.train[0], label=y_train, nthread=THREADS)
    dvalidation = xgb.DMatrix(splits.validation[0], label=splits.validation[1], nthread=THREADS)
    callbacks = []
    if patience:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=patience, data_name="validation", metric_name=metric, maximize=metric in MAXIMIZE, save_best=True
            )
        )
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        callbacks=callbacks,
        verbose_eval=False,
    )
    return booster, time.perf_counter() - started


def evaluate_candidate(splits: Splits, candidate: Candidate, seeds: int) -> Result:
    runs = []
    for seed in range(seeds):
        booster, seconds = train_xgboost(splits, candidate, seed)
        predict = lambda x, model=booster: model.predict(xgb.DMatrix(x, nthread=THREADS))  # noqa: E731
        runs.append((measure(splits, predict), booster.num_boosted_rounds(), seconds))
    return averaged(candidate.name, runs)


def measure(splits: Splits, predict: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    thresholds = {}
    if splits.problem_type is ProblemType.BINARY:
        y, scores = splits.validation[1], predict(splits.validation[0])
        thresholds = {column: rule(y, scores) for column, rule in THRESHOLD_RULES.items()}
    return scores_of(splits.problem_type, splits.test[1], predict(splits.test[0]), thresholds)


def averaged(name: str, runs: list[tuple[dict[str, float], int, float]]) -> Result:
    keys = runs[0][0].keys()
    return Result(
        name=name,
        figures={key: float(np.mean([figures[key] for figures, _, _ in runs])) for key in keys},
        rounds=float(np.mean([rounds for _, rounds, _ in runs])),
        seconds=float(np.mean([seconds for _, _, seconds in runs])),
    )


def evaluate_hist_gradient_boosting(splits: Splits, seeds: int, *, our_validation: bool) -> Result:
    """HistGradientBoosting with its defaults, or stopping early on the pipeline's validation split."""
    classifier = splits.problem_type.is_classification
    runs = []
    for seed in range(seeds):
        estimator_class = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
        options: dict[str, object] = {"random_state": seed}
        if our_validation:
            options.update(early_stopping=True, max_iter=1000, n_iter_no_change=20)
        estimator = estimator_class(**options)
        started = time.perf_counter()
        if our_validation:
            estimator.fit(*splits.train, X_val=splits.validation[0], y_val=splits.validation[1])
        else:
            estimator.fit(*splits.train)
        seconds = time.perf_counter() - started
        if splits.problem_type is ProblemType.BINARY:
            predict = lambda x, model=estimator: model.predict_proba(x)[:, 1]  # noqa: E731
        elif classifier:
            predict = estimator.predict_proba
        else:
            predict = estimator.predict
        runs.append((measure(splits, predict), estimator.n_iter_, seconds))
    name = "HistGB, early stopping on our validation" if our_validation else "HistGB defaults"
    return averaged(name, runs)


# --- report -------------------------------------------------------------------------------------

COLUMNS = {
    ProblemType.BINARY: ("roc_auc", "f1@0.5", "f1@thr", "f1@bag", "f1@smooth", "f1@oracle", "thr", "logloss"),
    ProblemType.MULTICLASS: ("accuracy", "macro_f1", "mlogloss"),
    ProblemType.REGRESSION: ("r2", "rmse", "mae"),
}


def table(dataset: str, problem_type: ProblemType, results: list[Result], splits: int) -> str:
    columns = COLUMNS[problem_type]
    width = max(len(result.name) for result in results) + 2
    over = f"{splits} splits × seeds" if splits > 1 else "seeds"
    lines = [f"{dataset} ({problem_type}) — test split, mean over {over}"]
    lines.append(f"{'candidate':<{width}}" + "".join(f"{c:>10}" for c in columns) + f"{'rounds':>9}{'train s':>9}")
    for result in results:
        cells = "".join(f"{result.figures[c]:>10.4f}" for c in columns)
        lines.append(f"{result.name:<{width}}{cells}{result.rounds:>9.0f}{result.seconds:>9.2f}")
    return "\n".join(lines)


#: the figure whose spread over splits is printed under the table
SPREAD = {ProblemType.BINARY: "f1@thr", ProblemType.MULTICLASS: "accuracy", ProblemType.REGRESSION: "r2"}


def spread(problem_type: ProblemType, per_split: list[list[Result]], seeds: list[int | None]) -> str:
    """Each candidate's SPREAD figure on each split, and its standard deviation over the splits."""
    column = SPREAD[problem_type]
    width = max(len(result.name) for result in per_split[0]) + 2
    heads = "".join(f"{'seed ' + str(seed):>11}" for seed in seeds)
    lines = [f"{column} on each split (mean over the xgboost / HistGB seeds)"]
    lines.append(f"{'candidate':<{width}}{heads}{'sd':>9}")
    for same in zip(*per_split, strict=True):
        values = [result.figures[column] for result in same]
        cells = "".join(f"{value:>11.4f}" for value in values)
        lines.append(f"{same[0].name:<{width}}{cells}{float(np.std(values, ddof=1)):>9.4f}")
    return "\n".join(lines)


def over_splits(per_split: list[list[Result]]) -> list[Result]:
    """Each candidate's figures, rounds and seconds averaged over the splits (same candidates in each)."""
    merged = []
    for same in zip(*per_split, strict=True):
        figures = {key: float(np.mean([result.figures[key] for result in same])) for key in same[0].figures}
        rounds = float(np.mean([result.rounds for result in same]))
        merged.append(Result(same[0].name, figures, rounds, float(np.mean([result.seconds for result in same]))))
    return merged


def sweep(splits: Splits, seeds: int, only: re.Pattern[str] | None) -> list[Result]:
    chosen = [
        candidate
        for candidate in candidates(splits.problem_type, splits.default_hyperparameters)
        if only is None or only.search(candidate.name)
    ]
    results = [evaluate_candidate(splits, candidate, seeds) for candidate in chosen]
    results.append(evaluate_hist_gradient_boosting(splits, seeds, our_validation=False))
    results.append(evaluate_hist_gradient_boosting(splits, seeds, our_validation=True))
    return results


def main() -> None:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--seeds", type=int, default=3, help="xgboost / HistGB seeds averaged (default 3)")
    parser.add_argument(
        "--runs",
        metavar="DIR",
        help="take the splits from real runs (model_quality.py --out DIR) instead of prepare_dataset",
    )
    parser.add_argument(
        "--split-seeds", help="comma-separated run-configuration seeds: average over these splits (default: one)"
    )
    parser.add_argument("--only", metavar="REGEX", help="only the candidates whose name matches (HistGB always)")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"xgboost threads (default {THREADS})")
    args = parser.parse_args()
    THREADS = args.threads
    only = re.compile(args.only) if args.only else None
    split_seeds = [int(seed) for seed in args.split_seeds.split(",")] if args.split_seeds else [None]
    if args.runs and args.split_seeds:
        parser.error("--runs reads one real run's splits; --split-seeds makes its own")
    for name in args.datasets.split(","):
        per_split = []
        for split_seed in split_seeds:
            splits = run_splits(name, Path(args.runs)) if args.runs else pipeline_splits(name, split_seed)
            per_split.append(sweep(splits, args.seeds, only))
        print(table(name, splits.problem_type, over_splits(per_split), len(per_split)), flush=True)
        if len(per_split) > 1:
            print(spread(splits.problem_type, per_split, split_seeds), flush=True)
        print(flush=True)


if __name__ == "__main__":
    main()

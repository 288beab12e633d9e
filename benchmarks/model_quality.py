"""Model quality: the real local pipeline beside scikit-learn's HistGradientBoosting, on the same split.

    python benchmarks/model_quality.py [--datasets bank,digits,diabetes,abalone] [--splits 5] [--out DIR]
        [--config FILE.json]

For each data set it runs the whole pipeline with ``sagedrop local run`` (its own process)
(bank-full from ``data/``; scikit-learn's bundled digits and diabetes written to a CSV with a
header first; abalone from the copy scikit-lego ships in its wheel, skipped with the reason when
scikit-lego is not installed), reads the figures from the run's own ``evaluation.json``, then reads
the run's train/validation/test splits back from the local bucket (``runs/<run-id>/data/…``), trains
HistGradientBoosting with its defaults on exactly that train split and scores it on that test split
(the mean over three seeds; a binary threshold chosen on that validation split by the pipeline's own
rule, sagedrop.analysis.threshold, and applied as the pipeline applies it: class 1 above it).

It does so on ``--splits`` splits (default 5): the run configuration's default ``seed`` first, then
seeds 1, 2, …, each a different train/validation/test split of the same file. One test split is
small (bank-full's holds about 800 positives, abalone's 626 rows), and its figures move by more from
one split to the next (F1 by about 0.01, R² by 0.02) than the differences being judged. It prints
one table: data set, metric, sagedrop and HistGB (each the mean over the splits), on how many splits
sagedrop's figure was at least HistGB's, the target from the issue and whether both hold for the
means (the target, and at least HistGB's figure); then each split's figures, and the default
split's estimated cost.
``--config`` gives every run a folder configuration (``sagedrop.json``; the label is set per data
set, the seed per split), e.g. ``{"hyperparameters": {...}}`` to measure candidate defaults through
the real pipeline.

A benchmark, not a test (``make bench``): it asserts nothing and always exits 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality_tables import cost_line, format_splits, format_table, number  # beside this script

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
HISTGB_SEEDS = (0, 1, 2)
DEFAULT_SPLITS = 5  # --splits


@dataclass(frozen=True)
class Check:
    """One row of the table: a metric of a data set, and the figure it should reach."""

    metric: str  # a key of figures(): roc_auc, f1, f1@0.5, accuracy, macro_f1, r2
    target: float | None  # from the issue; None: only "at least HistGB's"
    compare: bool = True  # False: shown for information, no verdict


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    checks: tuple[Check, ...]


DATASETS: dict[str, Dataset] = {
    "bank": Dataset(
        "bank",
        "y",
        (Check("roc_auc", 0.93), Check("f1", 0.60), Check("f1@0.5", None, compare=False)),
    ),
    "digits": Dataset("digits", "target", (Check("accuracy", 0.96), Check("macro_f1", None))),
    # The issue names no target for diabetes: it is only held to HistGB's figure.
    "diabetes": Dataset("diabetes", "target", (Check("r2", None), Check("rmse", None, compare=False))),
    # Rings, 28 whole numbers: more than 10, so a regression by the pipeline's own inference.
    "abalone": Dataset("abalone", "rings", (Check("r2", 0.56), Check("rmse", None, compare=False))),
}
LOWER_IS_BETTER = frozenset({"rmse", "mae", "logloss"})


# --- pure helpers (unit-tested) -----------------------------------------------------------------


def sagedrop_figures(evaluation: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures of a run's evaluation.json, by the names of Check.metric.

    With a chosen threshold (binary), ``metrics`` holds the figures at it and ``metrics_at_0_5`` those
    at 0.5; without one, ``metrics`` is at 0.5 and there is no figure "at the chosen threshold".
    """
    metrics = dict(evaluation.get("metrics") or {})
    figures: dict[str, float | None] = {
        name: number(value) for name, value in metrics.items() if name not in {"f1", "per_class"}
    }
    threshold = evaluation.get("threshold")
    if evaluation.get("problem_type") == "binary_classification":
        at_half = evaluation.get("metrics_at_0_5") if threshold else metrics
        figures["f1@0.5"] = number((at_half or {}).get("f1"))
        figures["f1"] = number(metrics.get("f1")) if threshold else None
        figures["threshold"] = number(threshold.get("value")) if isinstance(threshold, Mapping) else None
    elif "f1" in metrics:
        figures["f1"] = number(metrics["f1"])
    return figures


def estimated_cost(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``estimated_cost_usd`` of the pipeline's run.json (the local run's record wraps it)."""
    for document in (record, record.get("pipeline_record") or {}):
        cost = document.get("estimated_cost_usd")
        if cost is not None:
            return cost if isinstance(cost, Mapping) else {"total_usd": cost}
    return None


def rounds_used(record: Mapping[str, Any], evaluation: Mapping[str, Any]) -> int | None:
    """The boosting rounds the model kept, where the run recorded them (evaluation.json or run.json)."""
    pipeline = record.get("pipeline_record") or {}
    for holder in (evaluation, evaluation.get("training") or {}, pipeline, pipeline.get("training") or {}):
        rounds = holder.get("rounds") if isinstance(holder, Mapping) else None
        if isinstance(rounds, Mapping):
            rounds = rounds.get("kept", rounds.get("used"))
        if isinstance(rounds, int) and not isinstance(rounds, bool):
            return rounds
    return None


def mean_figures(runs: list[Mapping[str, float]]) -> dict[str, float]:
    """Each figure's mean over the runs that have it."""
    names = dict.fromkeys(name for run in runs for name in run)
    return {name: sum(run[name] for run in runs if name in run) / sum(name in run for run in runs) for name in names}


def verdict(metric: str, value: float | None, reference: float | None, check: Check) -> str:
    """'pass' when the figure reaches the target and is at least HistGB's, 'FAIL' if not, '—' when unjudged."""
    if not check.compare:
        return "—"
    if value is None:
        return "n/a"
    meets_target = check.target is None or at_least(metric, value, check.target)
    beats_reference = reference is None or at_least(metric, value, reference)
    return "pass" if meets_target and beats_reference else "FAIL"


def at_least(metric: str, value: float, other: float) -> bool:
    """``value`` is at least as good as ``other`` (lower is better for the errors)."""
    return value <= other if metric in LOWER_IS_BETTER else value >= other


def split_seeds(count: int, default_seed: int) -> list[int]:
    """``count`` run-configuration seeds: the default split's first, then 1, 2, … (not the default again)."""
    others = (seed for seed in itertools.count(1) if seed != default_seed)
    return [default_seed, *itertools.islice(others, count - 1)]


def mean_of(values: list[float | None]) -> float | None:
    """The mean of the figures that exist, None if none does."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def splits_won(metric: str, ours: list[float | None], theirs: list[float | None]) -> str:
    """On how many splits (with both figures) sagedrop's was at least HistGB's, as ``"k/n"``."""
    pairs = [(mine, other) for mine, other in zip(ours, theirs, strict=True) if None not in (mine, other)]
    return f"{sum(at_least(metric, mine, other) for mine, other in pairs)}/{len(pairs)}"


def summary_row(dataset: str, check: Check, ours: list[float | None], theirs: list[float | None]) -> dict[str, Any]:
    """One row of the table from each split's figures (same order): the means, splits won and the verdict."""
    mine, other = mean_of(ours), mean_of(theirs)
    return {
        "dataset": dataset,
        "metric": check.metric,
        "sagedrop": mine,
        "histgb": other,
        "won": splits_won(check.metric, ours, theirs) if check.compare else "—",
        "target": check.target,
        "verdict": verdict(check.metric, mine, other, check),
    }


# --- the runs -----------------------------------------------------------------------------------


def unavailable(name: str) -> str | None:
    """Why the data set cannot be had offline here, or None."""
    if name == "abalone" and importlib.util.find_spec("sklego") is None:
        return "abalone skipped: scikit-lego (which ships the UCI abalone data in its wheel) is not installed"
    return None


def dataset_csv(name: str, folder: Path) -> Path:
    """The CSV a user would upload for the data set (bank-full as shipped; the others with a header)."""
    if name == "bank":
        return ROOT / "data" / "bank-full.csv.gz"
    if name == "abalone":
        import importlib.resources

        import pandas as pd

        # sklego.datasets.load_abalone reads the same file; the CSV is the UCI table with a header
        path = folder / "abalone.csv"
        pd.read_csv(importlib.resources.files("sklego") / "data" / "abalone.zip").to_csv(path, index=False)
        return path
    from sklearn import datasets as sk_datasets

    loader = {"digits": sk_datasets.load_digits, "diabetes": sk_datasets.load_diabetes}[name]
    path = folder / f"{name}.csv"
    loader(as_frame=True).frame.to_csv(path, index=False)
    return path


def run_pipeline(
    csv: Path, label: str, out: Path, state_dir: Path, log: Path, config: str | None = None
) -> tuple[dict, dict, Path]:
    """One ``sagedrop local run`` (its own process): its run.json, evaluation.json and bucket copy.

    A process per run, as a user starts it.
    """
    command = [sys.executable, "-m", "sagedrop_local.cli", "local", "run", str(csv), "--label", label]
    command += ["--out", str(out), "--state-dir", str(state_dir)] + (["--config", config] if config else [])
    with log.open("w") as stream:
        status = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, cwd=ROOT, check=False).returncode
    if status != 0:
        sys.exit(f"the pipeline run on {csv.name} failed:\n{log.read_text()}")
    record = json.loads((out / "run.json").read_text())
    evaluation = json.loads((out / "evaluation.json").read_text())
    return record, evaluation, out / "bucket" / "runs" / record["run_id"]


def read_split(run_dir: Path, split: str):
    """A label-first headerless split as the pipeline wrote it: (features, labels)."""
    import pandas as pd

    files = sorted((run_dir / "data" / split).glob("*.csv"))
    if not files:
        return None
    values = pd.concat([pd.read_csv(path, header=None) for path in files]).to_numpy(dtype=float)
    return values[:, 1:], values[:, 0]


def histgb_figures(problem_type: str, run_dir: Path) -> dict[str, float]:
    """HistGradientBoosting (defaults) on the run's train split, scored on its test split; mean over seeds.

    Its seed matters (the internal early-stopping split on bank-full, >10,000 rows): one seed's F1 at
    the chosen threshold can be 0.01 off its mean, more than the differences being judged.
    """
    splits = tuple(read_split(run_dir, split) for split in ("train", "validation", "test"))
    return mean_figures([_histgb_once(problem_type, *splits, seed=seed) for seed in HISTGB_SEEDS])


def _histgb_once(problem_type: str, train, validation, test, *, seed: int) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from sagedrop.analysis.threshold import F1, ThresholdRule, choose_threshold

    x_test, y_test = test
    if problem_type == "regression":
        predicted = HistGradientBoostingRegressor(random_state=seed).fit(*train).predict(x_test)
        return {
            "r2": metrics.r2_score(y_test, predicted),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y_test, predicted))),
        }
    model = HistGradientBoostingClassifier(random_state=seed).fit(*train)
    if problem_type == "multiclass_classification":
        predicted = model.predict(x_test)
        return {
            "accuracy": metrics.accuracy_score(y_test, predicted),
            "macro_f1": metrics.f1_score(y_test, predicted, average="macro"),
        }
    # Class 1 *above* the threshold, as the pipeline's evaluation and endpoint decide.
    scores = model.predict_proba(x_test)[:, 1]
    figures = {
        "roc_auc": metrics.roc_auc_score(y_test, scores),
        "f1@0.5": metrics.f1_score(y_test, scores > 0.5),
        "accuracy": metrics.accuracy_score(y_test, scores > 0.5),
    }
    if validation is not None:
        # The pipeline's own choice (its analysis step), so both sides get the same rule.
        x_validation, y_validation = validation
        choice = choose_threshold(y_validation, model.predict_proba(x_validation)[:, 1], ThresholdRule(F1))
        figures["f1"] = metrics.f1_score(y_test, scores > choice.value)
        figures["threshold"] = choice.value
    return figures


def measure(
    name: str, work: Path, state_dir: Path, config: Mapping[str, Any], seeds: list[int]
) -> tuple[list[dict], list[dict], str, dict]:
    """The pipeline and HistGB on each split of one data set: table rows, per-split entries, cost, facts.

    The cost and the facts (time, rounds, thresholds) are the default split's (the first seed).
    """
    dataset = DATASETS[name]
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    csv = dataset_csv(name, folder)
    ours, theirs, cost, facts = [], [], "", {}
    for seed in seeds:
        out = folder / f"seed-{seed}"
        out.mkdir()
        config_file = out / "sagedrop.json"
        config_file.write_text(json.dumps({**config, "seed": seed}))
        print(f"  split seed {seed} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        record, evaluation, run_dir = run_pipeline(
            csv, dataset.label, out / "run", state_dir, out / "run.log", str(config_file)
        )
        seconds = time.perf_counter() - started
        ours.append(sagedrop_figures(evaluation))
        theirs.append(histgb_figures(evaluation["problem_type"], run_dir))
        if not facts:
            cost = cost_line(name, estimated_cost(record))
            facts = {
                "seconds": seconds,
                "threshold": ours[0].get("threshold"),
                "histgb_threshold": theirs[0].get("threshold"),
                "rounds": rounds_used(record, evaluation),
            }
    rows, entries = [], []
    for check in dataset.checks:
        mine = [figures.get(check.metric) for figures in ours]
        other = [figures.get(check.metric) for figures in theirs]
        rows.append(summary_row(name, check, mine, other))
        entries.append({"dataset": name, "metric": check.metric, "ours": mine, "theirs": other})
    return rows, entries, cost, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument(
        "--splits", type=int, default=DEFAULT_SPLITS, help=f"splits per data set (default {DEFAULT_SPLITS})"
    )
    parser.add_argument(
        "--out", help="keep each run's outputs here, <data set>/seed-<seed>/ (default: a temporary folder)"
    )
    parser.add_argument(
        "--config", metavar="FILE.json", help="a sagedrop.json for every run (its label and seed are ignored)"
    )
    args = parser.parse_args()
    names = args.datasets.split(",")
    unknown = [name for name in names if name not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    if args.splits < 1:
        parser.error("--splits must be at least 1")
    from sagedrop.run_config import RunConfig

    seeds = split_seeds(args.splits, RunConfig.model_fields["seed"].default)
    config = json.loads(Path(args.config).read_text()) if args.config else {}
    # Same as `sagedrop local run`: xgboost's spinning OpenMP threads slow everything on a busy machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.out) if args.out else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        rows, entries, costs, notes = [], [], [], []
        for name in names:
            reason = unavailable(name)
            if reason:
                print(reason, file=sys.stderr, flush=True)
                notes.append(reason)
                continue
            print(f"running the pipeline on {name} …", file=sys.stderr, flush=True)
            dataset_rows, dataset_entries, cost, facts = measure(name, work, work / "local-state", config, seeds)
            rows += dataset_rows
            entries += dataset_entries
            costs.append(cost)
            notes.append(_facts_line(name, facts))
    print(format_table(rows))
    print(
        f"Each figure is the mean over {len(seeds)} split(s), run-configuration seeds {', '.join(map(str, seeds))}. "
        "pass: the means reach the target (the issue's) and HistGB's figure. HistGB: scikit-learn's "
        "HistGradientBoosting, defaults, mean over random_state 0, 1, 2, trained on each run's own train split."
    )
    print()
    print(format_splits(entries, seeds))
    print()
    for line in notes + costs:
        print(line)


def _facts_line(name: str, facts: Mapping[str, Any]) -> str:
    parts = [f"default split: run {facts['seconds']:.1f} s"]
    if facts.get("rounds") is not None:
        parts.append(f"rounds {facts['rounds']}")
    if facts.get("threshold") is not None:
        parts.append(f"sagedrop threshold {facts['threshold']:.3f}")
    if facts.get("histgb_threshold") is not None:
        parts.append(f"HistGB threshold {facts['histgb_threshold']:.3f} (chosen on the run's validation split)")
    return f"{name}: " + ", ".join(parts)


if __name__ == "__main__":
    main()

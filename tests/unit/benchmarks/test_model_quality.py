"""The quality benchmark's pure helpers: reading evaluation.json and run.json, judging, the table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[3] / "benchmarks" / "model_quality.py"
if str(PATH.parent) not in sys.path:
    sys.path.append(str(PATH.parent))  # the script imports quality_tables from beside it
_spec = importlib.util.spec_from_file_location("model_quality", PATH)
model_quality = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("model_quality", model_quality)  # dataclasses look their module up there
_spec.loader.exec_module(model_quality)

Check = model_quality.Check


def binary_evaluation(**extra) -> dict:
    return {
        "problem_type": "binary_classification",
        "metrics": {"accuracy": 0.9, "precision": 0.6, "recall": 0.4, "f1": 0.48, "roc_auc": 0.925},
        **extra,
    }


def test_with_a_chosen_threshold_f1_is_read_at_it_and_the_0_5_figure_from_metrics_at_0_5():
    evaluation = binary_evaluation(
        threshold={"value": 0.31, "chosen_on": "validation", "metric": "f1"},
        metrics_at_0_5={"accuracy": 0.905, "f1": 0.5, "roc_auc": 0.925},
    )
    evaluation["metrics"]["f1"] = 0.62

    figures = model_quality.sagedrop_figures(evaluation)

    assert figures["f1"] == 0.62
    assert figures["f1@0.5"] == 0.5
    assert figures["threshold"] == 0.31
    assert figures["roc_auc"] == 0.925


def test_without_a_threshold_there_is_no_figure_at_the_chosen_threshold():
    figures = model_quality.sagedrop_figures(binary_evaluation())

    assert figures["f1"] is None
    assert figures["f1@0.5"] == 0.48
    assert figures["threshold"] is None


def test_multiclass_and_regression_figures_come_from_metrics():
    multiclass = {"problem_type": "multiclass_classification", "metrics": {"accuracy": 0.97, "macro_f1": 0.96}}
    regression = {"problem_type": "regression", "metrics": {"rmse": 55.0, "mae": 44.0, "r2": 0.5}}

    assert model_quality.sagedrop_figures(multiclass)["accuracy"] == 0.97
    assert model_quality.sagedrop_figures(multiclass)["macro_f1"] == 0.96
    assert model_quality.sagedrop_figures(regression)["r2"] == 0.5


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"pipeline_record": {"estimated_cost_usd": {"total_usd": 0.03, "items": []}}}, 0.03),
        ({"estimated_cost_usd": 0.02}, 0.02),
        ({"pipeline_record": {"status": "SUCCEEDED"}}, None),
        ({"pipeline_record": None}, None),
    ],
)
def test_the_estimated_cost_is_found_in_the_pipeline_record_or_the_record(record, expected):
    cost = model_quality.estimated_cost(record)

    assert (cost or {}).get("total_usd") == expected


def test_the_cost_line_names_the_total_and_the_parts_or_says_it_is_missing():
    cost = {
        "total_usd": 0.03,
        "items": [{"what": "Training", "usd": 0.01}, {"what": "Endpoint", "usd": 0.02}],
        "prices_as_of": "2026-11-22",
        "complete": False,
    }

    line = model_quality.cost_line("bank", cost)

    assert line.startswith("bank: estimated cost of the run $0.0300")
    assert "Training $0.0100; Endpoint $0.0200" in line
    assert "prices as of 2026-11-22" in line and "incomplete" in line
    assert "no estimated_cost_usd" in model_quality.cost_line("bank", None)


@pytest.mark.parametrize(
    ("metric", "value", "reference", "check", "expected"),
    [
        ("roc_auc", 0.935, 0.93, Check("roc_auc", 0.93), "pass"),
        ("roc_auc", 0.925, 0.92, Check("roc_auc", 0.93), "FAIL"),  # below the target
        ("roc_auc", 0.935, 0.94, Check("roc_auc", 0.93), "FAIL"),  # below HistGB
        ("r2", 0.50, 0.45, Check("r2", None), "pass"),  # no target: HistGB alone decides
        ("rmse", 50.0, 52.0, Check("rmse", None), "pass"),  # lower is better
        ("rmse", 53.0, 52.0, Check("rmse", None), "FAIL"),
        ("f1", None, 0.6, Check("f1", 0.60), "n/a"),  # no threshold chosen yet
        ("f1@0.5", 0.5, 0.6, Check("f1@0.5", None, compare=False), "—"),
    ],
)
def test_verdict(metric, value, reference, check, expected):
    assert model_quality.verdict(metric, value, reference, check) == expected


def test_mean_figures_averages_each_figure_over_the_runs_that_have_it():
    runs = [{"roc_auc": 0.92, "f1": 0.60}, {"roc_auc": 0.94, "f1": 0.64}, {"roc_auc": 0.93}]

    mean = model_quality.mean_figures(runs)

    assert mean["roc_auc"] == pytest.approx(0.93)
    assert mean["f1"] == pytest.approx(0.62)


def test_rounds_used_reads_the_kept_rounds_where_the_run_recorded_them():
    assert model_quality.rounds_used({}, {"rounds": {"kept": 120, "best_iteration": 119}}) == 120
    assert model_quality.rounds_used({"pipeline_record": {"training": {"rounds": 80}}}, {}) == 80
    assert model_quality.rounds_used({"pipeline_record": None}, {}) is None


def test_the_splits_start_with_the_default_split_and_never_repeat_one():
    assert model_quality.split_seeds(1, 1729) == [1729]
    assert model_quality.split_seeds(4, 1729) == [1729, 1, 2, 3]
    assert model_quality.split_seeds(3, 2) == [2, 1, 3]


def test_a_summary_row_judges_the_means_and_counts_the_splits_won_by_each_split():
    check = Check("r2", 0.56)
    row = model_quality.summary_row("abalone", check, [0.55, 0.58, 0.57], [0.56, 0.54, 0.57])

    assert row["sagedrop"] == pytest.approx(0.5667, abs=1e-4)
    assert row["histgb"] == pytest.approx(0.5567, abs=1e-4)
    assert row["won"] == "2/3"  # lost the first, won the second, tied the third
    assert row["verdict"] == "pass"  # the means: 0.5667 ≥ 0.56 and ≥ HistGB's 0.5567
    below = model_quality.summary_row("abalone", check, [0.55, 0.55], [0.50, 0.50])
    assert below["won"] == "2/2" and below["verdict"] == "FAIL"  # beats HistGB, misses the target


def test_splits_won_counts_lower_errors_as_better_and_skips_missing_figures():
    assert model_quality.splits_won("rmse", [2.0, 2.5, None], [2.1, 2.4, 2.0]) == "1/2"
    assert model_quality.summary_row("bank", Check("f1@0.5", None, compare=False), [0.5], [0.6])["won"] == "—"
    assert model_quality.summary_row("bank", Check("f1", 0.6), [None, None], [0.6, 0.6])["verdict"] == "n/a"


def test_each_splits_figures_are_printed_side_by_side_under_their_seed():
    entries = [{"dataset": "bank", "metric": "roc_auc", "ours": [0.9383, 0.935], "theirs": [0.9376, None]}]

    lines = model_quality.format_splits(entries, [1729, 1]).splitlines()

    assert "seed 1729: sagedrop / HistGB" in lines[0] and "seed 1: sagedrop / HistGB" in lines[0]
    assert "0.9383 / 0.9376" in lines[2] and "0.9350 / —" in lines[2]


def test_the_table_aligns_its_columns_and_shows_missing_figures_as_a_dash():
    rows = [
        {
            "dataset": "bank",
            "metric": "roc_auc",
            "sagedrop": 0.93456,
            "histgb": 0.9301,
            "target": 0.93,
            "verdict": "pass",
        },
        {"dataset": "diabetes", "metric": "f1", "sagedrop": None, "histgb": 0.61, "target": None, "verdict": "n/a"},
    ]

    lines = model_quality.format_table(rows).splitlines()

    assert len(lines) == 4  # header, rule, two rows
    assert "0.9346" in lines[2] and "≥ 0.93" in lines[2]
    assert "—" in lines[3]
    # the numeric columns are right-aligned: each figure ends where its header ends
    header_end = lines[0].index("HistGB") + len("HistGB")
    assert lines[2][header_end - 6 : header_end] == "0.9301"
    assert lines[3][header_end - 6 : header_end] == "0.6100"


def test_histgb_gets_the_threshold_the_pipeline_would_choose_on_the_validation_split_and_applies_it_above():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score

    from sagedrop.analysis.threshold import F1, ThresholdRule, choose_threshold

    rng = np.random.default_rng(7)

    def split(rows):
        x = rng.normal(size=(rows, 3))
        return x, (x[:, 0] + rng.normal(scale=1.5, size=rows) > 1.2).astype(float)

    train, validation, test = split(600), split(300), split(300)

    figures = model_quality._histgb_once("binary_classification", train, validation, test, seed=0)

    model = HistGradientBoostingClassifier(random_state=0).fit(*train)
    expected = choose_threshold(validation[1], model.predict_proba(validation[0])[:, 1], ThresholdRule(F1)).value
    assert figures["threshold"] == expected
    assert figures["f1"] == f1_score(test[1], model.predict_proba(test[0])[:, 1] > expected)


def test_abalone_is_skipped_with_the_reason_when_scikit_lego_is_missing(monkeypatch):
    monkeypatch.setattr(model_quality.importlib.util, "find_spec", lambda name: None)

    assert "scikit-lego" in model_quality.unavailable("abalone")
    assert model_quality.unavailable("digits") is None


def test_abalone_is_written_from_scikit_legos_bundled_copy_with_its_rings_label(tmp_path):
    pytest.importorskip("sklego")
    import pandas as pd

    frame = pd.read_csv(model_quality.dataset_csv("abalone", tmp_path))

    assert len(frame) == 4177
    assert model_quality.DATASETS["abalone"].label in frame.columns
    assert frame["rings"].nunique() > 10  # a regression by the pipeline's inference

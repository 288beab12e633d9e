"""The data gate: leaks and identifiers stop the run by name, acknowledged ones do not, bank-full passes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import prepare_dataset
from sagedrop.dataset.leakage import (
    ACKNOWLEDGED,
    NOT_ENFORCED,
    SINGLE_COLUMN_LIMIT,
    STOPS,
    identifier_evidence,
    looks_like_identifier_name,
)
from sagedrop.errors import DataLeakageError, UnusableLabelError
from sagedrop.run_config import resolve_run_config

BANK = Path(__file__).resolve().parents[3] / "data" / "bank-full.csv.gz"
SOURCE = "incoming/t/data.csv"


def prepare(frame: pd.DataFrame, **override):
    config = resolve_run_config({}, override or None, "incoming/t/sagedrop.json")
    return prepare_dataset(frame.to_csv(index=False).encode(), config, SOURCE)


def stopped(frame: pd.DataFrame, **override) -> DataLeakageError:
    with pytest.raises(DataLeakageError) as caught:
        prepare(frame, **override)
    return caught.value


def customers(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Honest data: a label loosely related to two of the columns."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = rng.random(n) < 0.2 + 0.2 * (plan == "basic") + 0.003 * (age - 18)
    return pd.DataFrame(
        {
            "age": age,
            "spend": rng.gamma(2.0, 40.0, n).round(2),
            "plan": plan,
            "churned": np.where(churn, "yes", "no"),
        }
    )


def findings(report: dict) -> dict[str, dict]:
    return {finding["column"]: finding for finding in report["checks"]["findings"]}


# --- a column that alone predicts the label --------------------------------------------------


def test_a_copied_label_column_stops_the_run_naming_column_check_score_and_the_way_out():
    frame = customers()
    frame.insert(1, "churn_flag", frame["churned"])
    error = stopped(frame, label="churned")
    message = str(error)
    assert message.startswith(f"{SOURCE}: data gate: column 'churn_flag' alone predicts the label 'churned'")
    assert "ROC AUC 1.0000 ≥ 0.99" in message
    assert '{"data_checks": {"acknowledge": ["churn_flag"]}}' in message
    # the report rides along with the error, for the caller to write before the run fails
    found = findings(error.report)
    assert set(found) == {"churn_flag"}
    assert found["churn_flag"]["status"] == STOPS and found["churn_flag"]["score"] == 1.0
    assert error.report["checks"]["passed"] is False


def test_a_numeric_recoding_of_the_label_is_caught():
    frame = customers()
    frame["outcome_code"] = np.where(frame["churned"] == "yes", 1, 0)
    found = findings(stopped(frame, label="churned").report)
    assert found["outcome_code"]["metric"] == "roc_auc" and found["outcome_code"]["score"] == 1.0


def test_a_threshold_on_a_number_is_caught_for_several_classes():
    rng = np.random.default_rng(3)
    score = rng.normal(size=900)
    frame = pd.DataFrame(
        {
            "noise": rng.normal(size=900),
            "score": score,
            "grade": np.select([score < -0.5, score < 0.7], ["c", "b"], "a"),
        }
    )
    found = findings(stopped(frame, label="grade").report)
    assert set(found) == {"score"}
    assert found["score"]["metric"] == "pairwise_roc_auc" and found["score"]["score"] == 1.0


def test_a_regression_label_transformed_monotonically_is_caught():
    rng = np.random.default_rng(4)
    price = rng.lognormal(10, 1, 500)
    frame = pd.DataFrame({"rooms": rng.integers(1, 8, 500), "log_price": np.log(price), "price": price})
    found = findings(stopped(frame, label="price").report)
    assert found["log_price"]["metric"] == "spearman" and found["log_price"]["score"] == 1.0
    assert "rooms" not in found


def test_a_field_filled_in_only_for_one_class_is_caught():
    # A classic leak: a date of cancellation exists only for the customers who cancelled.
    frame = customers()
    days = np.random.default_rng(5).integers(1, 400, len(frame)).astype(float)
    frame["days_to_cancel"] = np.where(frame["churned"] == "yes", days, np.nan)
    found = findings(stopped(frame, label="churned").report)
    assert set(found) == {"days_to_cancel"} and found["days_to_cancel"]["score"] >= SINGLE_COLUMN_LIMIT


def test_many_values_that_each_predict_their_own_row_are_not_a_leak():
    # 100 categories over 600 rows: answering from the row's own value would be perfect on the rows
    # it was learned from; cross-fitted, the column scores what it is worth.
    frame = customers()
    frame["postcode"] = [f"P{v}" for v in np.random.default_rng(6).integers(0, 100, len(frame))]
    report = prepare(frame, label="churned").data_report
    scores = {c["column"]: c["label_association"]["score"] for c in report["columns"] if "label_association" in c}
    assert scores["postcode"] < 0.75 and report["checks"]["findings"] == []


# --- identifiers -----------------------------------------------------------------------------


def test_a_row_number_kept_as_a_feature_stops_the_run():
    frame = customers()
    frame.insert(0, "n", np.random.default_rng(7).permutation(len(frame)) + 1000)  # shuffled, still a sequence
    error = stopped(frame, label="churned")
    assert "column 'n' looks like an identifier (600 distinct values in 600 rows, whole numbers from 1,000" in str(
        error
    )
    assert findings(error.report)["n"]["check"] == "identifier"
    assert next(c for c in error.report["columns"] if c["column"] == "n")["type"] == "identifier"


def test_a_sparse_number_is_an_identifier_only_under_an_identifier_name():
    frame = customers()
    ids = np.random.default_rng(8).choice(10**9, len(frame), replace=False)
    frame["customer_id"] = ids
    assert set(findings(stopped(frame, label="churned").report)) == {"customer_id"}
    honest = customers().assign(balance=ids)  # unique large whole numbers, but an amount
    assert prepare(honest, label="churned").data_report["checks"]["findings"] == []


def test_a_text_identifier_is_dropped_by_preprocessing_and_only_reported():
    frame = customers()
    frame["email"] = [f"user{i}@example.com" for i in range(len(frame))]
    report = prepare(frame, label="churned").data_report
    email = next(c for c in report["columns"] if c["column"] == "email")
    assert email["role"] == "dropped" and email["type"] == "identifier" and email["action"].startswith("dropped:")
    assert report["checks"]["passed"] is True and report["checks"]["findings"] == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", True),
        ("ID", True),
        ("customer_id", True),
        ("Customer ID", True),
        ("userId", True),
        ("accountID", True),
        ("Unnamed: 0", True),
        ("row_number", True),
        ("uuid", True),
        ("paid", False),
        ("valid", False),
        ("VALID", False),
        ("idle_days", False),
        ("width", False),
    ],
)
def test_identifier_names(name, expected):
    assert looks_like_identifier_name(name) is expected


def test_identifier_evidence_needs_enough_rows_and_distinct_values():
    sequence = np.arange(200, dtype=float)
    assert identifier_evidence("x", 200, 200, sequence) is not None
    assert identifier_evidence("x", 99, 99, sequence[:99]) is None  # too few rows to tell
    assert identifier_evidence("x", 200, 150, sequence) is None  # values repeat
    assert identifier_evidence("x", 200, 200, sequence + 0.5) is None  # not whole numbers
    assert identifier_evidence("x", 200, 200, None) is not None  # text, a value per row


# --- acknowledging ---------------------------------------------------------------------------


def test_acknowledged_columns_pass_and_the_report_marks_them():
    frame = customers()
    frame["churn_flag"] = frame["churned"]
    frame["row"] = np.arange(len(frame))
    prepared = prepare(frame, label="churned", data_checks={"acknowledge": ["churn_flag", "row", "nowhere"]})
    checks = prepared.data_report["checks"]
    assert checks["passed"] is True
    assert {f["column"]: (f["acknowledged"], f["status"]) for f in checks["findings"]} == {
        "churn_flag": (True, ACKNOWLEDGED),
        "row": (True, ACKNOWLEDGED),
    }
    assert checks["acknowledged_not_in_csv"] == ["nowhere"]
    assert "churn_flag" in " ".join(prepared.schema["features"])  # acknowledged means: trained with it


def test_acknowledging_one_column_still_stops_on_another():
    frame = customers()
    frame["churn_flag"] = frame["churned"]
    frame["row"] = np.arange(len(frame))
    error = stopped(frame, label="churned", data_checks={"acknowledge": ["row"]})
    assert "'churn_flag'" in str(error) and "'row'" not in str(error).split("acknowledge")[0]
    assert '"acknowledge": ["churn_flag"]' in str(error)


def test_a_disabled_gate_reports_and_stops_nothing():
    frame = customers()
    frame["churn_flag"] = frame["churned"]
    report = prepare(frame, label="churned", data_checks={"enabled": False}).data_report
    assert report["checks"]["passed"] is True and report["checks"]["enabled"] is False
    assert findings(report)["churn_flag"]["status"] == NOT_ENFORCED


# --- honest data passes ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(20, 400), seed=st.integers(0, 2**32 - 1), classes=st.integers(2, 4))
def test_independent_random_columns_never_stop_the_run(n, seed, classes):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n).round(3),
            "b": rng.integers(0, 10**6, n),
            "c": rng.choice(list("pqrstu"), n),
            "y": rng.choice([f"k{i}" for i in range(classes)], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    try:
        report = prepare(frame, label="y").data_report
    except DataLeakageError as error:  # pragma: no cover - the failure message says what was found
        pytest.fail(str(error))
    except UnusableLabelError:  # a class missing from a small training split: not this test's business
        return
    assert report["checks"]["findings"] == []


def test_bank_full_passes_with_the_defaults_and_duration_is_its_strongest_column():
    prepared = prepare_dataset(
        gzip.decompress(BANK.read_bytes()), resolve_run_config({}, {"label": "y"}, "t"), "bank-full.csv"
    )
    report = prepared.data_report
    assert report["checks"]["passed"] is True and report["checks"]["findings"] == []
    scores = {c["column"]: c["label_association"] for c in report["columns"] if "label_association" in c}
    strongest = max(scores, key=lambda column: scores[column]["score"])
    assert strongest == "duration" and 0.75 < scores["duration"]["score"] < 0.9
    assert report["checks"]["sampled"] == {"rows": 20_000, "of_training_rows": prepared.schema["rows"]["train"]}
    json.dumps(report, allow_nan=False)


def test_the_message_stays_short_with_many_findings_and_quotes_names_as_json():
    frame = customers()
    for i in range(14):
        frame[f'copy "{i}"'] = frame["churned"]
    error = stopped(frame, label="churned")
    message = str(error)
    assert message.count("alone predicts the label") == 10 and "and 4 more findings (all in the data report)" in message
    acknowledge = json.loads(message.split("sagedrop.json: ", 1)[1])
    assert acknowledge == {"data_checks": {"acknowledge": [f'copy "{i}"' for i in range(10)]}}
    assert len(error.report["checks"]["findings"]) == 14

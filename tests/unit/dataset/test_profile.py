"""The data report: per-column facts that add up, duplicates, label balance, what preprocessing did."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sagedrop.dataset import encode_label, learn_encodings, prepare_dataset, read_table
from sagedrop.dataset import profile as profile_module
from sagedrop.dataset.label import BINARY, MULTICLASS, REGRESSION
from sagedrop.dataset.profile import build_data_report
from sagedrop.errors import DataLeakageError, InvalidCsvError, UnusableLabelError
from sagedrop.run_config import resolve_run_config

SOURCE = "incoming/t/data.csv"
CELLS = {
    "number": st.one_of(st.integers(-50, 50).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(repr)),
    "category": st.sampled_from(["red", "green", "blue", "a b c"]),
    "constant": st.just("same"),
}


def prepare(data: bytes, **override):
    return prepare_dataset(data, resolve_run_config({}, override or None, "incoming/t/sagedrop.json"), SOURCE)


@st.composite
def tables(draw) -> tuple[pd.DataFrame, str]:
    """A table of number, category and constant columns with missing cells, and a label column."""
    n = draw(st.integers(20, 80))
    columns = {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=4))):
        cells = st.one_of(CELLS[kind], st.just("")) if draw(st.booleans()) else CELLS[kind]
        columns[f"{kind}{i}"] = draw(st.lists(cells, min_size=n, max_size=n))
    problem = draw(st.sampled_from([BINARY, MULTICLASS, REGRESSION]))
    if problem == REGRESSION:
        label = [repr(v) for v in draw(st.lists(st.floats(-9, 9, allow_nan=False), min_size=n, max_size=n))]
    else:
        classes = ["no", "yes"] if problem == BINARY else ["x", "y", "z"]
        label = [classes[i % len(classes)] for i in draw(st.permutations(range(n)))]
    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    label = [value if keep else "" for value, keep in zip(label, present, strict=True)]
    columns["target"] = label
    frame = pd.DataFrame(columns)
    if draw(st.booleans()):  # some rows twice
        frame = pd.concat([frame, frame.iloc[: draw(st.integers(1, 10))]], ignore_index=True)
    return frame, problem


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_shares_lie_in_zero_to_one_and_counts_add_up(table):
    frame, problem = table
    try:
        prepared = prepare(frame.to_csv(index=False).encode(), label="target")
        report = prepared.data_report
    except DataLeakageError as error:
        report = error.report  # a small table can truly be predicted by one column; the report is whole
    except (InvalidCsvError, UnusableLabelError):
        assume(False)
    json.dumps(report, allow_nan=False)  # strict JSON: no NaN or infinity anywhere
    rows = report["rows"]
    assert rows["input"] == len(frame) and rows["kept"] + rows["dropped_missing_label"] == rows["input"]
    kept = rows["kept"]
    assert 0 <= report["duplicates"]["rows"] < kept and 0 <= report["duplicates"]["share"] <= 1
    assert [c["column"] for c in report["columns"]] == list(frame.columns)
    for column in report["columns"]:
        total = rows["input"] if column["role"] == "label" else kept
        assert 0 <= column["missing_share"] <= 1 and 0 <= column["missing"] <= total
        assert column["distinct"] <= total - column["missing"]
        assert (column["distinct"] == 0) == (column["type"] == "empty")
        for value in (column.get("summary") or {}).get("top", []):
            assert 0 < value["count"] <= kept - column["missing"] and 0 < value["share"] <= 1
        if "top" in (column.get("summary") or {}):
            assert sum(v["count"] for v in column["summary"]["top"]) <= kept - column["missing"]
        if "label_association" in column:
            assert 0 <= column["label_association"]["score"] <= 1
    label = next(c for c in report["columns"] if c["role"] == "label")
    assert label["missing"] == rows["dropped_missing_label"]
    balance = report["label_balance"]
    if report["problem_type"] == REGRESSION:
        summary = balance["summary"]
        assert summary["min"] <= summary["median"] <= summary["max"]
    else:
        assert sum(c["count"] for c in balance["classes"]) == kept
        assert all(0 <= c["share"] <= 1 for c in balance["classes"])


def test_duplicates_are_counted_exactly_over_every_column():
    frame = pd.DataFrame({"a": list(range(30)), "b": ["x", "y"] * 15, "y": ["no", "yes", "no"] * 10})
    doubled = pd.concat([frame, frame.iloc[:7], frame.iloc[:2]], ignore_index=True)  # 9 repeats of earlier rows
    twin = doubled.copy()
    twin.loc[len(twin)] = [0, "x", "yes"]  # same features as row 0, other label: not a duplicate row
    report = prepare(twin.to_csv(index=False).encode(), label="y").data_report
    assert report["duplicates"] == {"rows": 9, "share": round(9 / 40, 4)}


def test_the_label_balance_follows_the_label_mapping():
    frame = pd.DataFrame({"x": np.arange(40) % 7, "y": ["b"] * 30 + ["a"] * 6 + ["c"] * 4})
    report = prepare(frame.to_csv(index=False).encode(), label="y").data_report
    assert report["label_balance"] == {
        "kind": "classes",
        "classes": [
            {"label": "a", "count": 6, "share": 0.15},
            {"label": "b", "count": 30, "share": 0.75},
            {"label": "c", "count": 4, "share": 0.1},
        ],
    }


def test_each_column_says_what_preprocessing_did_from_its_encoding():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 10, n).round(2),
            "colour": rng.choice(["red", "green", "blue"], n),
            "note": [f"free text number {i} here" for i in range(n)],
            "same": ["k"] * n,
            "nothing": [""] * n,
            "y": rng.choice(["no", "yes"], n),
        }
    )
    frame.loc[::10, "amount"] = np.nan
    frame.loc[::3, "y"] = ""
    report = prepare(frame.to_csv(index=False).encode(), label="y", algorithm="linear-learner").data_report
    columns = {c["column"]: c for c in report["columns"]}
    amount = columns["amount"]
    assert amount["type"] == "numeric" and amount["encoding"] == "numeric" and amount["features"] == 1
    assert amount["action"].startswith("kept as a number; a missing value becomes the training mean ")
    assert amount["missing"] == int(frame.loc[frame["y"] != "", "amount"].isna().sum())
    assert set(amount["summary"]) == {"min", "median", "max", "mean", "std"}
    colour = columns["colour"]
    assert colour["type"] == "categorical" and colour["action"] == "one-hot encoded: 3 categories"
    assert [v["value"] for v in colour["summary"]["top"]] == list(
        frame.loc[frame["y"] != "", "colour"].value_counts().index
    )
    assert columns["note"]["type"] == "text" and columns["note"]["role"] == "dropped"
    assert "identifier or free text" in columns["note"]["action"]
    assert columns["same"]["type"] == "constant" and columns["same"]["action"] == "dropped: constant ('k')"
    assert columns["nothing"]["type"] == "empty" and columns["nothing"]["missing_share"] == 1.0
    label = columns["y"]
    assert (
        label["role"] == "label" and label["missing"] == 100 and "100 rows without one were dropped" in label["action"]
    )
    assert report["rows"] == {"input": 300, "kept": 200, "dropped_missing_label": 100}


def test_a_regression_label_is_summarised_not_counted():
    rng = np.random.default_rng(1)
    price = rng.gamma(2.0, 30.0, 50).round(2)
    frame = pd.DataFrame({"x": rng.normal(size=50).round(3), "price": price})
    balance = prepare(frame.to_csv(index=False).encode(), label="price").data_report["label_balance"]
    assert balance["kind"] == "values" and "classes" not in balance
    expected = {
        "min": price.min(),
        "median": np.median(price),
        "max": price.max(),
        "mean": price.mean(),
        "std": price.std(),
    }
    assert balance["summary"] == pytest.approx(expected, rel=1e-5)


def test_scores_use_a_bounded_sample_of_the_training_rows_and_say_so(monkeypatch):
    monkeypatch.setattr(profile_module, "DATA_REPORT_SAMPLE_ROWS", 50)
    rng = np.random.default_rng(2)
    table = read_table(
        pd.DataFrame({"x": rng.normal(size=400), "y": rng.choice(["a", "b"], 400)}).to_csv(index=False).encode()
    )
    y, mapping = encode_label(table.frame["y"], BINARY)
    encodings = learn_encodings(table.frame, ["x"], reserved=["y"])
    train = np.arange(0, 400, 2)
    report = build_data_report(
        table.frame, "y", encodings, y, BINARY, mapping, input_rows=400, train_rows=train, seed=3
    )
    assert report["checks"]["sampled"] == {"rows": 50, "of_training_rows": 200}
    assert report["checks"]["scored_rows"] == 50
    x = next(c for c in report["columns"] if c["column"] == "x")
    assert x["label_association"]["rows"] == 50
    # the same seed draws the same sample
    again = build_data_report(table.frame, "y", encodings, y, BINARY, mapping, input_rows=400, train_rows=train, seed=3)
    assert again == report


@pytest.mark.parametrize("rows", [20, 400])
def test_every_row_scored_when_the_training_split_is_small(rows):
    rng = np.random.default_rng(rows)
    frame = pd.DataFrame({"x": rng.normal(size=rows), "y": ["a", "b"] * (rows // 2)})
    report = prepare(frame.to_csv(index=False).encode(), label="y").data_report
    assert report["checks"]["sampled"] is None
    assert report["checks"]["scored_rows"] == round(rows * 0.7)

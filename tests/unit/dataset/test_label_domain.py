"""A regression label outside the chosen objective's domain stops the preparation, naming its line."""

from __future__ import annotations

import io

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.streaming import scan
from sagedrop.errors import UnusableLabelError
from sagedrop.problem_types import LABEL_DOMAINS, XGBOOST_OBJECTIVES, ProblemType
from sagedrop.run_config import resolve_run_config

SOURCE = "incoming/t/data.csv"


def options(objective: str | None, problem_type: str = "regression") -> PrepareOptions:
    document = {"data_checks": {"enabled": False}, "problem_type": problem_type, "label": "y"}
    if objective:
        document["hyperparameters"] = {"objective": objective}
    return PrepareOptions.of(resolve_run_config({}, document, "incoming/t/sagedrop.json"))


def csv(labels: list[str]) -> bytes:
    return ("x,y\n" + "".join(f"{i % 7},{label}\n" for i, label in enumerate(labels))).encode()


def scanned(data: bytes, objective: str | None, chunk_bytes: int = 1 << 20, problem_type: str = "regression"):
    return scan(lambda: io.BytesIO(data), options(objective, problem_type), SOURCE, chunk_bytes=chunk_bytes)


@pytest.mark.parametrize("objective", sorted(LABEL_DOMAINS))
def test_each_declared_domain_is_the_one_xgboost_enforces(objective):
    domain = LABEL_DOMAINS[objective]
    bound = np.float32(domain.bound)  # XGBoost's labels are 32-bit floats
    near = [float(bound), float(np.nextafter(bound, np.float32(1))), float(np.nextafter(bound, np.float32(-2)))]
    features = np.arange(40, dtype=float).reshape(20, 2)
    for value in near:
        labels = np.full(20, 3.0)
        labels[5] = value
        try:
            xgb.train({"objective": objective, "verbosity": 0}, xgb.DMatrix(features, label=labels), 1)
            trained = True
        except xgb.core.XGBoostError:
            trained = False
        assert trained == domain.admits(value), (objective, value)


def test_only_regression_objectives_have_domains():
    assert set(LABEL_DOMAINS) <= set(XGBOOST_OBJECTIVES[ProblemType.REGRESSION].allowed)


@settings(max_examples=25, deadline=None)
@given(
    objective=st.sampled_from(sorted(LABEL_DOMAINS)),
    rows=st.integers(20, 300),
    bad=st.data(),
    chunk_bytes=st.sampled_from([64, 200, 1 << 20]),
)
def test_the_first_label_outside_is_named_by_its_line_whatever_the_chunks(objective, rows, bad, chunk_bytes):
    domain = LABEL_DOMAINS[objective]
    outside = "-1" if domain.bound == -1.0 else ("0" if not domain.inclusive else "-0.5")
    first = bad.draw(st.integers(0, rows - 1))
    labels = [str(1 + i % 5) for i in range(rows)]
    labels[first] = outside
    if first + 3 < rows:
        labels[first + 3] = outside  # a later one is not the one named
    with pytest.raises(UnusableLabelError) as refused:
        scanned(csv(labels), objective, chunk_bytes)
    message = str(refused.value)
    assert message.startswith(f"{SOURCE}: line {first + 2:,}, column 'y': the label {outside!r} is not {domain.says}")
    assert f"objective {objective!r}" in message


@pytest.mark.parametrize(
    ("objective", "labels"),
    [
        ("count:poisson", ["0", "1", "4", "0"]),  # the bound itself, where it is allowed
        ("count:poisson", ["-1e-50", "1", "4", "0"]),  # -0.0 as the 32-bit float XGBoost reads
        ("reg:tweedie", ["0", "2.5", "0", "7"]),
        ("reg:squaredlogerror", ["-0.5", "3", "0", "1"]),
        ("reg:gamma", ["0.001", "3", "", "2"]),  # a missing label is no label: its row is left out
        (None, ["-5", "3", "0", "-2"]),  # the default reg:squarederror takes any number
        ("reg:absoluteerror", ["-5", "3", "0", "-2"]),
    ],
)
def test_labels_inside_the_domain_pass(objective, labels):
    plan = scanned(csv(labels * 10), objective)
    assert plan.schema["problem_type"] == "regression"


def test_a_classification_label_is_not_checked_against_a_regression_domain():
    plan = scanned(csv(["-1", "1"] * 20), None, problem_type="binary_classification")
    assert plan.schema["problem_type"] == "binary_classification"


def test_the_processing_job_receives_the_objective():
    chosen = options("count:poisson")
    assert chosen.objective == "count:poisson"
    assert PrepareOptions.from_dict(chosen.as_dict()) == chosen
    assert options(None).objective is None

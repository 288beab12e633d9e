"""Where a dropped file says which run scores it, and the names derived from run and scoring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.names import SAGEMAKER_NAME_LIMIT, SAGEMAKER_NAME_PATTERN, run_id_for
from sagedrop.scoring.errors import InvalidScoringKeyError
from sagedrop.scoring.keys import (
    ScoringTarget,
    scores_key,
    scoring_target,
    staged_input_key,
    staged_input_prefix,
    status_key,
    transform_output_key,
    transform_output_prefix,
)
from sagedrop.scoring.names import scoring_id_for, scoring_model_name, transform_job_name

from .conftest import RUN_ID


@pytest.mark.parametrize(
    ("key", "target"),
    [
        (f"score/{RUN_ID}/customers.csv", ScoringTarget(RUN_ID, "customers")),
        (f"score/{RUN_ID}/2026/december.csv", ScoringTarget(RUN_ID, "2026/december")),
        ("score/any-text/x.csv", ScoringTarget("any-text", "x")),
    ],
)
def test_the_key_names_the_run_and_the_scoring(key, target):
    assert scoring_target(key) == target


@pytest.mark.parametrize(
    "key",
    [
        "score/customers.csv",
        "score//x.csv",
        f"score/{RUN_ID}/.csv",
        f"score/{RUN_ID}/a//b.csv",
        "incoming/a.csv",
        "score/a/b.txt",
    ],
)
def test_a_key_that_names_no_run_and_file_is_a_named_error(key):
    with pytest.raises(InvalidScoringKeyError, match="score/<run-id>/<name>.csv"):
        scoring_target(key)


def test_the_layout_of_a_scoring():
    target = ScoringTarget(RUN_ID, "2026/december")

    assert staged_input_prefix(target) == f"runs/{RUN_ID}/scoring/2026/december/input/"
    assert staged_input_key(target) == f"runs/{RUN_ID}/scoring/2026/december/input/december.jsonl"
    assert transform_output_prefix(target) == f"runs/{RUN_ID}/scoring/2026/december/output/"
    # Batch Transform writes <S3OutputPath>/<input object name>.out
    assert transform_output_key(target) == transform_output_prefix(target) + "december.jsonl.out"
    assert status_key(target) == f"runs/{RUN_ID}/scoring/2026/december/status.json"
    assert scores_key(target) == f"scores/{RUN_ID}/2026/december.csv"
    assert not scores_key(target).startswith("score/"), "a result must never look like a file to score"


def test_the_scoring_id_is_a_deterministic_execution_name_per_object_version():
    key = f"score/{RUN_ID}/customers.csv"

    first = scoring_id_for("bucket", key, "v1")

    assert first == scoring_id_for("bucket", key, "v1")  # the same event delivered twice
    assert first != scoring_id_for("bucket", key, "v2")  # the file uploaded again
    assert first != run_id_for("bucket", f"incoming/{RUN_ID}/customers.csv", "v1")
    assert len(first) <= 80 and first.startswith("customers-")


run_ids = st.one_of(
    st.builds(
        lambda stem, digest: f"{stem}-{digest}",
        st.text(min_size=1, max_size=60),
        st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    ),
    st.text(min_size=1, max_size=120),  # a key can name any text as its run
)


@given(run_ids, st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_sagemaker_names_fit_the_limit_and_pattern_and_differ_per_scoring(run_id, key_a, key_b):
    scoring_a = scoring_id_for("b", f"score/{run_id}/{key_a}.csv", "v")
    scoring_b = scoring_id_for("b", f"score/{run_id}/{key_b}.csv", "v")

    names = [scoring_model_name(run_id, scoring_a), transform_job_name(run_id, scoring_a)]

    for name in names:
        assert len(name) <= SAGEMAKER_NAME_LIMIT and SAGEMAKER_NAME_PATTERN.match(name), name
    assert names[0] != names[1]
    assert scoring_model_name(run_id, scoring_a) == names[0]  # a retried step finds what it created
    if scoring_a.rsplit("-", 1)[1][:8] != scoring_b.rsplit("-", 1)[1][:8]:
        assert scoring_model_name(run_id, scoring_b) != names[0]


def test_the_names_show_the_run_they_score_with():
    scoring = scoring_id_for("b", f"score/{RUN_ID}/customers.csv", "v1")

    name = transform_job_name(RUN_ID, scoring)

    assert name.startswith("bank-full-0123456789abcdef-") and name.endswith("-transform")

"""Names: every run id is a valid execution name, every SageMaker name fits SageMaker's rules."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.names import (
    endpoint_config_name,
    endpoint_name,
    model_name,
    run_id_for,
    run_prefix,
    training_job_name,
)

# Written from the AWS documentation, not imported from the code under test.
EXECUTION_FORBIDDEN = set('<>{}[]?*"#%\\^|~$&,;:/')
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

# Real bucket names: 3-63 of lowercase letters, digits, dots and hyphens.
buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True)
# Keys of any shape: unicode, punctuation, whitespace, very long.
keys = st.one_of(
    st.text(min_size=1, max_size=300),
    st.builds(
        lambda folder, name: f"incoming/{folder}/{name}.csv", st.text(max_size=50), st.text(max_size=200)
    ),
    st.just("incoming/" + "x" * 1000 + ".csv"),
    st.just("incoming/!!!.csv"),
    st.just("incoming/日本語のデータ.csv"),
)
versions = st.one_of(st.none(), st.just("null"), st.from_regex(r"[A-Za-z0-9._]{1,32}", fullmatch=True))
etags = st.one_of(st.none(), st.from_regex(r"[0-9a-f]{32}", fullmatch=True))


def is_valid_execution_name(name: str) -> bool:
    return (
        1 <= len(name) <= 80
        and not (set(name) & EXECUTION_FORBIDDEN)
        and not any(ch.isspace() for ch in name)
        and all(ch.isprintable() for ch in name)
    )


def is_valid_sagemaker_name(name: str) -> bool:
    return len(name) <= 63 and SAGEMAKER_NAME.fullmatch(name) is not None


@settings(max_examples=120)
@given(bucket=buckets, key=keys, version=versions, etag=etags)
def test_run_id_is_a_valid_execution_name_and_deterministic(bucket, key, version, etag):
    run_id = run_id_for(bucket, key, version, etag)

    assert is_valid_execution_name(run_id), run_id
    assert run_id_for(bucket, key, version, etag) == run_id


@given(bucket=buckets, other=buckets, key=keys, version=versions)
def test_run_id_differs_when_the_bucket_differs(bucket, other, key, version):
    if bucket != other:
        assert run_id_for(bucket, key, version) != run_id_for(other, key, version)


@given(bucket=buckets, key=keys, other=keys, version=versions)
def test_run_id_differs_when_the_key_differs(bucket, key, other, version):
    if key != other:
        assert run_id_for(bucket, key, version) != run_id_for(bucket, other, version)


@given(
    bucket=buckets,
    key=keys,
    version=st.from_regex(r"[A-Za-z0-9._]{1,32}", fullmatch=True),
    other=st.from_regex(r"[A-Za-z0-9._]{1,32}", fullmatch=True),
)
def test_run_id_differs_when_the_version_differs(bucket, key, version, other):
    if version != other and "null" not in (version, other):
        assert run_id_for(bucket, key, version) != run_id_for(bucket, key, other)


def test_without_versioning_the_etag_tells_two_uploads_apart():
    # Given the same key uploaded twice to an unversioned bucket (no version id, or the literal "null")
    first = run_id_for("b", "incoming/a.csv", None, "etag-one")
    # Then the ETag separates the uploads, and "null" means the same as no version id
    assert first != run_id_for("b", "incoming/a.csv", None, "etag-two")
    assert first == run_id_for("b", "incoming/a.csv", "null", "etag-one")


def test_run_id_keeps_a_readable_part_of_the_file_name():
    run_id = run_id_for("bucket", "incoming/bank/bank-full.csv", "v1")

    assert run_id.startswith("bank-full-")
    assert run_prefix(run_id) == f"runs/{run_id}/"


@settings(max_examples=120)
@given(bucket=buckets, key=keys, version=versions)
def test_every_sagemaker_name_is_valid_for_any_key(bucket, key, version):
    run_id = run_id_for(bucket, key, version)

    names = [
        training_job_name(run_id),
        model_name(run_id),
        endpoint_config_name(run_id),
        endpoint_name(run_id),
    ]

    for name in names:
        assert is_valid_sagemaker_name(name), name
    assert len(set(names)) == 4


@given(bucket=buckets, key=keys, other_key=keys)
def test_hosting_names_of_two_runs_never_collide(bucket, key, other_key):
    first, second = run_id_for(bucket, key, "v"), run_id_for(bucket, other_key, "v")
    if first != second:
        assert endpoint_name(first) != endpoint_name(second)
        assert model_name(first) != model_name(second)


def test_hosting_names_are_derived_from_the_run_alone():
    # A retried deploy step and the failure handler must find the same resources.
    run_id = run_id_for("bucket", "incoming/x.csv", "v1")

    assert endpoint_name(run_id) == endpoint_name(run_id)
    assert model_name(run_id) == model_name(run_id)
    assert endpoint_config_name(run_id) == endpoint_config_name(run_id)


@given(key=keys)
def test_two_training_attempts_of_one_run_get_different_names(key):
    run_id = run_id_for("bucket", key, "v1")

    first, second = training_job_name(run_id), training_job_name(run_id)

    assert first != second
    assert is_valid_sagemaker_name(first) and is_valid_sagemaker_name(second)


def test_a_very_long_file_name_is_shortened_not_rejected():
    run_id = run_id_for("bucket", "incoming/" + "a-very-long-name" * 40 + ".csv", "v1")

    name = endpoint_name(run_id)

    assert len(name) <= 63
    assert name.endswith("-endpoint")
    assert name.startswith("a-very-long-name")

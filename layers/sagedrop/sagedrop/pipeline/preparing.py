"""Step 1: read the upload and its folder's configuration, write the training data of the run.

Besides the label-first splits the algorithm trains on, it writes what the deployed model needs to
answer raw rows — the inference tarball (featurizer + label decoder code and their frozen artifact,
``runs/<run-id>/inference/model.tar.gz``) — and the test split as the upload had it, which the
evaluation sends to the endpoint as a caller would. ``data_report.json`` comes first, and also when
the data gate stops the run (DataLeakageError), so that the reason can be read.

The upload is never held whole: ``sagedrop.dataset.streaming`` reads it twice as a stream (learn,
then encode and write), and every split is written as capped part files with multipart uploads
(``data/<split>/part-00000.csv``, …); the channels are the split prefixes.

This is the Lambda route (uploads up to the stack's LambdaPrepareMaxBytes); larger ones run the same
``sagedrop.preparation.core.prepare_upload`` in a Processing job (``preparation_job``), and both
resolve the configuration and describe the prepared data with the functions below.
"""

from __future__ import annotations

import posixpath
from typing import Any

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.dataset.options import PrepareOptions
from sagedrop.dataset.parts import S3Sink, part_name
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import build_model_tarball
from sagedrop.names import run_prefix
from sagedrop.pipeline.state import Channels, DatasetSummary, Prepared, PrepareInput
from sagedrop.preparation.core import (
    DATA_REPORT_FILE,
    INFERENCE_FILE,
    RAW_TEST_FILE,
    SCHEMA_FILE,
    json_bytes,
    prepare_upload,
)
from sagedrop.run_config import RunConfig, config_key_for, parse_override, resolve_run_config
from sagedrop.settings import PipelineSettings

SPLITS = ("train", "validation", "test")


def split_key(run_id: str, split: str, part: int = 0) -> str:
    """One part file of a split (a split larger than ``SPLIT_PART_MAX_BYTES`` has several)."""
    return f"{run_prefix(run_id)}{part_name(split, part)}"


def split_prefix(run_id: str, split: str) -> str:
    """The split's channel: every part file under it."""
    return posixpath.dirname(split_key(run_id, split)) + "/"


def schema_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}{SCHEMA_FILE}"


def raw_test_key(run_id: str) -> str:
    """The test split as uploaded (header, source columns, the upload's delimiter, no label)."""
    return f"{run_prefix(run_id)}{RAW_TEST_FILE}"


def data_report_key(run_id: str) -> str:
    """What the upload holds, what preprocessing did with it and what the data gate found."""
    return f"{run_prefix(run_id)}{DATA_REPORT_FILE}"


def inference_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}{INFERENCE_FILE}"


class S3Store:
    """The run's prefix in the data bucket, as ``prepare_upload``'s store (parts by multipart upload)."""

    def __init__(self, bucket: DataBucket, run_id: str) -> None:
        self.bucket = bucket
        self.prefix = run_prefix(run_id)
        self.sink = S3Sink(ObjectStreams(bucket.client, bucket.bucket), self.prefix)

    def write_bytes(self, name: str, data: bytes, content_type: str) -> str:
        return self.bucket.write_bytes(self.prefix + name, data, content_type)

    def write_json(self, name: str, document: Any) -> str:
        return self.write_bytes(name, json_bytes(document), "application/json")


def resolve_config(state: PrepareInput, bucket: DataBucket, settings: PipelineSettings) -> tuple[RunConfig, str | None]:
    """The effective run configuration (stack defaults, then the upload folder's sagedrop.json) and its key.

    Raises InvalidConfigError naming the key; both preparation routes resolve it here, in a Lambda.
    """
    config_key = config_key_for(state.source.key)
    override_text = bucket.read_bytes_if_exists(config_key)
    override = parse_override(override_text, source=config_key) if override_text is not None else None
    config = resolve_run_config(settings.run_config_defaults, override, source=config_key)
    return config, (config_key if override is not None else None)


def write_inference_tarball(bucket: DataBucket, run_id: str, schema: dict) -> str:
    """The featurizer/decoder tarball the deployed model serves with, frozen from ``schema.json``."""
    tarball = build_model_tarball(FeaturizerArtifact.from_schema(schema))
    return bucket.write_bytes(inference_key(run_id), tarball, "application/gzip")


def prepared_state(
    run_id: str,
    bucket: DataBucket,
    config: RunConfig,
    config_source: str | None,
    schema: dict,
    parts: dict,
    raw_test_bytes: int,
) -> Prepared:
    """The ``$.prepared`` section from what the preparation wrote (either route)."""
    # only validation may be empty (split.validation = 0)
    channels = {split: bucket.uri(split_prefix(run_id, split)) for split, names in parts.items() if names}
    return Prepared(
        config=config,
        dataset=DatasetSummary(
            schema_key=schema_key(run_id),
            channels=Channels(**channels),
            raw_test_key=raw_test_key(run_id),
            raw_test_bytes=raw_test_bytes,
            inference_artifact=bucket.uri(inference_key(run_id)),
            label=schema["label"],
            problem_type=schema["problem_type"],
            feature_count=schema["feature_count"],
            class_count=schema.get("class_count"),
            class_counts=(schema.get("label_stats") or {}).get("class_counts"),
            rows=schema["rows"],
            config_source=config_source,
            data_report_key=data_report_key(run_id),
        ),
    )


def prepare_run(state: PrepareInput, bucket: DataBucket, settings: PipelineSettings) -> Prepared:
    """Validate the configuration and the CSV, then write the splits and the schema.

    Reads the exact object version that started the run; writes only under ``runs/<run-id>/``.
    Returns the effective run config and the summary of the dataset the next steps need.
    """
    config, config_source = resolve_config(state, bucket, settings)
    source_key = state.source.key

    def opener():
        extra = {"VersionId": state.source.version_id} if state.source.version_id not in (None, "null") else {}
        return bucket.client.get_object(Bucket=bucket.bucket, Key=source_key, **extra)["Body"]

    outcome = prepare_upload(opener, PrepareOptions.of(config), source_key, S3Store(bucket, state.run_id))
    write_inference_tarball(bucket, state.run_id, outcome.schema)
    return prepared_state(
        state.run_id, bucket, config, config_source, outcome.schema, outcome.parts, outcome.raw_test_bytes
    )

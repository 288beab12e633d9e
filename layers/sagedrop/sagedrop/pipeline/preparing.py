"""Step 1: read the upload and its folder's configuration, write the training data of the run.

Besides the label-first splits the algorithm trains on, it writes what the deployed model needs to
answer raw rows — the inference tarball (featurizer + label decoder code and their frozen artifact,
``runs/<run-id>/inference/model.tar.gz``) — and the test split as the upload had it, which the
evaluation sends to the endpoint as a caller would. ``data_report.json`` comes first, and also when
the data gate stops the run (DataLeakageError), so that the reason can be read.

The upload is never held whole: ``sagedrop.dataset.streaming`` reads it twice as a stream (learn,
then encode and write), and every split is written as capped part files with multipart uploads
(``data/<split>/part-00000.csv``, …); the channels are the split prefixes.
"""

from __future__ import annotations

import posixpath

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.dataset.parts import S3Sink, part_name
from sagedrop.dataset.streaming import RAW_TEST, scan, write
from sagedrop.errors import DataLeakageError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import build_model_tarball
from sagedrop.names import run_prefix
from sagedrop.pipeline.state import Channels, DatasetSummary, Prepared, PrepareInput
from sagedrop.run_config import config_key_for, parse_override, resolve_run_config
from sagedrop.settings import PipelineSettings

SPLITS = ("train", "validation", "test")


def split_key(run_id: str, split: str, part: int = 0) -> str:
    """One part file of a split (a split larger than ``SPLIT_PART_MAX_BYTES`` has several)."""
    return f"{run_prefix(run_id)}{part_name(split, part)}"


def split_prefix(run_id: str, split: str) -> str:
    """The split's channel: every part file under it."""
    return posixpath.dirname(split_key(run_id, split)) + "/"


def schema_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}schema.json"


def raw_test_key(run_id: str) -> str:
    """The test split as uploaded (header, source columns, the upload's delimiter, no label)."""
    return f"{run_prefix(run_id)}{RAW_TEST}"


def data_report_key(run_id: str) -> str:
    """What the upload holds, what preprocessing did with it and what the data gate found."""
    return f"{run_prefix(run_id)}data_report.json"


def inference_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}inference/model.tar.gz"


def prepare_run(state: PrepareInput, bucket: DataBucket, settings: PipelineSettings) -> Prepared:
    """Validate the configuration and the CSV, then write the splits and the schema.

    Reads the exact object version that started the run; writes only under ``runs/<run-id>/``.
    Returns the effective run config and the summary of the dataset the next steps need.
    """
    run_id = state.run_id
    source_key = state.source.key
    config_key = config_key_for(source_key)
    override_text = bucket.read_bytes_if_exists(config_key)
    override = parse_override(override_text, source=config_key) if override_text is not None else None
    config = resolve_run_config(settings.run_config_defaults, override, source=config_key)

    def opener():
        extra = {"VersionId": state.source.version_id} if state.source.version_id not in (None, "null") else {}
        return bucket.client.get_object(Bucket=bucket.bucket, Key=source_key, **extra)["Body"]

    try:
        plan = scan(opener, config, source=source_key)
    except DataLeakageError as error:
        if error.report is None:
            raise
        where = bucket.write_json(data_report_key(run_id), error.report)
        raise DataLeakageError(f"{error} The data report: {where}", report=error.report) from None
    bucket.write_json(data_report_key(run_id), plan.data_report)

    written = write(opener, plan, S3Sink(ObjectStreams(bucket.client, bucket.bucket), run_prefix(run_id)))
    # only validation may be empty (split.validation = 0)
    channels = {split: bucket.uri(split_prefix(run_id, split)) for split, parts in written.parts.items() if parts}
    schema = plan.schema
    bucket.write_json(schema_key(run_id), schema)
    tarball = build_model_tarball(FeaturizerArtifact.from_schema(schema))
    bucket.write_bytes(inference_key(run_id), tarball, "application/gzip")
    return Prepared(
        config=config,
        dataset=DatasetSummary(
            schema_key=schema_key(run_id),
            channels=Channels(**channels),
            raw_test_key=raw_test_key(run_id),
            raw_test_bytes=written.raw_test_bytes,
            inference_artifact=bucket.uri(inference_key(run_id)),
            label=schema["label"],
            problem_type=schema["problem_type"],
            feature_count=schema["feature_count"],
            class_count=schema.get("class_count"),
            class_counts=(schema.get("label_stats") or {}).get("class_counts"),
            rows=schema["rows"],
            config_source=config_key if override is not None else None,
            data_report_key=data_report_key(run_id),
        ),
    )

"""Step 1: read the upload and its folder's configuration, write the training data of the run.

Besides the label-first splits the algorithm trains on, it writes what the deployed model needs to
answer raw rows — the inference tarball (featurizer + label decoder code and their frozen artifact,
``runs/<run-id>/inference/model.tar.gz``) — and the test split as the upload had it, which the
evaluation sends to the endpoint as a caller would. ``data_report.json`` comes first, and also when
the data gate stops the run (DataLeakageError), so that the reason can be read.
"""

from __future__ import annotations

import posixpath

from sagedrop.aws.s3 import DataBucket
from sagedrop.dataset import prepare_dataset, to_headerless_csv
from sagedrop.dataset.writer import to_source_csv
from sagedrop.errors import DataLeakageError
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import build_model_tarball
from sagedrop.names import run_prefix
from sagedrop.pipeline.state import Channels, DatasetSummary, Prepared, PrepareInput
from sagedrop.run_config import config_key_for, parse_override, resolve_run_config
from sagedrop.settings import PipelineSettings

SPLITS = ("train", "validation", "test")


def split_key(run_id: str, split: str) -> str:
    return f"{run_prefix(run_id)}data/{split}/{split}.csv"


def schema_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}schema.json"


def raw_test_key(run_id: str) -> str:
    """The test split as uploaded (header, source columns, the upload's delimiter, no label)."""
    return f"{run_prefix(run_id)}data/raw/test.csv"


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

    data = bucket.read_bytes(source_key, state.source.version_id)
    try:
        prepared = prepare_dataset(data, config, source=source_key)
    except DataLeakageError as error:
        if error.report is None:
            raise
        where = bucket.write_json(data_report_key(run_id), error.report)
        raise DataLeakageError(f"{error} The data report: {where}", report=error.report) from None
    bucket.write_json(data_report_key(run_id), prepared.data_report)

    channels = {}
    for split in SPLITS:
        frame = getattr(prepared, split)
        if len(frame) == 0:  # only validation may be empty (split.validation = 0)
            continue
        bucket.write_bytes(split_key(run_id, split), to_headerless_csv(frame), "text/csv")
        channels[split] = bucket.uri(posixpath.dirname(split_key(run_id, split)) + "/")
    schema = prepared.schema
    bucket.write_json(schema_key(run_id), schema)
    bucket.write_bytes(
        raw_test_key(run_id), to_source_csv(prepared.raw_test, schema["delimiter"], header=True), "text/csv"
    )
    tarball = build_model_tarball(FeaturizerArtifact.from_schema(schema))
    bucket.write_bytes(inference_key(run_id), tarball, "application/gzip")
    return Prepared(
        config=config,
        dataset=DatasetSummary(
            schema_key=schema_key(run_id),
            channels=Channels(**channels),
            raw_test_key=raw_test_key(run_id),
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

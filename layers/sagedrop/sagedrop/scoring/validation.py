"""Step 1, "Check the run and the file": the run has a model, the file's header names its columns.

Reads run.json and schema.json, and of the upload only its header (the stream is closed after the
first record). Fails with a named error before anything is written or paid for.
"""

from __future__ import annotations

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.errors import InvalidCsvError
from sagedrop.pipeline.state import SourceObject
from sagedrop.scoring.columns import ColumnPlan, ModelColumns, plan_columns
from sagedrop.scoring.csvstream import Record, read_records
from sagedrop.scoring.keys import scoring_target
from sagedrop.scoring.run_model import read_run_model, reading_encoding
from sagedrop.scoring.state import Validated, ValidateInput


def read_header(streams: ObjectStreams, source: SourceObject, columns: ModelColumns, encoding: str) -> Record:
    """The upload's first record, read by the run's delimiter and encoding."""
    with streams.open_text(source.key, version_id=source.version_id, encoding=encoding) as text:
        header = next(read_records(text, columns.delimiter), None)
    if header is None:
        raise InvalidCsvError(f"{source.key} is empty: a file to score starts with a header line")
    return header


def validate_scoring(state: ValidateInput, bucket: DataBucket, streams: ObjectStreams) -> Validated:
    """The run's model and what staging needs, or RunNotFoundError / RunNotScorableError / ColumnMismatchError."""
    target = scoring_target(state.source.key)
    run = read_run_model(bucket, target.run_id)
    header = read_header(streams, state.source, run.columns, reading_encoding(run.text_encoding))
    plan: ColumnPlan = plan_columns(header, run.columns)
    return Validated(
        run_id=target.run_id,
        name=target.name,
        schema_key=run.schema_key,
        model_artifact=run.model_artifact,
        inference_artifact=run.inference_artifact,
        endpoint_instance_type=run.endpoint_instance_type,
        algorithm=run.algorithm,
        problem_type=run.problem_type,
        prediction_columns=run.prediction_columns,
        columns=plan.width,
    )

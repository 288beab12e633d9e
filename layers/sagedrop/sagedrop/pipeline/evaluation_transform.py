"""Evaluation at scale: above a size, the test split is scored by a Batch Transform job, not by InvokeEndpoint.

The state machine takes this route when the raw test split is over the stack's
EvaluationTransformBytes (``limits.EVALUATION_TRANSFORM_BYTES`` by default): a Lambda sending it
through the endpoint would run into its 15 minutes. "Start the evaluation transform" stages the
rows and creates the job; "Check the evaluation transform" polls it in the bounded wait loop;
"Evaluate the model" then reads the job's output (streamed) instead of calling the endpoint.

* **The model** is the deployed one (``$.endpoint.model_name``), so the transform evaluates exactly
  what the endpoint serves. A serverless run's model is its single-container form: a SageMaker model
  does not belong to an endpoint type, and a transform job runs it on an instance as any model.
  The instance is the run's ``endpoint_instance_type`` when Batch Transform offers it (``ml.t2.*``,
  ``ml.c5.large`` and others are endpoint-only), else ``ml.m5.large``: the rule of
  :func:`sagedrop.scoring.transform.transform_instance_type`, which the scoring's job follows too.
* **The input** is the raw test split staged as JSON Lines, one ``{"instances": [{column: value},
  …]}`` request per line of up to :func:`~sagedrop.scoring.requests.rows_per_request` rows
  (``sagedrop.scoring.requests``: one row per request would take hours at a million rows), values
  as the text written. The raw test split itself cannot be the input:
  with ``SplitType: Line`` its header line would be sent as a record of its own (the featurizer
  refuses a header without rows), and a quoted value holding a line break would be cut in two.
  JSON escapes line breaks, carries the column names, and is read by the featurizer exactly as the
  CSV field (``sagedrop.inference.featurizer``), so the metrics are those of the endpoint route.
* ``BatchStrategy: SingleRecord``: MultiRecord fails on a model whose scikit-learn container runs in
  front of the algorithm's (sagemaker-python-sdk#4042); a record is a request, whatever rows it
  holds. ``AssembleWith: Line``: one answer a line.
* ``DataProcessing.JoinSource: Input``: each output line is its request with the answer in
  ``SageMakerOutput``, so the evaluation checks every line's answer against the rows asked for
  (``sagedrop.evaluation.streams.transform_scores``). The labels the metrics use are the encoded
  ones of the test split, paired with the answers by order (a transform keeps its input's order
  within an object); the counts are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.aws.transform_jobs import BatchTransformGateway
from sagedrop.errors import InvalidCsvError
from sagedrop.evaluation.streams import raw_records
from sagedrop.names import evaluation_transform_job_name, run_prefix
from sagedrop.pipeline.state import CheckEvaluationTransformInput, EvaluationTransform, StartEvaluationTransformInput
from sagedrop.pipeline.training import sagemaker_tags
from sagedrop.scoring.requests import (
    MAX_PAYLOAD_IN_MB,
    MAX_RECORD_BYTES,
    REQUEST_TARGET_BYTES,
    RequestLines,
    instance_json,
    rows_per_request,
)
from sagedrop.scoring.transform import MAX_CONCURRENT_TRANSFORMS, poll_transform, transform_instance_type
from sagedrop.settings import PipelineSettings

JSON = "application/json"


def transform_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}evaluation/transform/"


def transform_input_key(run_id: str) -> str:
    return f"{transform_prefix(run_id)}input/test.jsonl"


def transform_output_key(run_id: str) -> str:
    """Batch Transform names its output after the input object, with ``.out`` appended."""
    return f"{transform_prefix(run_id)}output/test.jsonl.out"


def stage_rows(
    records: Iterable[list[str]],
    write: Callable[[str], None],
    max_line_bytes: int = MAX_RECORD_BYTES,
    rows_per_line: int = 1,
    target_line_bytes: int = REQUEST_TARGET_BYTES,
) -> int:
    """Write the data rows of ``records`` (the header first) as JSON requests, one a line; returns the rows.

    A request holds up to ``rows_per_line`` rows, fewer when one more would take it past
    ``target_line_bytes``. Raises InvalidCsvError for a row whose field count is not the header's,
    or that would be over a transform request's payload on its own (the endpoint route refuses such
    a row as well).
    """
    records = iter(records)
    header = next(records, None)
    if header is None:
        raise InvalidCsvError("the raw test split is empty: no header line")
    rows = 0
    requests = RequestLines(write, rows_per_line, target_line_bytes, max_line_bytes)
    for row, record in enumerate(records, start=1):
        if len(record) != len(header):
            raise InvalidCsvError(f"raw test row {row} has {len(record)} fields, the header has {len(header)}")
        requests.add(instance_json(dict(zip(header, record, strict=True))), f"raw test row {row}")
        rows += 1
    requests.close()
    if rows == 0:
        raise InvalidCsvError("the raw test split has a header line and no rows")
    return rows


def transform_job_request(
    state: StartEvaluationTransformInput, settings: PipelineSettings, bucket: DataBucket, instance_type: str
) -> dict:
    """The CreateTransformJob request (pure)."""
    run_id = state.run_id
    input_key = transform_input_key(run_id)
    return {
        "TransformJobName": evaluation_transform_job_name(run_id),
        "ModelName": state.endpoint.model_name,
        # SingleRecord, never MultiRecord: see the module docstring (sagemaker-python-sdk#4042).
        "BatchStrategy": "SingleRecord",
        "MaxPayloadInMB": MAX_PAYLOAD_IN_MB,
        "MaxConcurrentTransforms": MAX_CONCURRENT_TRANSFORMS,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": bucket.uri(input_key.rsplit("/", 1)[0] + "/")}
            },
            "ContentType": JSON,
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": bucket.uri(transform_output_key(run_id).rsplit("/", 1)[0] + "/"),
            "Accept": JSON,
            "AssembleWith": "Line",
        },
        # each answer beside its request, so that every line's count of answers is checked
        "DataProcessing": {"JoinSource": "Input"},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": 1},
        "Tags": sagemaker_tags(settings, run_id),
    }


def start_evaluation_transform(
    state: StartEvaluationTransformInput,
    sagemaker: BatchTransformGateway,
    bucket: DataBucket,
    streams: ObjectStreams,
    settings: PipelineSettings,
) -> EvaluationTransform:
    """Stage the raw test split as JSON Lines, then CreateTransformJob on the deployed model.

    Memory holds one request's rows. A retried step stages the same rows again and finds the job
    by its derived name. Returns the job with ``status: "InProgress"`` and ``polls: 0``.
    """
    run_id = state.run_id
    dataset = state.prepared.dataset
    schema = bucket.read_json(dataset.schema_key)
    input_key = transform_input_key(run_id)
    with streams.open_text(dataset.raw_test_key) as raw, streams.writer(input_key, "application/jsonlines") as out:
        rows = stage_rows(
            raw_records(raw, schema.get("delimiter") or ","),
            out.write,
            rows_per_line=rows_per_request(dataset.feature_count),  # the endpoint route's bound too
        )
    instance_type = transform_instance_type(
        state.prepared.config.endpoint_instance_type, sagemaker.transform_instance_types()
    )
    request = transform_job_request(state, settings, bucket, instance_type)
    sagemaker.create_transform_job(request)
    return EvaluationTransform(
        job_name=request["TransformJobName"],
        status="InProgress",
        polls=0,
        input_key=input_key,
        output_key=transform_output_key(run_id),
        rows=rows,
    )


def check_evaluation_transform(
    state: CheckEvaluationTransformInput, sagemaker: BatchTransformGateway
) -> EvaluationTransform:
    """One poll of the job: ``polls`` incremented; a reason when it ended without completing."""
    transform = state.evaluation_transform
    return transform.model_copy(update=poll_transform(sagemaker, transform.job_name, transform.polls))

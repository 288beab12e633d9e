"""The evaluation step on moto: streamed from S3, by the endpoint or from a transform's output, same evaluation."""

from __future__ import annotations

import csv
import io
import json

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.runtime import EndpointInvoker
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.errors import InvalidPredictionError
from sagedrop.pipeline.evaluating import evaluate_run
from sagedrop.pipeline.state import EvaluateInput, parse_state
from tests.unit.evaluation.test_streams import Endpoint, raw_csv

from .conftest import BUCKET, REGION, RUN_ID, make_config, make_dataset, make_state

ROWS = 1_500
OUTPUT_KEY = f"runs/{RUN_ID}/evaluation/transform/output/test.jsonl.out"


class Invoker(EndpointInvoker):
    def __init__(self, endpoint: Endpoint):
        super().__init__(None, "e")
        self.endpoint = endpoint

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        return self.endpoint.invoke(body, content_type, accept)


def world(s3, rows: int = ROWS) -> list[list[str]]:
    """schema.json, the raw test split and its labels in two part files; returns the raw records."""
    raw = raw_csv(rows, seed=4)
    records = [r for r in csv.reader(io.StringIO(raw.decode(), newline="")) if r][1:]
    labels = [f"{int(i % 3 == 0)},0.5,1\n" for i in range(rows)]
    schema = {"delimiter": ",", "label_mapping": ["no", "yes"], "label_stats": {"majority_class": 0}}
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/schema.json", Body=json.dumps(schema).encode())
    s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/data/raw/test.csv", Body=raw)
    half = rows // 2
    for number, part in enumerate((labels[:half], labels[half:])):
        s3.put_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/data/test/part-0000{number}.csv", Body="".join(part).encode())
    return records


def state(**extra) -> EvaluateInput:
    document = make_state(
        config=make_config(algorithm="linear-learner"),
        dataset=make_dataset(),
        training={"job_name": "t", "status": "Completed", "polls": 1, "model_artifact": "s3://b/m.tar.gz"},
        endpoint={"model_name": "m", "endpoint_config_name": "c", "endpoint_name": "e", "status": "InService",
                  "polls": 1},
        **extra,
    )  # fmt: skip
    return parse_state(document, EvaluateInput)


def joined(answers: list, per_request: int) -> bytes:
    """A transform output: requests of ``per_request`` rows, each joined with its answers (JoinSource Input)."""
    lines = []
    for start in range(0, len(answers), per_request):
        answered = answers[start : start + per_request]
        request = {"instances": [{"row": start + i} for i in range(len(answered))]}
        lines.append(json.dumps({**request, "SageMakerOutput": {"predictions": answered}}) + "\n")
    return "".join(lines).encode()


def test_the_transform_route_gives_the_endpoint_routes_evaluation_and_permutation_importance():
    endpoint = Endpoint()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        records = world(s3)
        bucket, streams = DataBucket(s3, BUCKET), ObjectStreams(s3, BUCKET)
        # Given the endpoint route's evaluation (no analysis: Linear Learner, explained by permutation)
        evaluate_run(state(), bucket, streams, Invoker(endpoint))
        by_endpoint = json.loads(s3.get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/evaluation.json")["Body"].read())
        # When a transform job answered the same rows, in requests of 17 rows
        s3.put_object(Bucket=BUCKET, Key=OUTPUT_KEY, Body=joined([endpoint.row(record) for record in records], 17))
        transform = {"job_name": "j", "status": "Completed", "polls": 3, "input_key": "i", "output_key": OUTPUT_KEY,
                     "rows": ROWS}  # fmt: skip
        evaluate_run(state(evaluation_transform=transform), bucket, streams, Invoker(endpoint))
        by_transform = json.loads(s3.get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/evaluation.json")["Body"].read())
    # Then the evaluation is the same document, but for the route it names
    assert by_transform.pop("scored_by") == {"route": "batch_transform", "resource": "j"}
    assert by_endpoint.pop("scored_by")["route"] == "endpoint"
    assert by_transform == by_endpoint
    assert by_endpoint["rows"] == ROWS
    assert by_endpoint["importance_method"].startswith("permutation importance through the endpoint on 1,000")
    assert {item["column"] for item in by_endpoint["feature_importance"]} == {"age", "job", "note"}


def test_a_transform_output_short_of_rows_is_refused_with_both_counts():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        records = world(s3, rows=200)
        s3.put_object(Bucket=BUCKET, Key=OUTPUT_KEY, Body=joined([Endpoint().row(records[0])] * 199, 10))
        transform = {"job_name": "j", "status": "Completed", "polls": 3, "input_key": "i", "output_key": OUTPUT_KEY,
                     "rows": 200}  # fmt: skip
        with pytest.raises(InvalidPredictionError, match="transform job j answered 199 predictions for the 200 rows"):
            evaluate_run(
                state(evaluation_transform=transform),
                DataBucket(s3, BUCKET),
                ObjectStreams(s3, BUCKET),
                Invoker(Endpoint()),
            )

"""Shared pieces of the scoring tests: a run's records as sagedrop writes them, scoring states, a bucket."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.scoring.names import scoring_id_for
from tests.constants import ACCOUNT, BUCKET, REGION, TOPIC_ARN, TOPIC_NAME
from tests.unit.handlers.conftest import aws, environment, load_handler, reset_metrics  # noqa: F401 - handler fixtures
from tests.unit.pipeline.conftest import make_settings  # noqa: F401 - re-exported

RUN_ID = "bank-full-0123456789abcdef"
SCORE_KEY = f"score/{RUN_ID}/customers.csv"
SCORING_ID = scoring_id_for(BUCKET, SCORE_KEY, "v1")
MODEL_ARTIFACT = f"s3://{BUCKET}/runs/{RUN_ID}/model/{RUN_ID}-tabc123/output/model.tar.gz"
INFERENCE_ARTIFACT = f"s3://{BUCKET}/runs/{RUN_ID}/inference/model.tar.gz"
COLUMNS = ["age", "job", "balance", "id"]


def make_schema(*, delimiter: str = ",", problem_type: str = "binary_classification") -> dict:
    """The part of schema.json scoring reads: ``id`` was dropped by training (an identifier)."""
    return {
        "label": "y",
        "problem_type": problem_type,
        "source_columns": COLUMNS,
        "encodings": {
            "age": {"kind": "numeric", "features": ["age"], "missing": 0},
            "job": {"kind": "one_hot", "categories": ["admin.", "technician"], "features": ["job_admin.", "job_t"]},
            "balance": {"kind": "numeric", "features": ["balance"], "missing": 0},
            "id": {"kind": "dropped", "features": []},
        },
        "label_mapping": None if problem_type == "regression" else ["no", "yes"],
        "delimiter": delimiter,
        "text_encoding": "utf-8",
    }


def make_run_record(status: str = "SUCCEEDED") -> dict:
    return {
        "run_id": RUN_ID,
        "status": status,
        "config": {"endpoint_instance_type": "ml.m5.large", "serverless": None},
        "dataset": {
            "schema_key": f"runs/{RUN_ID}/schema.json",
            "inference_artifact": INFERENCE_ARTIFACT,
            "problem_type": "binary_classification",
        },
        "resources": {"model_artifact": MODEL_ARTIFACT},
    }


def make_scoring_state(**sections) -> dict:
    """The scoring state as "Start the scoring" passes it on, plus ``sections``."""
    state = {
        "scoring_id": SCORING_ID,
        "source": {"bucket": BUCKET, "key": SCORE_KEY, "version_id": "v1", "etag": "e", "size": 10},
        "poll": {"interval_seconds": 60, "max_polls": 60},
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sagedrop-test-scoring:{SCORING_ID}",
    }
    state.update(copy.deepcopy(sections))
    return state


def validated_section(problem_type: str = "binary_classification") -> dict:
    return {
        "run_id": RUN_ID,
        "name": "customers",
        "schema_key": f"runs/{RUN_ID}/schema.json",
        "model_artifact": MODEL_ARTIFACT,
        "inference_artifact": INFERENCE_ARTIFACT,
        "endpoint_instance_type": "ml.m5.large",
        "problem_type": problem_type,
        "prediction_columns": ["predicted_label"]
        if problem_type == "regression"
        else ["predicted_label", "probability"],
        "columns": 5,
    }


class World:
    """A moto bucket (versioned) and topic with an SQS inbox; ``drop`` uploads a file to score."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.bucket = DataBucket(self.s3, BUCKET)
        self.streams = ObjectStreams(self.s3, BUCKET)
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        assert sns.create_topic(Name=TOPIC_NAME)["TopicArn"] == TOPIC_ARN
        self.inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=arn)
        self.sqs = sqs
        self.sns = sns

    def keep_run(self, record: dict | None = None, schema: dict | None = None) -> None:
        self.bucket.write_json(f"runs/{RUN_ID}/run.json", record or make_run_record())
        self.bucket.write_json(f"runs/{RUN_ID}/schema.json", schema or make_schema())

    def drop(self, text: str, key: str = SCORE_KEY) -> dict:
        """Upload a file to score; the scoring state of its execution, pinned to the version uploaded."""
        version = self.s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode("utf-8"))["VersionId"]
        state = make_scoring_state()
        state["source"].update(key=key, version_id=version, size=len(text.encode()))
        return state

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def messages(self) -> list[dict]:
        found = []
        for message in self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", []):
            envelope = json.loads(message["Body"])
            found.append(
                {
                    "subject": envelope["Subject"],
                    "message": envelope["Message"],
                    "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                }
            )
        return found


@pytest.fixture
def world():
    with mock_aws():
        yield World()

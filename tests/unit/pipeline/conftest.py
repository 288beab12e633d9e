"""Shared pieces for the pipeline step tests: fake AWS credentials, settings, run states, stubs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from sagedrop.run_config import resolve_run_config
from sagedrop.settings import PipelineSettings
from tests.constants import ACCOUNT, BUCKET, REGION, ROLE_ARN, STACK, TOPIC_ARN, TOPIC_NAME  # noqa: F401 - re-exported

RUN_ID = "bank-full-0123456789abcdef"
EVENTS = Path(__file__).resolve().parents[3] / "events"


def load_event(name: str) -> dict:
    """A sample event from events/, the same document ``sam local invoke -e`` uses."""
    return json.loads((EVENTS / name).read_text())


def make_settings(**overrides) -> PipelineSettings:
    values = {
        "data_bucket": BUCKET,
        "notification_topic_arn": TOPIC_ARN,
        "sagemaker_role_arn": ROLE_ARN,
        "stack_name": STACK,
        "region": REGION,
        "xgboost_version": "3.0-5",
    }
    values.update(overrides)
    return PipelineSettings(**values)


def make_config(**overrides) -> dict:
    """An effective run configuration, as preprocess returns it (built-in defaults + overrides)."""
    return resolve_run_config(None, overrides or None, source="test").as_dict()


def make_dataset(problem_type: str = "binary_classification", *, validation: bool = True, classes=None) -> dict:
    prefix = f"s3://{BUCKET}/runs/{RUN_ID}/data"
    channels = {"train": f"{prefix}/train/", "test": f"{prefix}/test/"}
    if validation:
        channels["validation"] = f"{prefix}/validation/"
    return {
        "schema_key": f"runs/{RUN_ID}/schema.json",
        "channels": channels,
        "raw_test_key": f"runs/{RUN_ID}/data/raw/test.csv",
        "inference_artifact": f"s3://{BUCKET}/runs/{RUN_ID}/inference/model.tar.gz",
        "label": "y",
        "problem_type": problem_type,
        "feature_count": 4,
        "class_count": classes,
        "rows": {"input": 100, "train": 70, "validation": 15, "test": 15},
    }


def make_state(*, config: dict | None = None, dataset: dict | None = None, **extra) -> dict:
    """The run state as the state machine carries it after preprocessing (plus ``extra`` sections)."""
    state = {
        "run_id": RUN_ID,
        "source": {
            "bucket": BUCKET,
            "key": "incoming/bank/bank-full.csv",
            "version_id": "v1",
            "etag": "abc",
            "size": 10,
        },
        "poll": {"interval_seconds": 60, "max_polls": 60},
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sagedrop-test:{RUN_ID}",
        "prepared": {"config": config or make_config(), "dataset": dataset or make_dataset()},
    }
    state.update(copy.deepcopy(extra))
    return state


class StubbedSageMaker:
    """A real SageMaker client behind a botocore Stubber; ``requests`` records every call's parameters."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.requests: list[tuple[str, dict]] = []
        self.client.meta.events.register("provide-client-params.sagemaker.*", self._record)

    def _record(self, params, model, **_):
        self.requests.append((model.name, copy.deepcopy(params)))

    def calls(self, operation: str) -> list[dict]:
        return [params for name, params in self.requests if name == operation]


@pytest.fixture
def stubbed():
    stub = StubbedSageMaker()
    with stub.stubber:
        yield stub
    stub.stubber.assert_no_pending_responses()

"""Fixtures for the local SageMaker: moto for S3/Logs/CloudWatch, a session served by LocalSageMaker."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import numpy as np
import pytest
from moto import mock_aws

from sagedrop_local.sagemaker import LocalSageMaker
from tests.constants import BUCKET, REGION, ROLE_ARN
from tests.constants import XGBOOST_IMAGE_1_7 as IMAGE

STARTUP_SECONDS = 0.2


@pytest.fixture
def aws():
    """moto for everything that is not SageMaker, as in the local cloud."""
    with mock_aws():
        yield


# One loader for every test's session: reading the service JSON models dominates client creation.
_SHARED_LOADER = botocore.loaders.create_loader()


def new_session() -> boto3.Session:
    """A fresh session (fresh event handlers) that reuses the parsed service models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _SHARED_LOADER)
    return boto3.Session(botocore_session=core, region_name=REGION)


@pytest.fixture
def session(aws) -> boto3.Session:
    return new_session()


@pytest.fixture
def s3(session):
    client = session.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def logs(session):
    return session.client("logs")


@pytest.fixture
def cloudwatch(session):
    return session.client("cloudwatch")


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "sagemaker-state"


@pytest.fixture
def local_sagemaker(session, s3, logs, cloudwatch, state_dir):
    emulator = LocalSageMaker(
        s3, state_dir, logs_client=logs, cloudwatch_client=cloudwatch, startup_seconds=STARTUP_SECONDS
    )
    emulator.install(session)
    yield emulator
    emulator.close()


@pytest.fixture
def sagemaker(session, local_sagemaker):
    return session.client("sagemaker")


@pytest.fixture
def runtime(session, local_sagemaker):
    return session.client("sagemaker-runtime")


# ---------------------------------------------------------------- helpers


def make_dataset(rows: int = 300, features: int = 4, seed: int = 7, classes: int = 2) -> np.ndarray:
    """Label-first numeric rows; the label depends on the first two features so xgboost learns it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    score = x[:, 0] + 0.5 * x[:, 1]
    if classes == 2:
        label = (score > 0).astype(float)
    else:
        label = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])).astype(float)
    return np.column_stack([label, x])


def to_csv(rows: np.ndarray) -> bytes:
    buffer = io.StringIO()
    np.savetxt(buffer, rows, delimiter=",", fmt="%.6f")
    return buffer.getvalue().encode()


def upload_channels(s3, prefix: str, data: np.ndarray) -> dict[str, np.ndarray]:
    """Split 70/30 into train/validation parts under ``s3://BUCKET/<prefix>/data/<channel>/``."""
    cut = int(len(data) * 0.7)
    parts = {"train": data[:cut], "validation": data[cut:]}
    for channel, rows in parts.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/{channel}/part-0.csv", Body=to_csv(rows))
    return parts


def training_request(
    name: str,
    prefix: str,
    hyperparameters: dict[str, str] | None = None,
    content_type: str | None = "text/csv",
) -> dict:
    """A CreateTrainingJob request shaped like the pipeline's."""

    def channel(channel_name: str) -> dict:
        spec = {
            "ChannelName": channel_name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{BUCKET}/{prefix}/data/{channel_name}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        if content_type:
            spec["ContentType"] = content_type
        return spec

    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hyperparameters
        or {"objective": "binary:logistic", "num_round": "10", "max_depth": "3", "eval_metric": "auc"},
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/{prefix}/model"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "sagedrop:stack", "Value": "test"}],
    }


def wait_until(fetch: Callable[[], dict], done: Callable[[dict], bool], timeout: float = 20.0) -> dict:
    """Poll like the pipeline's wait loop; return the last response."""
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def wait_for_job(sagemaker, name: str) -> dict:
    return wait_until(
        lambda: sagemaker.describe_training_job(TrainingJobName=name),
        lambda r: r["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"),
    )


def wait_for_endpoint(sagemaker, name: str) -> dict:
    return wait_until(
        lambda: sagemaker.describe_endpoint(EndpointName=name),
        lambda r: r["EndpointStatus"] in ("InService", "Failed"),
    )


def model_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def deploy(
    sagemaker,
    name: str,
    model_data_url: str,
    *,
    serverless: dict | None = None,
    tags: list[dict] | None = None,
) -> None:
    """CreateModel + CreateEndpointConfig + CreateEndpoint, named after ``name``."""
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data_url},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": f"{name}-model"}
    if serverless:
        variant["ServerlessConfig"] = serverless
    else:
        variant.update(InstanceType="ml.m5.large", InitialInstanceCount=1)
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags or [])

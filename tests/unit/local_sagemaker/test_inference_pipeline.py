"""Inference pipelines on the local SageMaker: raw bank rows in, labelled predictions out, errors named.

The artifacts are the real ones: prepare_dataset on the first rows of bank-full, a local XGBoost
training job on its splits, build_model_tarball for the featurize/decode tarball and for the
single-container (serverless) tarball. The module deploys a pipeline endpoint and a serverless
single-container endpoint once and shares them.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagedrop.dataset import prepare_dataset, read_table, to_headerless_csv, to_source_csv
from sagedrop.image_uris import LINEAR_LEARNER, SKLEARN, image_uri, xgboost_image_uri
from sagedrop.inference import featurizer as featurizer_module
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import (
    algorithm_files,
    build_model_tarball,
    container_environment,
    read_model_tarball,
)
from sagedrop.inference.serving import DECODE, FEATURIZE, MODE_ENV, SINGLE
from sagedrop.run_config import resolve_run_config
from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.inference_pipeline import INTERMEDIATE_PAYLOAD_MAX_BYTES, MAX_CONTAINERS

from .conftest import BUCKET, REGION, ROLE_ARN, new_session, training_request, wait_for_endpoint, wait_for_job

BANK = Path(__file__).resolve().parents[3] / "data" / "bank-full.csv.gz"
BANK_ROWS = 3000
SKLEARN_IMAGE = image_uri(SKLEARN, REGION)
XGBOOST_IMAGE = xgboost_image_uri(REGION, "1.7-1")
PIPELINE = "ep-pipeline"
SERVERLESS = "ep-single"
BUILT_IN = "ep-encoded"


@dataclass
class Cloud:
    session: boto3.Session
    s3: object
    logs: object
    emulator: LocalSageMaker
    sagemaker: object
    runtime: object


@dataclass
class Models:
    """What one preparation and one training job give: tarball URLs, the artifact, raw and encoded rows."""

    artifact: FeaturizerArtifact
    trained: str  # the training job's model.tar.gz
    inference: str  # featurizer.json + code
    single: str  # featurizer.json + code + xgboost-model
    raw_test: bytes  # the test split's raw rows with a header, no label
    raw_header: bytes
    encoded_test: bytes  # the same rows as the features CSV


def bank_upload(rows: int = BANK_ROWS) -> bytes:
    lines = gzip.decompress(BANK.read_bytes()).splitlines(keepends=True)
    return b"".join(lines[: rows + 1])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with mock_aws():
        session = new_session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        logs = session.client("logs")
        emulator = LocalSageMaker(s3, tmp_path_factory.mktemp("state"), logs_client=logs, startup_seconds=0.05)
        emulator.install(session)
        try:
            yield Cloud(session, s3, logs, emulator, session.client("sagemaker"), session.client("sagemaker-runtime"))
        finally:
            emulator.close()


def put(cloud: Cloud, key: str, data: bytes) -> str:
    cloud.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


@pytest.fixture(scope="module")
def models(cloud) -> Models:
    prepared = prepare_dataset(bank_upload(), resolve_run_config(None, {"label": "y"}, source="test"), "bank.csv")
    for channel in ("train", "validation"):
        put(cloud, f"run/data/{channel}/part-0.csv", to_headerless_csv(getattr(prepared, channel)))
    cloud.sagemaker.create_training_job(**training_request("pipeline-train", "run"))
    job = wait_for_job(cloud.sagemaker, "pipeline-train")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    trained = job["ModelArtifacts"]["S3ModelArtifacts"]
    artifact = FeaturizerArtifact.from_schema(prepared.schema)
    trained_bytes = cloud.s3.get_object(Bucket=BUCKET, Key=trained.removeprefix(f"s3://{BUCKET}/"))["Body"].read()
    raw_test = to_source_csv(prepared.raw_test, delimiter=artifact.delimiter)
    return Models(
        artifact=artifact,
        trained=trained,
        inference=put(cloud, "run/inference/model.tar.gz", build_model_tarball(artifact)),
        single=put(cloud, "run/single/model.tar.gz", build_model_tarball(artifact, algorithm_files(trained_bytes))),
        raw_test=raw_test,
        raw_header=raw_test.splitlines(keepends=True)[0],
        encoded_test=to_headerless_csv(prepared.test.iloc[:, 1:]),
    )


def pipeline_containers(models: Models, inference_url: str | None = None, **extra) -> list[dict]:
    """The three containers as the deploy step declares them."""
    inference_url = inference_url or models.inference
    return [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": inference_url, "Environment": container_environment(FEATURIZE)},
        {
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": models.trained,
            "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        },
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": inference_url, "Environment": container_environment(DECODE)},
    ]


def deploy(cloud: Cloud, name: str, model: dict, serverless: bool = False) -> dict:
    cloud.sagemaker.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE_ARN, **model)
    variant = {"VariantName": "AllTraffic", "ModelName": f"{name}-model"}
    if serverless:
        variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    else:
        variant.update(InstanceType="ml.m5.large", InitialInstanceCount=1)
    cloud.sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
    cloud.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return wait_for_endpoint(cloud.sagemaker, name)


@pytest.fixture(scope="module")
def endpoints(cloud, models) -> dict[str, dict]:
    """The pipeline, its serverless single-container form and the pre-encoded XGBoost model, in service."""
    pipeline = {"Containers": pipeline_containers(models), "InferenceExecutionConfig": {"Mode": "Serial"}}
    single = {
        "PrimaryContainer": {
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": models.single,
            "Environment": container_environment(SINGLE),
        }
    }
    built_in = {"PrimaryContainer": {"Image": XGBOOST_IMAGE, "ModelDataUrl": models.trained}}
    return {
        PIPELINE: deploy(cloud, PIPELINE, pipeline),
        SERVERLESS: deploy(cloud, SERVERLESS, single, serverless=True),
        BUILT_IN: deploy(cloud, BUILT_IN, built_in),
    }


def invoke(cloud: Cloud, endpoint: str, body: bytes, content_type: str = "text/csv", accept: str | None = None):
    extra = {"Accept": accept} if accept else {}
    response = cloud.runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body, **extra)
    return response["Body"].read(), response["ContentType"]


def model_error(cloud: Cloud, endpoint: str, body: bytes, content_type: str = "text/csv") -> dict:
    with pytest.raises(ClientError) as caught:
        invoke(cloud, endpoint, body, content_type)
    return caught.value.response


def first_rows(models: Models, count: int) -> list[bytes]:
    return models.raw_test.splitlines(keepends=True)[1 : count + 1]


# --- serving -------------------------------------------------------------------------------


def test_a_raw_bank_row_with_text_columns_gets_its_label_and_probability(cloud, models, endpoints):
    row = first_rows(models, 1)[0]
    assert b"," in row and any(word in row for word in (b"married", b"single", b"divorced"))

    body, content_type = invoke(cloud, PIPELINE, row)

    assert endpoints[PIPELINE]["EndpointStatus"] == "InService"
    assert content_type == "text/csv"
    label, probability = body.decode().strip().split(",")
    assert label in models.artifact.label_mapping
    assert 0.5 <= float(probability) <= 1.0  # the probability of the predicted label


def test_the_pipeline_answers_as_its_three_stages_do_for_every_test_row(cloud, models, endpoints):
    body, _ = invoke(cloud, PIPELINE, models.raw_test)
    encoded, _ = invoke(cloud, BUILT_IN, models.encoded_test)

    answers = [line.split(",") for line in body.decode().splitlines()]
    scores = [float(value) for value in encoded.decode().split(",")]
    assert len(answers) == len(scores) == models.raw_test.count(b"\n") - 1
    positive, negative = models.artifact.label_mapping[1], models.artifact.label_mapping[0]
    for (label, probability), score in zip(answers, scores, strict=True):
        assert label == (positive if score > 0.5 else negative)
        assert float(probability) == pytest.approx(max(score, 1 - score), abs=1e-6)


def test_json_in_json_out(cloud, models, endpoints):
    frame = read_table(models.raw_test).frame.head(3)
    instances = json.loads(frame.to_json(orient="records"))

    body, content_type = invoke(
        cloud, PIPELINE, json.dumps({"instances": instances}).encode(), "application/json", "application/json"
    )

    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 3
    for prediction in predictions:
        assert prediction["labels"] == list(models.artifact.label_mapping)
        assert prediction["predicted_label"] in prediction["labels"]
        assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-6)


def test_the_serverless_single_container_form_answers_byte_for_byte_like_the_pipeline(cloud, models, endpoints):
    assert endpoints[SERVERLESS]["EndpointStatus"] == "InService"
    for content_type, accept in (("text/csv", "text/csv"), ("text/csv", "application/json"), ("text/csv", None)):
        assert invoke(cloud, SERVERLESS, models.raw_test, content_type, accept) == invoke(
            cloud, PIPELINE, models.raw_test, content_type, accept
        )


def test_linear_learner_in_the_middle_answers_json_the_decoder_reads(cloud, models, endpoints):
    # Linear Learner answers JSON only; as a middle container it gets no Accept, so its default.
    image = image_uri(LINEAR_LEARNER, REGION)
    request = training_request("pipeline-linear", "run")
    request["AlgorithmSpecification"]["TrainingImage"] = image
    request["HyperParameters"] = {
        "predictor_type": "binary_classifier",
        "feature_dim": str(len(models.artifact.features)),
        "epochs": "3",
    }
    cloud.sagemaker.create_training_job(**request)
    job = wait_for_job(cloud.sagemaker, "pipeline-linear")
    containers = pipeline_containers(models)
    containers[1] = {"Image": image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]}
    deploy(cloud, "ep-linear", {"Containers": containers})

    csv_body, csv_type = invoke(cloud, "ep-linear", models.raw_test)
    json_body, json_type = invoke(cloud, "ep-linear", models.raw_test, accept="application/json")

    rows = models.raw_test.count(b"\n") - 1
    assert (csv_type, json_type) == ("text/csv", "application/json")
    labels = [line.split(",")[0] for line in csv_body.decode().splitlines()]
    assert len(labels) == rows and set(labels) <= set(models.artifact.label_mapping)
    assert [p["predicted_label"] for p in json.loads(json_body)["predictions"]] == labels


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"58,management,married\n", "text/csv", ["row 1 has 3 fields, expected 16"], id="field-count"),
        pytest.param(None, "text/csv", ["row 2, column 'age'", "'forty' is not a number"], id="unreadable-number"),
        pytest.param(
            b'{"instances": [{"age": 30, "colour": "red"}]}',
            "application/json",
            ["row 1: unknown column 'colour'"],
            id="unknown-column",
        ),
    ],
)
def test_each_bad_request_is_a_model_error_naming_row_and_column(
    cloud, models, endpoints, body, content_type, expected
):
    if body is None:  # the second row's age is unreadable
        rows = first_rows(models, 2)
        body = rows[0] + b"forty" + rows[1][rows[1].index(b",") :]
    for endpoint, source in ((PIPELINE, "container-1"), (SERVERLESS, "primary")):
        response = model_error(cloud, endpoint, body, content_type)

        assert response["Error"]["Code"] == "ModelError"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert response["OriginalStatusCode"] == 400
        message = response["Error"]["Message"]
        assert message.startswith(f"Received client error (400) from {source} with message ")
        for part in expected:
            assert part in message and part in response["OriginalMessage"]


def test_an_unsupported_content_type_is_the_featurizers_415(cloud, endpoints):
    response = model_error(cloud, PIPELINE, b"<rows/>", "application/xml")

    assert response["OriginalStatusCode"] == 415
    assert "Received client error (415) from container-1" in response["Error"]["Message"]


def test_a_failing_middle_container_is_named(cloud, models, endpoints):
    # decode, then XGBoost: the decoder's labels ("yes,0.9") are no features, so the second container fails.
    containers = [
        {"Image": SKLEARN_IMAGE, "ModelDataUrl": models.inference, "Environment": container_environment(DECODE)},
        {"Image": XGBOOST_IMAGE, "ModelDataUrl": models.trained},
    ]
    deploy(cloud, "ep-two-stage", {"Containers": containers})

    response = model_error(cloud, "ep-two-stage", b"0.9\n0.2\n")

    assert response["OriginalStatusCode"] == 415
    assert response["Error"]["Message"].startswith("Received client error (415) from container-2 with message")


def test_the_code_served_is_the_tarballs_own_copy(cloud, models, endpoints):
    original = cloud.s3.get_object(Bucket=BUCKET, Key="run/inference/model.tar.gz")["Body"].read()
    files = dict(read_model_tarball(original).files)
    path = "code/sagedrop/inference/featurizer.py"
    marker = b"[served from the tarball's copy]"
    files[path] = files[path].replace(b"is not a number", b"is not a number " + marker)
    assert marker not in Path(featurizer_module.__file__).read_bytes()
    deploy(
        cloud,
        "ep-patched",
        {"Containers": pipeline_containers(models, put(cloud, "run/patched.tar.gz", tar_gz(files)))},
    )
    row = first_rows(models, 1)[0]
    body = b"forty" + row[row.index(b",") :]

    patched = model_error(cloud, "ep-patched", body)["OriginalMessage"]
    unpatched = model_error(cloud, PIPELINE, body)["OriginalMessage"]

    assert marker.decode() in patched
    assert "is not a number" in unpatched and marker.decode() not in unpatched


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_an_answer_over_5_mb_between_two_containers_ends_the_pipeline(cloud, models, endpoints):
    rows = models.raw_test.splitlines(keepends=True)[1:]
    body = b"".join(rows * (4_500_000 // len(b"".join(rows)) + 1))  # raw under 6 MB, its features over 5 MB

    response = model_error(cloud, PIPELINE, body)

    message = response["Error"]["Message"]
    assert len(body) < 6 * 1024 * 1024
    assert message.startswith("Received response from container-1 with status code 200. However, the request ")
    assert "from container-1 to container-2 is " in message
    size = int(message.split(" is ")[1].split(" bytes")[0])
    assert size > INTERMEDIATE_PAYLOAD_MAX_BYTES and "exceeded the maximum limit of 5 MB" in message


# --- CreateModel and CreateEndpointConfig ----------------------------------------------------


def create_model(cloud: Cloud, name: str, **model) -> dict:
    cloud.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, **model)
    return cloud.sagemaker.describe_model(ModelName=name)


def rejected(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    return caught.value.response["Error"]["Message"]


def test_create_model_keeps_the_containers_and_the_execution_config(cloud, models):
    described = create_model(
        cloud, "kept", Containers=pipeline_containers(models), InferenceExecutionConfig={"Mode": "Serial"}
    )

    assert [container["Image"] for container in described["Containers"]] == [
        SKLEARN_IMAGE,
        XGBOOST_IMAGE,
        SKLEARN_IMAGE,
    ]
    assert described["Containers"][0]["Environment"][MODE_ENV] == FEATURIZE
    assert described["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "PrimaryContainer" not in described


def test_at_most_15_containers(cloud, models):
    container = pipeline_containers(models)[1]

    assert len(create_model(cloud, "fifteen", Containers=[container] * MAX_CONTAINERS)["Containers"]) == 15
    message = rejected(lambda: create_model(cloud, "sixteen", Containers=[container] * (MAX_CONTAINERS + 1)))
    assert "Member must have length less than or equal to 15" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda model, containers: model.update(PrimaryContainer=containers[1]), "Only one of PrimaryContainer"),
        (lambda model, containers: containers[1].pop("ModelDataUrl"), "'containers.2.member.modelDataUrl'"),
        (lambda model, containers: containers[0].pop("Image"), "'containers.1.member.image'"),
        (lambda model, containers: containers[0].update(ContainerHostname="featurize"), "every container"),
        (lambda model, containers: containers[0].update(ModelDataUrl=f"s3://{BUCKET}/absent.tar.gz"), "Could not find"),
        (lambda model, containers: model.update(InferenceExecutionConfig={"Mode": "Direct"}), "Direct"),
    ],
    ids=["both-forms", "model-data", "image", "some-hostnames", "absent-model-data", "direct-mode"],
)
def test_create_model_rejects_what_sagemaker_rejects(cloud, models, change, expected):
    containers = pipeline_containers(models)
    model = {"Containers": containers}
    change(model, containers)

    assert expected in rejected(lambda: create_model(cloud, "bad-model", **model))
    assert "bad-model" not in [m["ModelName"] for m in cloud.sagemaker.list_models(MaxResults=100)["Models"]]


def test_hostnames_name_the_failing_container(cloud, models, endpoints):
    containers = pipeline_containers(models)
    for container, hostname in zip(containers, ("featurize", "algorithm", "decode"), strict=True):
        container["ContainerHostname"] = hostname
    deploy(cloud, "ep-hostnames", {"Containers": containers})

    response = model_error(cloud, "ep-hostnames", b"1,2\n")

    assert response["Error"]["Message"].startswith("Received client error (400) from featurize with message")


def test_a_serverless_variant_cannot_host_a_multi_container_model(cloud, models):
    create_model(cloud, "pipeline-for-serverless", Containers=pipeline_containers(models))
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "pipeline-for-serverless",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }

    message = rejected(
        lambda: cloud.sagemaker.create_endpoint_config(EndpointConfigName="serverless", ProductionVariants=[variant])
    )

    assert "Serverless inference does not support multi-container models" in message
    assert "pipeline-for-serverless" in message


def test_a_container_that_cannot_load_its_model_fails_the_endpoint_naming_it(cloud, models):
    containers = pipeline_containers(models)
    containers[2]["Environment"] = {**containers[2]["Environment"], MODE_ENV: "train"}
    containers[2]["ContainerHostname"] = "decode"
    for container, hostname in zip(containers[:2], ("featurize", "algorithm"), strict=True):
        container["ContainerHostname"] = hostname

    described = deploy(cloud, "ep-broken", {"Containers": containers})

    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "The container(s) decode for production variant AllTraffic did not pass the ping health check."
    )
    streams = cloud.logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/ep-broken")["logStreams"]
    decode_stream = next(s["logStreamName"] for s in streams if s["logStreamName"].endswith("/decode"))
    events = cloud.logs.get_log_events(logGroupName="/aws/sagemaker/Endpoints/ep-broken", logStreamName=decode_stream)
    assert any(MODE_ENV in event["message"] for event in events["events"])


def test_another_process_serves_a_pipeline_endpoint_left_in_service(cloud, models, endpoints):
    # A second instance on the same state directory (as a later CLI command) starts the containers itself.
    session = new_session()
    later = LocalSageMaker(session.client("s3"), cloud.emulator.state_dir, startup_seconds=0.05)
    later.install(session)
    try:
        assert later.endpoint_url(PIPELINE) is None
        response = session.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=PIPELINE, ContentType="text/csv", Body=models.raw_test
        )
        assert response["Body"].read() == invoke(cloud, PIPELINE, models.raw_test)[0]
        assert later.endpoint_url(PIPELINE) is not None
    finally:
        later.close()

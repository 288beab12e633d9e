"""The `local up` application on the wire: real botocore requests in, real botocore parsing out.

Each client below is an ordinary boto3 client whose HTTP exchange is handed to the WSGI
application in-process (no socket), so the request botocore signs and serialises is what the
application routes and parses, and botocore parses what it answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse
from werkzeug.test import Client

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.server.app import LocalCloudApp
from sagedrop_local.server.discovery import HEALTH_PATH
from sagedrop_local.server.moto_app import aws_host, signing_scope
from sagedrop_local.server.wire import InProcessApi

URL = "http://127.0.0.1:4566"


def wire_client(app, service: str):
    """A boto3 client of ``service`` whose requests the WSGI ``app`` answers."""
    client = boto3.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s").client(
        service, endpoint_url=URL
    )
    test_client = Client(app)

    def send(request, **_):
        url = urlsplit(request.url)
        body = request.body.read() if hasattr(request.body, "read") else request.body
        response = test_client.open(
            path=url.path,
            query_string=url.query,
            method=request.method,
            headers=[
                (name, value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()
            ],
            data=body or b"",
            environ_overrides={"RAW_URI": url.path + (f"?{url.query}" if url.query else "")},
        )
        return AWSResponse(request.url, response.status_code, dict(response.headers), MockRawResponse(response.data))

    client.meta.events.register_first("before-send", send)
    return client


@pytest.fixture
def moto_session():
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def created():
    return []


@pytest.fixture
def app(moto_session, functions_package, tmp_path, created):
    """The application over a session whose Lambda and SageMaker calls are answered in-process."""
    functions_package.install(moto_session.events)
    sagemaker = LocalSageMaker(moto_session.client("s3"), tmp_path / "state")
    sagemaker.install(moto_session)
    yield LocalCloudApp(
        InProcessApi(moto_session, "us-east-1", ("sagemaker", "sagemaker-runtime", "lambda")),
        function_names={"fn-echo", "fn-boom"},
        on_object_created=lambda *created_object: created.append(created_object),
        health=lambda: {"state_dir": str(tmp_path)},
    )
    sagemaker.close()


def test_the_signing_scope_names_region_and_service_in_a_header_or_a_presigned_url():
    header = "AWS4-HMAC-SHA256 Credential=AK/20261201/eu-west-1/sagemaker/aws4_request, SignedHeaders=host"
    assert signing_scope({"HTTP_AUTHORIZATION": header}) == ("eu-west-1", "sagemaker")
    presigned = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2Fus-east-1%2Fs3%2Faws4_request"
    assert signing_scope({"QUERY_STRING": presigned}) == ("us-east-1", "s3")
    assert signing_scope({}) is None


def test_each_service_gets_back_the_aws_host_mocks_url_patterns_know():
    assert aws_host("us-east-1", "s3") == "s3.amazonaws.com"
    assert aws_host("us-east-1", "iam") == "iam.amazonaws.com"
    assert aws_host("eu-west-1", "monitoring") == "monitoring.eu-west-1.amazonaws.com"


def test_lambda_invoke_of_a_stack_function_runs_its_handler(app):
    client = wire_client(app, "lambda")
    ok = client.invoke(FunctionName="fn-echo", Payload=b'{"x": 1}')
    assert ok["StatusCode"] == 200 and "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["event"] == {"x": 1}
    failed = client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:fn-boom", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "InvalidCsvError"


def test_lambda_calls_for_anything_else_go_to_moto(app):
    client = wire_client(app, "lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="not-in-the-stack", Payload=b"{}")
    assert client.list_functions()["Functions"] == []


def test_sagemaker_answers_with_modelled_shapes_and_errors(app):
    client = wire_client(app, "sagemaker")
    # A timestamp parameter crosses the wire as epoch seconds and back into a datetime.
    listed = client.list_endpoints(CreationTimeAfter=datetime.now(UTC) - timedelta(days=1))
    assert listed["Endpoints"] == []
    with pytest.raises(client.exceptions.ClientError) as missing:
        client.describe_endpoint(EndpointName="absent")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    assert "absent" in missing.value.response["Error"]["Message"]
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_runtime_reports_a_missing_endpoint_as_its_validation_error(app):
    client = wire_client(app, "sagemaker-runtime")
    with pytest.raises(client.exceptions.ValidationError, match="absent"):
        client.invoke_endpoint(EndpointName="absent", ContentType="text/csv", Body=b"1,2\n")


def test_object_creations_are_reported_and_other_writes_are_not(app, created):
    s3 = wire_client(app, "s3")
    s3.create_bucket(Bucket="data")
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})

    put = s3.put_object(Bucket="data", Key="incoming/a b/one.csv", Body=b"a,b\n1,2\n")
    s3.put_object_tagging(Bucket="data", Key="incoming/a b/one.csv", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    copied = s3.copy_object(
        Bucket="data", Key="incoming/two.csv", CopySource={"Bucket": "data", "Key": "incoming/a b/one.csv"}
    )
    upload = s3.create_multipart_upload(Bucket="data", Key="incoming/three.csv")
    part = s3.upload_part(Bucket="data", Key="incoming/three.csv", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    completed = s3.complete_multipart_upload(
        Bucket="data",
        Key="incoming/three.csv",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )

    assert created == [
        ("data", "incoming/a b/one.csv", put["VersionId"]),
        ("data", "incoming/two.csv", copied["VersionId"]),
        ("data", "incoming/three.csv", completed["VersionId"]),
    ]


def test_the_health_document_is_served_without_signature(app, tmp_path):
    response = Client(app).get(HEALTH_PATH)
    assert response.status_code == 200 and response.json == {"state_dir": str(tmp_path)}


@pytest.mark.parametrize(("flags", "warm"), [([], True), (["--cold-containers"], False)])
def test_local_up_keeps_containers_warm_unless_told_not_to(monkeypatch, tmp_path, flags, warm):
    from sagedrop_local import cli
    from sagedrop_local.server import up

    served = {}
    monkeypatch.setattr(up, "serve", lambda state_dir, port, stream, **options: served.update(options) or 0)

    assert cli.main(["local", "up", "--port", "0", "--state-dir", str(tmp_path), *flags]) == 0
    assert served == {"warm_containers": warm}

"""EndpointInvoker refuses a body over InvokeEndpoint's limit before sending it, real-time or serverless."""

from __future__ import annotations

import io

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.runtime import EndpointInvoker
from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES, SERVERLESS_INVOKE_MAX_BYTES

from .wire import REGION

LIMITS = [(False, INVOKE_ENDPOINT_MAX_BYTES), (True, SERVERLESS_INVOKE_MAX_BYTES)]


def answered(body: bytes):
    runtime = client("sagemaker-runtime", retries=RetryPolicy.SELF, region_name=REGION)
    stub = Stubber(runtime)
    answer = b"0.5\n"
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(answer), len(answer)), "ContentType": "text/csv"},
        {"EndpointName": "ep", "ContentType": "text/csv", "Accept": "text/csv", "Body": body},
    )
    return runtime, stub


@pytest.mark.parametrize(("serverless", "limit"), LIMITS)
def test_a_body_of_exactly_the_limit_is_sent(serverless, limit):
    body = b"1" * limit
    runtime, stub = answered(body)
    with stub:
        assert EndpointInvoker(runtime, "ep", serverless=serverless).predict_csv(body) == b"0.5\n"
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(("serverless", "limit"), LIMITS)
def test_one_byte_more_is_refused_without_a_call(serverless, limit):
    runtime = client("sagemaker-runtime", retries=RetryPolicy.SELF, region_name=REGION)
    with Stubber(runtime), pytest.raises(ValueError, match=f"{limit + 1} bytes exceeds InvokeEndpoint's {limit}"):
        EndpointInvoker(runtime, "ep", serverless=serverless).predict_csv(b"1" * (limit + 1))

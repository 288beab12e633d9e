"""The botocore error helpers on the errors services really send, parsed by botocore itself."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.aws.errors import (
    describe,
    error_code,
    error_message,
    is_already_exists,
    is_limit_exceeded,
    is_not_found,
    is_throttling,
    translate,
)
from sagedrop.errors import SageMakerLimitExceeded, SageMakerThrottled

from .wire import json_error, raised

ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
S3_NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message><Key>k</Key><RequestId>R</RequestId></Error>"
)


# --- one real error per shape ----------------------------------------------------------------------------
def sagemaker_missing_endpoint() -> ClientError:
    # SageMaker names the error with its Coral prefix; botocore keeps the part after '#'.
    body = json_error("com.amazon.coral.validate#ValidationException", f'Could not find endpoint "{ENDPOINT_ARN}".')
    return raised("sagemaker", "describe_endpoint", "DescribeEndpoint", 400, body, EndpointName="ep")


def sagemaker_missing_training_job() -> ClientError:
    body = json_error("ValidationException", "Requested resource not found.")
    return raised("sagemaker", "describe_training_job", "DescribeTrainingJob", 400, body, TrainingJobName="j")


def sagemaker_existing_model() -> ClientError:
    body = json_error("ValidationException", 'Cannot create already existing model "arn:aws:sagemaker:::model/m".')
    request = {"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r"}
    return raised("sagemaker", "create_model", "CreateModel", 400, body, **request)


def sagemaker_bad_value() -> ClientError:
    message = "1 validation error detected: Value 'a b' at 'endpointName' failed to satisfy constraint"
    body = json_error("ValidationException", message)
    return raised("sagemaker", "describe_endpoint", "DescribeEndpoint", 400, body, EndpointName="ep")


def sagemaker_throttled() -> ClientError:
    body = json_error("ThrottlingException", "Rate exceeded")
    return raised("sagemaker", "list_endpoints", "ListEndpoints", 400, body)


def sagemaker_limit_exceeded() -> ClientError:
    message = "The account-level service limit 'ml.m5.xlarge for training job usage' is 0 Instances"
    body = json_error("ResourceLimitExceeded", message)
    return raised("sagemaker", "list_endpoints", "ListEndpoints", 400, body)


def sagemaker_access_denied() -> ClientError:
    body = json_error("AccessDeniedException", "User is not authorized to perform: sagemaker:DeleteEndpoint")
    return raised("sagemaker", "delete_endpoint", "DeleteEndpoint", 400, body, EndpointName="ep")


def logs_missing_group() -> ClientError:
    body = json_error("ResourceNotFoundException", "The specified log group does not exist.")
    return raised("logs", "delete_log_group", "DeleteLogGroup", 400, body, logGroupName="/aws/sagemaker/x")


def logs_existing_group() -> ClientError:
    body = json_error("ResourceAlreadyExistsException", "The specified log group already exists")
    return raised("logs", "create_log_group", "CreateLogGroup", 400, body, logGroupName="/aws/sagemaker/x")


def stepfunctions_existing_execution() -> ClientError:
    body = json_error("ExecutionAlreadyExists", "Execution Already Exists: 'arn:aws:states:::execution:m:run'")
    request = {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "name": "run"}
    return raised("stepfunctions", "start_execution", "StartExecution", 400, body, **request)


def s3_missing_key() -> ClientError:
    return raised("s3", "get_object", "GetObject", 404, S3_NO_SUCH_KEY, Bucket="b", Key="k")


def s3_missing_key_on_head() -> ClientError:
    return raised("s3", "head_object", "HeadObject", 404, b"", Bucket="b", Key="k")  # HEAD has no body


SHAPES = {
    "sagemaker missing endpoint": sagemaker_missing_endpoint,
    "sagemaker missing training job": sagemaker_missing_training_job,
    "sagemaker existing model": sagemaker_existing_model,
    "sagemaker bad value": sagemaker_bad_value,
    "sagemaker throttled": sagemaker_throttled,
    "sagemaker limit exceeded": sagemaker_limit_exceeded,
    "sagemaker access denied": sagemaker_access_denied,
    "logs missing group": logs_missing_group,
    "logs existing group": logs_existing_group,
    "stepfunctions existing execution": stepfunctions_existing_execution,
    "s3 missing key": s3_missing_key,
    "s3 missing key on head": s3_missing_key_on_head,
}
# name -> (not found, already exists, throttling, limit exceeded)
EXPECTED = {
    "sagemaker missing endpoint": (True, False, False, False),
    "sagemaker missing training job": (True, False, False, False),
    "sagemaker existing model": (False, True, False, False),
    "sagemaker bad value": (False, False, False, False),
    "sagemaker throttled": (False, False, True, False),
    "sagemaker limit exceeded": (False, False, False, True),
    "sagemaker access denied": (False, False, False, False),
    "logs missing group": (True, False, False, False),
    "logs existing group": (False, True, False, False),
    "stepfunctions existing execution": (False, True, False, False),
    "s3 missing key": (True, False, False, False),
    "s3 missing key on head": (True, False, False, False),
}


@pytest.fixture(scope="module")
def errors() -> dict[str, ClientError]:
    return {name: make() for name, make in SHAPES.items()}


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_shape_is_classified_as_what_it_means(errors, name):
    error = errors[name]
    classified = (is_not_found(error), is_already_exists(error), is_throttling(error), is_limit_exceeded(error))
    assert classified == EXPECTED[name]


def test_code_and_message_come_from_the_parsed_response(errors):
    missing = errors["sagemaker missing endpoint"]
    assert error_code(missing) == "ValidationException"
    assert error_message(missing) == f'Could not find endpoint "{ENDPOINT_ARN}".'
    assert (error_code(errors["s3 missing key"]), error_message(errors["s3 missing key"])) == (
        "NoSuchKey",
        "The specified key does not exist.",
    )
    assert error_code(errors["logs missing group"]) == "ResourceNotFoundException"


def test_describe_is_code_colon_message(errors):
    assert describe(errors["sagemaker throttled"]) == "ThrottlingException: Rate exceeded"
    expected = "ResourceNotFoundException: The specified log group does not exist."
    assert describe(errors["logs missing group"]) == expected


def test_describe_falls_back_to_the_whole_error_when_the_service_sent_no_message():
    error = ClientError({"Error": {"Code": "InternalFailure"}}, "DeleteEndpoint")
    assert describe(error).startswith("InternalFailure: An error occurred (InternalFailure)")
    assert error_message(error) == ""


def test_other_exceptions_have_no_code_and_are_never_not_found():
    error = ValueError("could not find the endpoint")
    assert (error_code(error), error_message(error)) == ("", "could not find the endpoint")
    assert not is_not_found(error) and not is_throttling(error)
    assert describe(error) == "ValueError: could not find the endpoint"


# --- translation for the state machine -------------------------------------------------------------------
def test_throttling_becomes_sagemaker_throttled_with_the_service_message(errors):
    translated = translate(errors["sagemaker throttled"])
    assert type(translated) is SageMakerThrottled and str(translated) == "Rate exceeded"


def test_resource_limit_becomes_sagemaker_limit_exceeded(errors):
    translated = translate(errors["sagemaker limit exceeded"])
    assert type(translated) is SageMakerLimitExceeded and "ml.m5.xlarge" in str(translated)


@pytest.mark.parametrize("name", ["sagemaker missing endpoint", "sagemaker access denied", "logs missing group"])
def test_everything_else_stays_the_client_error_it_was(errors, name):
    assert translate(errors[name]) is errors[name]


def test_a_throttle_without_a_message_is_named_by_its_code():
    translated = translate(ClientError({"Error": {"Code": "ThrottlingException"}}, "CreateModel"))
    assert type(translated) is SageMakerThrottled and str(translated) == "ThrottlingException"


@given(code=st.text(max_size=40), message=st.text(max_size=80))
def test_translation_follows_the_classification_for_any_code(code, message):
    error = ClientError({"Error": {"Code": code, "Message": message}}, "AnyOperation")
    translated = translate(error)
    if is_throttling(error):
        assert isinstance(translated, SageMakerThrottled)
    elif is_limit_exceeded(error):
        assert isinstance(translated, SageMakerLimitExceeded)
    else:
        assert translated is error
    assert not (is_throttling(error) and is_limit_exceeded(error))

"""The client factory: the retry policy really set on the client and really followed, the default
session (which the local cloud serves) used when no session is given, options passed through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from sagedrop.aws.clients import RetryPolicy, client

from .wire import REGION, answer_with, json_error

ROOT = Path(__file__).parents[3]


@pytest.fixture
def no_sleep(monkeypatch):
    """Record backoff delays instead of sleeping; open adaptive mode's client-side token bucket."""
    delays: list[float] = []
    monkeypatch.setattr("time.sleep", delays.append)
    monkeypatch.setattr("botocore.retries.bucket.TokenBucket.acquire", lambda self, amount=1, block=True: True)
    return delays


def attempts_until_failure(sagemaker) -> int:
    """Throttle every ListEndpoints attempt; return how many attempts the client made before giving up."""
    attempts = []
    sagemaker.meta.events.register("before-send.sagemaker.ListEndpoints", lambda **_: attempts.append(1))
    answer_with(sagemaker, "ListEndpoints", 400, json_error("ThrottlingException", "Rate exceeded"))
    with pytest.raises(ClientError, match="ThrottlingException"):
        sagemaker.list_endpoints()
    return len(attempts)


# --- the policy is set on the client and followed ------------------------------------------------------------
def test_state_machine_policy_is_standard_mode_with_two_attempts(no_sleep):
    sagemaker = client("sagemaker", retries=RetryPolicy.STATE_MACHINE, region_name=REGION)
    assert sagemaker.meta.config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert attempts_until_failure(sagemaker) == 2  # one retry, then the state machine's Retry takes over
    assert len(no_sleep) == 1


def test_self_policy_is_adaptive_mode_with_nine_attempts(no_sleep):
    sagemaker = client("sagemaker", retries=RetryPolicy.SELF, region_name=REGION)
    assert sagemaker.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}
    assert attempts_until_failure(sagemaker) == 9
    assert len(no_sleep) == 8


def test_the_policy_must_be_named():
    with pytest.raises(TypeError):
        client("sagemaker")  # type: ignore[call-arg]


# --- sessions and options ----------------------------------------------------------------------------------
def test_without_a_session_the_client_comes_from_boto3s_default_session(monkeypatch):
    # The local cloud installs its SageMaker on the default session's events; a client of any
    # other session would go to the real endpoint.
    default = boto3.Session(region_name=REGION)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", default)
    answered = {"Endpoints": [{"EndpointName": "local"}]}
    ok = AWSResponse("https://local", 200, {}, None)
    default.events.register("before-call.sagemaker.ListEndpoints", lambda **_: (ok, answered))

    # Nothing listens on port 9: a client of another session fails at once instead of being answered.
    sagemaker = client("sagemaker", retries=RetryPolicy.STATE_MACHINE, endpoint_url="http://127.0.0.1:9")

    assert sagemaker.list_endpoints()["Endpoints"] == [{"EndpointName": "local"}]


def test_a_given_session_is_used():
    session = boto3.Session(region_name="eu-west-1")
    logs = client("logs", retries=RetryPolicy.SELF, session=session)
    assert logs.meta.region_name == "eu-west-1"


def test_client_kwargs_pass_through():
    s3 = client("s3", retries=RetryPolicy.SELF, endpoint_url="http://127.0.0.1:4566", region_name="eu-west-1")
    assert (s3.meta.endpoint_url, s3.meta.region_name) == ("http://127.0.0.1:4566", "eu-west-1")


def test_extra_config_is_merged_with_the_policy():
    runtime = client("sagemaker-runtime", retries=RetryPolicy.SELF, config=Config(read_timeout=70), region_name=REGION)
    assert runtime.meta.config.read_timeout == 70
    assert runtime.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}


def test_extra_config_may_not_override_the_retries():
    with pytest.raises(ValueError, match="RetryPolicy"):
        client("sagemaker", retries=RetryPolicy.SELF, config=Config(retries={"max_attempts": 20}))


# --- the policy a handler names agrees with the state machine --------------------------------------------------
def _retries_throttling(machines: list[dict], function: str) -> bool:
    """Does the ASL state running ``function`` retry SageMakerThrottled? False if no state runs it."""
    from sagedrop.pipeline.steps import substitution_key

    resource = "${" + substitution_key(function) + "}"
    tasks = [s for asl in machines for s in asl["States"].values() if s.get("Resource") == resource]
    return any("SageMakerThrottled" in r["ErrorEquals"] for task in tasks for r in task.get("Retry", []))


def test_handlers_choose_the_policy_their_state_retries_for():
    """STATE_MACHINE where the ASL retries SageMakerThrottled (for the SageMaker client at least), and
    nowhere else: there a throttled call would be retried once and then fail the run."""
    machines = [json.loads(path.read_text()) for path in sorted((ROOT / "statemachine").glob("*.asl.json"))]
    choices = {}
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        policies = set(re.findall(r"RetryPolicy\.(STATE_MACHINE|SELF)", app.read_text()))
        if policies:
            choices[app.parent.name] = policies
    if not choices:
        pytest.skip("no handler builds its clients with sagedrop.aws.clients yet")
    for function, policies in choices.items():
        if _retries_throttling(machines, function):
            assert "STATE_MACHINE" in policies, f"functions/{function}/app.py: its state retries SageMakerThrottled"
        else:
            assert "STATE_MACHINE" not in policies, f"functions/{function}/app.py: nothing retries it but botocore"

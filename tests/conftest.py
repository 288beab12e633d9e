"""Fixtures every test shares: fake AWS credentials, and a Lambda context like the one Lambda passes."""

from __future__ import annotations

import pytest

from sagedrop_local.lambdas import LocalLambdaContext
from tests.constants import ACCOUNT, REGION


@pytest.fixture(scope="session", autouse=True)
def aws_environment():
    """Fake credentials and region, never the developer's: set before any client is built."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    """The context object the local cloud hands its handlers (the attributes Powertools reads)."""
    return LocalLambdaContext(
        function_name="TestFunction",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:TestFunction",
    )

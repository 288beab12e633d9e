"""The boto3 clients cleanup uses, built once by the ``sagedrop.aws`` factory.

No state machine retries the cleanup, so its clients retry themselves (``RetryPolicy.SELF``:
adaptive mode); short timeouts let a hung call fail into a retry rather than eat the Lambda's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from sagedrop.aws.clients import RetryPolicy, client

TIMEOUTS = Config(connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class CleanupClients:
    sagemaker: Any
    cloudwatch: Any
    logs: Any
    s3: Any
    sns: Any

    @classmethod
    def create(cls, session: boto3.session.Session | None = None, **client_kwargs: Any) -> CleanupClients:
        """Clients from ``session`` (default: boto3's default session, which the local cloud serves).

        ``client_kwargs`` go to every client, e.g. ``endpoint_url``.
        """

        def make(service: str) -> Any:
            return client(service, retries=RetryPolicy.SELF, session=session, config=TIMEOUTS, **client_kwargs)

        return cls(
            sagemaker=make("sagemaker"),
            cloudwatch=make("cloudwatch"),
            logs=make("logs"),
            s3=make("s3"),
            sns=make("sns"),
        )

"""The boto3 clients cleanup uses, built once with adaptive retries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# Adaptive mode adds client-side rate limiting on top of exponential backoff: a run that lists
# and describes thousands of resources slows itself down when SageMaker starts throttling.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class CleanupClients:
    sagemaker: Any
    cloudwatch: Any
    logs: Any
    s3: Any
    sns: Any

    @classmethod
    def create(cls, session: boto3.session.Session | None = None, **client_kwargs: Any) -> CleanupClients:
        """Clients from ``session`` (default: boto3's default session, as ``boto3.client`` uses).

        The default session matters locally: the local cloud answers SageMaker calls for clients of
        that session. ``client_kwargs`` go to every client, e.g. ``endpoint_url``.
        """
        factory = session.client if session else boto3.client

        def client(service: str) -> Any:
            return factory(service, config=RETRY_CONFIG, **client_kwargs)

        return cls(
            sagemaker=client("sagemaker"),
            cloudwatch=client("cloudwatch"),
            logs=client("logs"),
            s3=client("s3"),
            sns=client("sns"),
        )

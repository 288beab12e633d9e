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
        """Clients from ``session`` (default: a new one).

        ``client_kwargs`` go to every client, e.g. ``endpoint_url`` for a local cloud.
        """
        session = session or boto3.session.Session()

        def client(service: str) -> Any:
            return session.client(service, config=RETRY_CONFIG, **client_kwargs)

        return cls(
            sagemaker=client("sagemaker"),
            cloudwatch=client("cloudwatch"),
            logs=client("logs"),
            s3=client("s3"),
            sns=client("sns"),
        )

"""The one factory for boto3 clients, with the retry behaviour named by who else retries.

Retries multiply. The state machine retries a task's SageMakerThrottled / SageMakerLimitExceeded
with backoff and jitter, invoking the Lambda again each time; if every call inside it also made
botocore's default 3 attempts, a throttled API would get three requests per state-machine attempt
while the Lambda sleeps (and is billed) where a retrier's wait costs nothing. So the caller says
who else retries:

- ``RetryPolicy.STATE_MACHINE``: botocore's standard mode, 2 attempts in all. One quick retry
  covers what the ASL does not retry by name (a dropped connection, a 500); after that the error
  goes up to the state machine.
- ``RetryPolicy.SELF``: adaptive mode, 9 attempts. Nothing around the caller retries (the nightly
  cleanup; a task whose ASL state retries only Lambda's own errors), so botocore absorbs
  throttling itself, and adaptive mode also slows the client down (client-side rate limiting)
  when a run that lists and describes thousands of resources starts being throttled.

Clients come from boto3's *default* session unless a session is given, exactly as
``boto3.client(...)`` does: the local cloud answers SageMaker calls for clients of that session.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import boto3
from botocore.config import Config


class RetryPolicy(StrEnum):
    #: The caller runs in a Lambda task whose ASL state retries its errors by name: retry little.
    STATE_MACHINE = "state_machine"
    #: Nobody retries around the caller: adaptive mode, many attempts.
    SELF = "self"

    @property
    def config(self) -> Config:
        return _RETRIES[self]


_RETRIES = {
    RetryPolicy.STATE_MACHINE: Config(retries={"mode": "standard", "total_max_attempts": 2}),
    RetryPolicy.SELF: Config(retries={"mode": "adaptive", "total_max_attempts": 9}),
}


def client(
    service: str,
    *,
    retries: RetryPolicy,
    session: boto3.session.Session | None = None,
    config: Config | None = None,
    **client_kwargs: Any,
) -> Any:
    """A boto3 client for ``service`` that retries as ``retries`` says.

    ``session`` defaults to boto3's default session. ``config`` adds other options (timeouts, …);
    it may not set retries, which are the policy's. ``client_kwargs`` go to ``Session.client``
    (``endpoint_url``, ``region_name``, …).
    """
    if config is not None and config.retries is not None:
        raise ValueError("retries are chosen by the RetryPolicy; pass a config without retries")
    merged = retries.config if config is None else retries.config.merge(config)
    make = session.client if session is not None else boto3.client
    return make(service, config=merged, **client_kwargs)

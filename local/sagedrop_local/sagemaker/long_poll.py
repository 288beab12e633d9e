"""Describe calls that answer when a resource's status changes: the local wait loops' pace.

A Step Functions Wait state waits whole seconds, so a loop that polls every second adds up to a
second after the work ends, three loops per run. The local cloud therefore runs its loops with
0-second waits, and its SageMaker answers the Describe of a resource in a transitional status
(a job in progress, an endpoint being created) when that status changes or ``seconds`` have passed,
whichever comes first: the loop wakes when the work ends, and polls no more often than once a
second while it runs. In the cloud, PollIntervalSeconds (at least 5) paces the loops and Describe
answers at once; a ``LocalSageMaker`` made without ``long_poll_seconds`` answers at once too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .store import Store

# An API operation of the local SageMaker: (request parameters, region, botocore context) -> response.
Handler = Callable[[dict, str, dict], dict]

# Operation -> (the status field of its answer, the statuses that are on the way to another).
TRANSITIONAL: dict[str, tuple[str, frozenset[str]]] = {
    "DescribeTrainingJob": ("TrainingJobStatus", frozenset({"InProgress", "Stopping"})),
    "DescribeProcessingJob": ("ProcessingJobStatus", frozenset({"InProgress", "Stopping"})),
    "DescribeTransformJob": ("TransformJobStatus", frozenset({"InProgress", "Stopping"})),
    "DescribeHyperParameterTuningJob": ("HyperParameterTuningJobStatus", frozenset({"InProgress", "Stopping"})),
    "DescribeEndpoint": (
        "EndpointStatus",
        frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}),
    ),
}
# Another process sharing the state directory sends no notification: re-read at least this often.
RECHECK_SECONDS = 0.25


def long_polling(operation: str, handler: Handler, store: Store, seconds: float) -> Handler:
    """``handler``, made to hold a transitional answer back for up to ``seconds`` (unchanged if 0)."""
    if seconds <= 0 or operation not in TRANSITIONAL:
        return handler
    status_key, transitional = TRANSITIONAL[operation]

    def describe(params: dict, region: str, context: dict) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            seen = store.changes  # before reading: a change made while reading wakes the wait at once
            answer = handler(params, region, context)
            remaining = deadline - time.monotonic()
            if answer.get(status_key) not in transitional or remaining <= 0:
                return answer
            store.wait_for_change(seen, min(remaining, RECHECK_SECONDS))

    return describe

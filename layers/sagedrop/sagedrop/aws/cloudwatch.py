"""How many times was each endpoint invoked? CloudWatch GetMetricData, 500 queries per call.

SageMaker publishes ``Invocations`` per EndpointName *and* VariantName; a query on EndpointName
alone returns no data points (the bug that made other idle filters match nothing, or everything).
So there is one query per variant, and the variants' sums are added per endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sagedrop.aws.errors import describe
from sagedrop.aws.sagemaker_inventory import EndpointFacts

MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit
# Keep each query at <= ~24 data points, so 500 queries stay far below the 100,800 points a
# response may hold and one call answers a whole batch without NextToken.
MAX_POINTS_PER_QUERY = 24


def period_seconds(lookback: timedelta) -> int:
    """A whole number of hours (so a multiple of 60, as CloudWatch requires) giving <= 24 points."""
    hours = math.ceil(lookback.total_seconds() / 3600 / MAX_POINTS_PER_QUERY)
    return max(1, hours) * 3600


@dataclass(frozen=True)
class Traffic:
    """Summed Invocations over all variants; ``invocations`` None means no data point at all."""

    invocations: float | None
    error: str | None = None


def _batches(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class InvocationMetrics:
    def __init__(self, client: Any) -> None:
        self.client = client

    def invocations(self, endpoints: Iterable[EndpointFacts], start: datetime, end: datetime) -> dict[str, Traffic]:
        """Summed Invocations per endpoint over [start, end); None when there is no data point at all.

        A batch that fails (after botocore's adaptive retries) marks its endpoints' traffic as
        unavailable instead of stopping the run: the rules then keep those endpoints.
        """
        endpoints = list(endpoints)
        queries: list[tuple[str, str, dict]] = []  # (query id, endpoint name, query)
        period = period_seconds(end - start)
        for endpoint in endpoints:
            for variant in endpoint.variants:
                query_id = f"q{len(queries)}"  # ids must start with a lower-case letter
                query = {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "Invocations",
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": endpoint.name},
                                {"Name": "VariantName", "Value": variant.name},
                            ],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                queries.append((query_id, endpoint.name, query))

        totals: dict[str, float | None] = {e.name: None for e in endpoints}
        errors: dict[str, str] = {}
        # An endpoint without variants (mid-update) cannot be measured: treat as unavailable, keep it.
        for endpoint in endpoints:
            if not endpoint.variants:
                errors[endpoint.name] = "endpoint has no production variants to measure"

        for batch in _batches(queries, MAX_QUERIES_PER_CALL):
            endpoint_of = {query_id: name for query_id, name, _ in batch}
            try:
                values, statuses = self._fetch(batch, start, end)
            except Exception as error:  # noqa: BLE001 - reported per endpoint, the run goes on
                for name in endpoint_of.values():
                    errors[name] = f"GetMetricData failed: {describe(error)}"
                continue
            for query_id, name in endpoint_of.items():
                if statuses.get(query_id, "Complete") != "Complete":
                    errors[name] = f"GetMetricData status {statuses[query_id]}"
                points = values.get(query_id, [])
                if points:
                    totals[name] = (totals[name] or 0.0) + float(sum(points))
        return {name: Traffic(totals[name], errors.get(name)) for name in totals}

    def _fetch(self, batch: Sequence, start: datetime, end: datetime) -> tuple[dict[str, list], dict[str, str]]:
        values: dict[str, list] = {}
        statuses: dict[str, str] = {}
        paginator = self.client.get_paginator("get_metric_data")
        pages = paginator.paginate(MetricDataQueries=[query for _, _, query in batch], StartTime=start, EndTime=end)
        for page in pages:
            for result in page.get("MetricDataResults", []):
                values.setdefault(result["Id"], []).extend(result.get("Values", []))
                statuses[result["Id"]] = result.get("StatusCode", "Complete")
        return values, statuses

"""What a run cost, roughly: usage x the dated price tables bundled with the code.

An estimate for the report and run.json, not a bill: one region's on-demand prices, no free tier,
no S3, CloudWatch or data-transfer charges. The tables live in ``data/sagemaker_prices.json`` —
real-time inference at the top level (the nightly cleanup's monthly endpoint cost), then training, processing,
serverless inference, Step Functions and Lambda, each with its source, date and how far it was
checked. :func:`bundled_prices` is the one reader of that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_FILE = "data/sagemaker_prices.json"
_SECONDS_PER_HOUR = 3600.0
_MB_PER_GB = 1024.0
_DECIMALS = 6  # a run costs cents; its smallest items hundredths of a cent


@dataclass(frozen=True)
class PriceTable:
    """One dated table: USD per ``unit`` for each key (an instance type, an architecture, …)."""

    description: str
    source: str
    as_of: str
    verified: str
    region: str
    currency: str
    unit: str
    prices: Mapping[str, float]

    def price(self, key: str | None) -> float | None:
        return self.prices.get(key or "")

    def as_dict(self) -> dict:
        return {"source": self.source, "as_of": self.as_of, "region": self.region, "currency": self.currency}


@dataclass(frozen=True)
class Prices:
    inference: PriceTable  # real-time endpoints, per instance-hour
    training: PriceTable  # per instance-hour
    processing: PriceTable  # per instance-hour
    serverless_inference: PriceTable  # per GB-second, key "compute"
    step_functions: PriceTable  # per state transition, key "standard"
    lambda_duration: PriceTable  # per GB-second, keyed by architecture
    lambda_request: float  # per request
    hours_per_month: float


def _table(raw: Mapping[str, Any]) -> PriceTable:
    return PriceTable(
        description=raw["description"],
        source=raw["source"],
        as_of=raw["as_of"],
        verified=raw["verified"],
        region=raw["region"],
        currency=raw["currency"],
        unit=raw["unit"],
        prices={key: float(value) for key, value in raw["prices"].items()},
    )


def parse_prices(raw: Mapping[str, Any]) -> Prices:
    """The price tables from the document's JSON (the real-time inference table is its top level)."""
    return Prices(
        inference=_table(raw),
        training=_table(raw["training"]),
        processing=_table(raw["processing"]),
        serverless_inference=_table(raw["serverless_inference"]),
        step_functions=_table(raw["step_functions"]),
        lambda_duration=_table(raw["lambda"]),
        lambda_request=float(raw["lambda"]["request_price"]),
        hours_per_month=float(raw["hours_per_month"]),
    )


@cache
def bundled_prices() -> Prices:
    return parse_prices(json.loads(resources.files("sagedrop").joinpath(_FILE).read_text()))


@dataclass(frozen=True)
class LambdaUse:
    """One Lambda invocation: how long it ran and the function's configured memory."""

    seconds: float
    memory_mb: int


def lambda_uses(steps: Iterable[Mapping[str, Any]], memory_mb_by_state: Mapping[str, int]) -> list[LambdaUse]:
    """Lambda invocations from a run's state visits (run.json's ``steps``).

    Only states named in ``memory_mb_by_state`` (the Lambda task states) count, each visit as one
    invocation lasting the visit's seconds — a little more than Lambda bills, since a visit also
    holds the Step Functions call. A visit still running (no seconds) is left out.
    """
    return [
        LambdaUse(float(step["seconds"]), int(memory_mb_by_state[step["state"]]))
        for step in steps
        if step.get("state") in memory_mb_by_state and step.get("seconds") is not None
    ]


def _item(what: str, quantity: float, unit: str, unit_price: float | None) -> dict:
    return {
        "what": what,
        "quantity": round(quantity, _DECIMALS),
        "unit": unit,
        "unit_price_usd": unit_price,
        "usd": None if unit_price is None else round(quantity * unit_price, _DECIMALS),
    }


def estimate_run_cost(
    *,
    training_instance_type: str | None = None,
    training_billable_seconds: float | None = None,
    training_instance_count: int = 1,
    processing_instance_type: str | None = None,
    processing_seconds: float | None = None,
    preparation_instance_type: str | None = None,
    preparation_seconds: float | None = None,
    endpoint_instance_type: str | None = None,
    endpoint_instance_count: int = 1,
    endpoint_seconds: float | None = None,
    serverless_memory_mb: int | None = None,
    state_transitions: int = 0,
    lambda_invocations: Sequence[LambdaUse] = (),
    lambda_architecture: str = "arm64",
    prices: Prices | None = None,
) -> dict:
    """The estimated cost of one run, item by item.

    * training: ``training_billable_seconds`` (DescribeTrainingJob's BillableTimeInSeconds) x
      ``training_instance_count`` x the training price of ``training_instance_type``;
    * the model analysis: ``processing_seconds`` (its run time) x the processing price of
      ``processing_instance_type`` (one instance);
    * the preparation job of a large upload: ``preparation_seconds`` x the processing price of
      ``preparation_instance_type`` (one instance);
    * the endpoint: with ``serverless_memory_mb`` a serverless endpoint, billed for the seconds it
      processed requests (pass the evaluation's seconds in ``endpoint_seconds``: an upper bound);
      otherwise ``endpoint_seconds`` up (creation to deletion) x ``endpoint_instance_count`` x the
      real-time price of ``endpoint_instance_type``;
    * Step Functions: ``state_transitions`` (Standard workflow; retries count);
    * Lambda: GB-seconds of ``lambda_invocations`` (see :func:`lambda_uses`) at the price of
      ``lambda_architecture``, and one request each.

    Returns ``{"total_usd", "items": [{"what", "quantity", "unit", "unit_price_usd", "usd"}],
    "prices_as_of", "region", "complete"}``. An instance type missing from its table is still an
    item, with ``unit_price_usd`` and ``usd`` null, left out of the total and ``complete`` false.
    ``prices_as_of`` is the oldest date among the tables used. Usage that was not given (None or
    zero) is no item.
    """
    prices = prices or bundled_prices()
    items: list[dict] = []
    used: list[PriceTable] = []

    if training_billable_seconds and training_instance_type:
        used.append(prices.training)
        items.append(
            _item(
                f"Training ({training_instance_type} x {training_instance_count})",
                training_billable_seconds * training_instance_count / _SECONDS_PER_HOUR,
                "instance-hour",
                prices.training.price(training_instance_type),
            )
        )
    if processing_seconds and processing_instance_type:
        used.append(prices.processing)
        items.append(
            _item(
                f"Model analysis ({processing_instance_type} x 1)",
                processing_seconds / _SECONDS_PER_HOUR,
                "instance-hour",
                prices.processing.price(processing_instance_type),
            )
        )
    if preparation_seconds and preparation_instance_type:
        used.append(prices.processing)
        items.append(
            _item(
                f"Data preparation ({preparation_instance_type} x 1)",
                preparation_seconds / _SECONDS_PER_HOUR,
                "instance-hour",
                prices.processing.price(preparation_instance_type),
            )
        )
    if endpoint_seconds and serverless_memory_mb:
        table = prices.serverless_inference
        used.append(table)
        items.append(
            _item(
                f"Serverless endpoint ({serverless_memory_mb} MB)",
                serverless_memory_mb / _MB_PER_GB * endpoint_seconds,
                "GB-second",
                table.price("compute"),
            )
        )
    elif endpoint_seconds and endpoint_instance_type:
        used.append(prices.inference)
        items.append(
            _item(
                f"Endpoint ({endpoint_instance_type} x {endpoint_instance_count})",
                endpoint_seconds * endpoint_instance_count / _SECONDS_PER_HOUR,
                "instance-hour",
                prices.inference.price(endpoint_instance_type),
            )
        )
    if state_transitions:
        used.append(prices.step_functions)
        items.append(
            _item(
                "Step Functions state transitions",
                state_transitions,
                "state transition",
                prices.step_functions.price("standard"),
            )
        )
    if lambda_invocations:
        used.append(prices.lambda_duration)
        gb_seconds = sum(use.seconds * use.memory_mb / _MB_PER_GB for use in lambda_invocations)
        items.append(
            _item(
                f"Lambda duration ({lambda_architecture})",
                gb_seconds,
                "GB-second",
                prices.lambda_duration.price(lambda_architecture),
            )
        )
        items.append(_item("Lambda requests", len(lambda_invocations), "request", prices.lambda_request))

    priced = [item["usd"] for item in items if item["usd"] is not None]
    return {
        "total_usd": round(sum(priced), _DECIMALS),
        "items": items,
        "prices_as_of": min((table.as_of for table in used), default=prices.inference.as_of),
        "region": prices.inference.region,
        "complete": len(priced) == len(items),
    }

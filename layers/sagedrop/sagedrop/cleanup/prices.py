"""Estimated monthly cost of an endpoint, from the small dated price table bundled with the code.

An estimate for the report, not a bill: one region's on-demand prices, instances x hours x price.
Calling the Pricing API instead would add a dependency on a us-east-1-only service to a nightly job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sagedrop.aws.sagemaker_inventory import EndpointConfigFacts, EndpointFacts


@dataclass(frozen=True)
class PriceTable:
    source: str
    as_of: str
    region: str
    currency: str
    hours_per_month: float
    hourly: dict[str, float]

    def monthly_cost(self, endpoint: EndpointFacts, config: EndpointConfigFacts | None) -> float | None:
        """Instances x hourly price x hours per month; None if any instance type is not in the table."""
        if config is None or endpoint.serverless:
            return None
        instance_type_of = {v.name: v.instance_type for v in config.variants}
        total = 0.0
        for variant in endpoint.variants:
            price = self.hourly.get(instance_type_of.get(variant.name) or "")
            if price is None:
                return None
            total += variant.instance_count * price * self.hours_per_month
        return round(total, 2)

    def as_dict(self) -> dict:
        return {"source": self.source, "as_of": self.as_of, "region": self.region, "currency": self.currency}


@cache
def bundled_price_table() -> PriceTable:
    raw = json.loads(resources.files("sagedrop").joinpath("data/sagemaker_prices.json").read_text())
    return PriceTable(
        source=raw["source"],
        as_of=raw["as_of"],
        region=raw["region"],
        currency=raw["currency"],
        hours_per_month=float(raw["hours_per_month"]),
        hourly={name: float(price) for name, price in raw["prices"].items()},
    )

"""What exists in SageMaker hosting: paginated listings, tags, and descriptions as plain facts.

The facts are frozen dataclasses without boto3, so rules that judge them (the nightly cleanup's)
can be tested with literals. Deletions go through ``SageMakerGateway``, as the pipeline's do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagedrop.aws.errors import is_not_found

_PAGE_SIZE = 100  # the listing APIs' maximum: an account can hold thousands of endpoints


@dataclass(frozen=True)
class EndpointSummary:
    name: str
    arn: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class ConfigSummary:
    name: str
    arn: str
    created_at: datetime


@dataclass(frozen=True)
class Variant:
    name: str
    instance_count: int = 0


@dataclass(frozen=True)
class EndpointFacts:
    name: str
    arn: str
    status: str
    created_at: datetime
    config_name: str | None
    variants: tuple[Variant, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    serverless: bool = False


@dataclass(frozen=True)
class ConfigVariant:
    name: str
    model_name: str | None
    instance_type: str | None
    serverless: bool


@dataclass(frozen=True)
class EndpointConfigFacts:
    name: str
    arn: str
    created_at: datetime
    variants: tuple[ConfigVariant, ...]

    @property
    def model_names(self) -> frozenset[str]:
        return frozenset(v.model_name for v in self.variants if v.model_name)

    @property
    def serverless(self) -> bool:
        return any(v.serverless for v in self.variants)


@dataclass(frozen=True)
class ModelFacts:
    name: str
    arn: str
    created_at: datetime


class SageMakerInventory:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _pages(self, operation: str, **request: Any) -> Iterator[dict]:
        paginator = self.client.get_paginator(operation)
        yield from paginator.paginate(**request, PaginationConfig={"PageSize": _PAGE_SIZE})

    # --- listing -----------------------------------------------------------------------------------
    def list_endpoints(self) -> Iterator[EndpointSummary]:
        for page in self._pages("list_endpoints"):
            for item in page.get("Endpoints", []):
                yield EndpointSummary(
                    item["EndpointName"], item["EndpointArn"], item["EndpointStatus"], item["CreationTime"]
                )

    def list_endpoint_configs(self) -> Iterator[ConfigSummary]:
        for page in self._pages("list_endpoint_configs"):
            for item in page.get("EndpointConfigs", []):
                yield ConfigSummary(item["EndpointConfigName"], item["EndpointConfigArn"], item["CreationTime"])

    def list_models(self) -> Iterator[ModelFacts]:
        for page in self._pages("list_models"):
            for item in page.get("Models", []):
                yield ModelFacts(item["ModelName"], item["ModelArn"], item["CreationTime"])

    def tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self.client.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        return tags

    # --- descriptions: None when the resource disappeared since it was listed -----------------------
    def describe_endpoint(self, summary: EndpointSummary, tags: dict[str, str]) -> EndpointFacts | None:
        try:
            response = self.client.describe_endpoint(EndpointName=summary.name)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        variants = response.get("ProductionVariants", [])
        return EndpointFacts(
            name=summary.name,
            arn=summary.arn,
            status=response.get("EndpointStatus", summary.status),
            created_at=response.get("CreationTime", summary.created_at),
            config_name=response.get("EndpointConfigName"),
            variants=tuple(Variant(v["VariantName"], int(v.get("CurrentInstanceCount") or 0)) for v in variants),
            tags=tags,
            serverless=any("CurrentServerlessConfig" in v or "DesiredServerlessConfig" in v for v in variants),
        )

    def describe_endpoint_config(self, summary: ConfigSummary) -> EndpointConfigFacts | None:
        try:
            response = self.client.describe_endpoint_config(EndpointConfigName=summary.name)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        # Shadow variants reference models too: a model used only by a shadow variant is still in use.
        variants = [*response.get("ProductionVariants", []), *response.get("ShadowProductionVariants", [])]
        return EndpointConfigFacts(
            name=summary.name,
            arn=summary.arn,
            created_at=response.get("CreationTime", summary.created_at),
            variants=tuple(
                ConfigVariant(
                    name=v["VariantName"],
                    model_name=v.get("ModelName"),
                    instance_type=v.get("InstanceType"),
                    serverless="ServerlessConfig" in v,
                )
                for v in variants
            ),
        )

"""SageMaker listing, tags, descriptions and deletions for cleanup. Receives its boto3 client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagedrop.cleanup.aws_errors import is_not_found
from sagedrop.cleanup.model import ConfigVariant, EndpointConfigFacts, EndpointFacts, ModelFacts, Variant


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


class SageMakerCleanupAdapter:
    def __init__(self, client: Any) -> None:
        self.client = client

    # --- listing (paginated: an account can hold thousands) ---------------------------------------
    def list_endpoints(self) -> Iterator[EndpointSummary]:
        for page in self.client.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100}):
            for item in page.get("Endpoints", []):
                yield EndpointSummary(
                    item["EndpointName"], item["EndpointArn"], item["EndpointStatus"], item["CreationTime"]
                )

    def list_endpoint_configs(self) -> Iterator[ConfigSummary]:
        for page in self.client.get_paginator("list_endpoint_configs").paginate(PaginationConfig={"PageSize": 100}):
            for item in page.get("EndpointConfigs", []):
                yield ConfigSummary(item["EndpointConfigName"], item["EndpointConfigArn"], item["CreationTime"])

    def list_models(self) -> Iterator[ModelFacts]:
        for page in self.client.get_paginator("list_models").paginate(PaginationConfig={"PageSize": 100}):
            for item in page.get("Models", []):
                yield ModelFacts(item["ModelName"], item["ModelArn"], item["CreationTime"])

    def tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self.client.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        return tags

    # --- descriptions ------------------------------------------------------------------------------
    def describe_endpoint(self, summary: EndpointSummary, tags: dict[str, str]) -> EndpointFacts | None:
        """Full facts of one endpoint, or None if it disappeared since it was listed."""
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

    # --- deletions: True = deleted now, False = it was already gone ----------------------------------
    def delete_endpoint(self, name: str) -> bool:
        return _delete(lambda: self.client.delete_endpoint(EndpointName=name))

    def delete_endpoint_config(self, name: str) -> bool:
        return _delete(lambda: self.client.delete_endpoint_config(EndpointConfigName=name))

    def delete_model(self, name: str) -> bool:
        return _delete(lambda: self.client.delete_model(ModelName=name))


def _delete(call) -> bool:
    try:
        call()
    except Exception as error:
        if is_not_found(error):
            return False  # running twice, or someone else was faster: not a failure
        raise
    return True

"""CreateEndpoint, DescribeEndpoint, DeleteEndpoint, ListEndpoints.

An endpoint record keeps copies of the variants and models it was created from (SageMaker's
endpoint outlives a deleted config or model); the endpoint worker brings it up in a thread.
"""

from __future__ import annotations

import copy
import secrets
from functools import partial

from .context import Local, validate_name
from .endpoint_worker import EndpointWorker
from .errors import already_exists, could_not_find
from .listing import list_call
from .store import merge_tags, public
from .workers import Workers

_SHOWS_VARIANTS = ("InService", "Updating", "Deleting")


def variant_summary(entry: dict, endpoint: dict) -> dict:
    """One ``ProductionVariants`` element of DescribeEndpoint."""
    variant = entry["variant"]
    container = entry["model"].get("PrimaryContainer") or (entry["model"].get("Containers") or [{}])[0]
    image = container.get("Image", "")
    summary = {
        "VariantName": variant["VariantName"],
        "DeployedImages": [
            {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": endpoint["CreationTime"]}
        ],
    }
    if "ServerlessConfig" in variant:
        summary.update(
            CurrentWeight=1.0,
            DesiredWeight=1.0,
            CurrentServerlessConfig=copy.deepcopy(variant["ServerlessConfig"]),
            DesiredServerlessConfig=copy.deepcopy(variant["ServerlessConfig"]),
        )
    else:
        weight = float(variant.get("InitialVariantWeight", 1.0))
        count = variant.get("InitialInstanceCount", 1)
        summary.update(
            CurrentWeight=weight, DesiredWeight=weight, CurrentInstanceCount=count, DesiredInstanceCount=count
        )
    return summary


class Endpoints:
    def __init__(self, local: Local, workers: Workers, worker: EndpointWorker):
        self._local = local
        self._store = local.store
        self._workers = workers
        self._worker = worker

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateEndpoint"): self.create,
            ("sagemaker", "DescribeEndpoint"): self.describe,
            ("sagemaker", "DeleteEndpoint"): self.delete,
            ("sagemaker", "ListEndpoints"): self.list,
        }

    def create(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        validate_name(name, "endpointName")
        arn = self._local.arn(region, "endpoint", name)
        config_name = params["EndpointConfigName"]
        now = self._local.now()
        with self._store.write() as tables:
            if name in tables["endpoints"]:
                raise already_exists("endpoint", arn)
            config = tables["endpoint_configs"].get(config_name)
            if config is None:
                raise could_not_find("endpoint configuration", self._local.arn(region, "endpoint-config", config_name))
            variants = []
            for variant in config["ProductionVariants"]:
                model = tables["models"].get(variant["ModelName"])
                if model is None:
                    raise could_not_find("model", self._local.arn(region, "model", variant["ModelName"]))
                variants.append({"variant": copy.deepcopy(variant), "model": copy.deepcopy(model)})
            tables["endpoints"][name] = {
                "EndpointName": name,
                "EndpointArn": arn,
                "EndpointConfigName": config_name,
                "EndpointStatus": "Creating",
                "CreationTime": now,
                "LastModifiedTime": now,
                "_region": region,
                "_variants": variants,
                "_log_stream_suffix": f"i-{secrets.token_hex(8)[:17]}",
                "_owner": self._store.owner,
            }
            merge_tags(tables, arn, params.get("Tags"))
        self._workers.spawn(self._worker.bring_up, name, arn, on_crash=partial(self._worker.crashed, name, arn))
        return {"EndpointArn": arn}

    def describe(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        with self._store.read() as tables:
            endpoint = tables["endpoints"].get(name)
            if endpoint is None:
                raise could_not_find("endpoint", self._local.arn(region, "endpoint", name))
            described = public(endpoint)
            if endpoint["EndpointStatus"] in _SHOWS_VARIANTS:
                described["ProductionVariants"] = [variant_summary(entry, endpoint) for entry in endpoint["_variants"]]
            return described

    def delete(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointName"]
        with self._store.write() as tables:
            endpoint = tables["endpoints"].pop(name, None)
            if endpoint is None:
                raise could_not_find("endpoint", self._local.arn(region, "endpoint", name))
            tables["tags"].pop(endpoint["EndpointArn"], None)
        self._worker.forget(name)
        return {}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
        return list_call(self._store, params, "endpoints", keys, "Endpoints", "EndpointStatus")

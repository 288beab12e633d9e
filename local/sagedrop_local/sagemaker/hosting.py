"""Models and endpoint configurations: Create, Describe, Delete and List, with SageMaker's checks."""

from __future__ import annotations

import copy

import botocore.exceptions

from .context import Local, validate_name
from .errors import already_exists, could_not_find, validation_exception
from .inference_pipeline import check_serverless_host, containers_of
from .listing import list_call
from .store import merge_tags
from .training_data import parse_s3_uri

SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200


def validate_variant(variant: dict, index: int) -> None:
    """A production variant is either serverless or has an instance type, within serverless limits."""
    serverless = variant.get("ServerlessConfig")
    if serverless and variant.get("InstanceType"):
        raise validation_exception(
            "ServerlessConfig and InstanceType cannot both be specified "
            f"for production variant {variant['VariantName']}."
        )
    if not serverless and not variant.get("InstanceType"):
        raise validation_exception(
            f"InstanceType is required for production variant {variant['VariantName']} "
            "unless ServerlessConfig is specified."
        )
    if serverless:
        memory = serverless.get("MemorySizeInMB", 0)
        if memory not in SERVERLESS_MEMORY_MB:
            raise validation_exception(
                f"1 validation error detected: Value '{memory}' at "
                f"'productionVariants.{index}.member.serverlessConfig.memorySizeInMB' failed to satisfy "
                f"constraint: Member must be one of {', '.join(map(str, SERVERLESS_MEMORY_MB))}"
            )
        concurrency = serverless.get("MaxConcurrency", 0)
        if not 1 <= concurrency <= SERVERLESS_MAX_CONCURRENCY:
            raise validation_exception(
                f"1 validation error detected: Value '{concurrency}' at "
                f"'productionVariants.{index}.member.serverlessConfig.maxConcurrency' failed to satisfy "
                f"constraint: Member must have value less than or equal to {SERVERLESS_MAX_CONCURRENCY}"
            )


class Hosting:
    def __init__(self, local: Local):
        self._local = local
        self._store = local.store

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateModel"): self.create_model,
            ("sagemaker", "DescribeModel"): self.describe_model,
            ("sagemaker", "DeleteModel"): self.delete_model,
            ("sagemaker", "ListModels"): self.list_models,
            ("sagemaker", "CreateEndpointConfig"): self.create_endpoint_config,
            ("sagemaker", "DescribeEndpointConfig"): self.describe_endpoint_config,
            ("sagemaker", "DeleteEndpointConfig"): self.delete_endpoint_config,
            ("sagemaker", "ListEndpointConfigs"): self.list_endpoint_configs,
        }

    # ------------------------------------------------------------------ models

    def create_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        validate_name(name, "modelName")
        arn = self._local.arn(region, "model", name)
        containers = containers_of(params)  # exactly one of PrimaryContainer and Containers, checked
        for container in containers:
            if container.get("ModelDataUrl"):
                self._check_model_data(container["ModelDataUrl"])
        with self._store.write() as tables:
            if name in tables["models"]:
                raise already_exists("model", arn)
            model = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            model.setdefault("EnableNetworkIsolation", False)
            model.update(ModelArn=arn, CreationTime=self._local.now())
            tables["models"][name] = model
            merge_tags(tables, arn, params.get("Tags"))
        return {"ModelArn": arn}

    def _check_model_data(self, url: str) -> None:
        bucket, key = parse_s3_uri(url)
        try:
            self._local.s3.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as error:
            raise validation_exception(f"Could not find model data at {url}.") from error

    def describe_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        with self._store.read() as tables:
            model = tables["models"].get(name)
            if model is None:
                raise could_not_find("model", self._local.arn(region, "model", name))
            return copy.deepcopy(model)

    def delete_model(self, params: dict, region: str, _context: dict) -> dict:
        name = params["ModelName"]
        with self._store.write() as tables:
            model = tables["models"].pop(name, None)
            if model is None:
                raise could_not_find("model", self._local.arn(region, "model", name))
            tables["tags"].pop(model["ModelArn"], None)
        return {}

    def list_models(self, params: dict, _region: str, _context: dict) -> dict:
        return list_call(self._store, params, "models", ("ModelName", "ModelArn", "CreationTime"), "Models")

    # ------------------------------------------------------------------ endpoint configs

    def create_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        validate_name(name, "endpointConfigName")
        arn = self._local.arn(region, "endpoint-config", name)
        with self._store.write() as tables:
            if name in tables["endpoint_configs"]:
                raise already_exists("endpoint configuration", arn)
            for index, variant in enumerate(params.get("ProductionVariants") or [], start=1):
                validate_variant(variant, index)
                if variant["ModelName"] not in tables["models"]:
                    raise could_not_find("model", self._local.arn(region, "model", variant["ModelName"]))
                check_serverless_host(variant, tables["models"][variant["ModelName"]])
            config = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            for variant in config["ProductionVariants"]:
                if "ServerlessConfig" not in variant:
                    variant.setdefault("InitialVariantWeight", 1.0)
            config.update(EndpointConfigArn=arn, CreationTime=self._local.now())
            tables["endpoint_configs"][name] = config
            merge_tags(tables, arn, params.get("Tags"))
        return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        with self._store.read() as tables:
            config = tables["endpoint_configs"].get(name)
            if config is None:
                raise could_not_find("endpoint configuration", self._local.arn(region, "endpoint-config", name))
            return copy.deepcopy(config)

    def delete_endpoint_config(self, params: dict, region: str, _context: dict) -> dict:
        name = params["EndpointConfigName"]
        with self._store.write() as tables:
            config = tables["endpoint_configs"].pop(name, None)
            if config is None:
                raise could_not_find("endpoint configuration", self._local.arn(region, "endpoint-config", name))
            tables["tags"].pop(config["EndpointConfigArn"], None)
        return {}

    def list_endpoint_configs(self, params: dict, _region: str, _context: dict) -> dict:
        keys = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
        return list_call(self._store, params, "endpoint_configs", keys, "EndpointConfigs")

"""Settings read from the Lambda environment once, at cold start, into typed objects.

A missing or malformed variable raises InvalidConfigError naming the variable, so a broken
deployment fails loudly on its first invocation instead of half-way through a run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sagedrop.errors import InvalidConfigError


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise InvalidConfigError(f"environment variable {name} is required but not set")
    return value


def _integer(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise InvalidConfigError(f"environment variable {name} must be >= {minimum}, got {value}")
    return value


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"true", "1", "yes"}:
        return True
    if raw in {"false", "0", "no"}:
        return False
    raise InvalidConfigError(f"environment variable {name} must be true or false, got {raw!r}")


def _json_object(environ: Mapping[str, str], name: str) -> dict:
    raw = environ.get(name, "").strip() or "{}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidConfigError(f"environment variable {name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidConfigError(f"environment variable {name} must be a JSON object")
    return value


@dataclass(frozen=True)
class PipelineSettings:
    """What every pipeline step knows about its stack (template Globals)."""

    data_bucket: str
    notification_topic_arn: str
    sagemaker_role_arn: str
    stack_name: str
    region: str
    xgboost_version: str
    training_instance_type: str
    endpoint_instance_type: str
    default_hyperparameters: dict
    max_training_seconds: int
    use_spot_training: bool
    keep_endpoint: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if environ is None else environ
        return cls(
            data_bucket=_required(env, "DATA_BUCKET"),
            notification_topic_arn=_required(env, "NOTIFICATION_TOPIC_ARN"),
            sagemaker_role_arn=_required(env, "SAGEMAKER_ROLE_ARN"),
            stack_name=_required(env, "STACK_NAME"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            xgboost_version=env.get("XGBOOST_VERSION", "").strip() or "3.0-5",
            training_instance_type=env.get("TRAINING_INSTANCE_TYPE", "").strip() or "ml.m5.xlarge",
            endpoint_instance_type=env.get("ENDPOINT_INSTANCE_TYPE", "").strip() or "ml.m5.large",
            default_hyperparameters=_json_object(env, "DEFAULT_HYPERPARAMETERS"),
            max_training_seconds=_integer(env, "MAX_TRAINING_SECONDS", 3600, minimum=60),
            use_spot_training=_boolean(env, "USE_SPOT_TRAINING", False),
            keep_endpoint=_boolean(env, "KEEP_ENDPOINT", False),
        )

    def run_config_defaults(self) -> dict:
        """The stack's defaults in the shape of a run configuration (see docs/configuration.md)."""
        return {
            "hyperparameters": dict(self.default_hyperparameters),
            "training_instance_type": self.training_instance_type,
            "endpoint_instance_type": self.endpoint_instance_type,
            "keep_endpoint": self.keep_endpoint,
            "use_spot": self.use_spot_training,
            "max_runtime_seconds": self.max_training_seconds,
        }

    @property
    def resource_tags(self) -> dict[str, str]:
        return {"sagedrop:stack": self.stack_name}


@dataclass(frozen=True)
class StarterSettings:
    """What the starter needs: which state machine to start and how fast it should poll."""

    state_machine_arn: str
    poll_interval_seconds: int
    max_polls: int
    incoming_prefix: str = "incoming/"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> StarterSettings:
        env = os.environ if environ is None else environ
        return cls(
            state_machine_arn=_required(env, "STATE_MACHINE_ARN"),
            poll_interval_seconds=_integer(env, "POLL_INTERVAL_SECONDS", 60, minimum=1),
            max_polls=_integer(env, "MAX_POLLS", 60, minimum=1),
        )

"""Settings read from the Lambda environment once, at cold start, into typed objects.

A missing or malformed variable raises InvalidConfigError naming the variable, so a broken
deployment fails loudly on its first invocation instead of half-way through a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sagedrop.environment import integer, required
from sagedrop.errors import InvalidConfigError
from sagedrop.image_uris import supported_regions, supported_versions
from sagedrop.limits import EVALUATION_TRANSFORM_BYTES, LAMBDA_PREPROCESS_MAX_BYTES, MAX_UPLOAD_BYTES
from sagedrop.run_config import defaults_from_environment, resolve_run_config


@dataclass(frozen=True)
class PipelineSettings:
    """What every pipeline step knows about its stack (template Globals)."""

    data_bucket: str
    notification_topic_arn: str
    sagemaker_role_arn: str
    stack_name: str
    region: str
    xgboost_version: str
    # The stack parameters' run configuration defaults; a folder's sagedrop.json overrides them.
    run_config_defaults: dict = field(default_factory=dict)
    # MaxConcurrentTrainingJobs (Start training only): 0 = no limit of ours, only SageMaker's quota.
    max_concurrent_training_jobs: int = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if environ is None else environ
        defaults = defaults_from_environment(env)
        resolve_run_config(defaults, None, source="stack defaults")  # fail at cold start, not mid-run
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        version = env.get("XGBOOST_VERSION", "").strip() or "3.0-5"
        _check_image(region, version)
        return cls(
            data_bucket=required(env, "DATA_BUCKET"),
            notification_topic_arn=required(env, "NOTIFICATION_TOPIC_ARN"),
            sagemaker_role_arn=required(env, "SAGEMAKER_ROLE_ARN"),
            stack_name=required(env, "STACK_NAME"),
            region=region,
            xgboost_version=version,
            run_config_defaults=defaults,
            max_concurrent_training_jobs=integer(env, "MAX_CONCURRENT_TRAINING_JOBS", 0, minimum=0),
        )


def _check_image(region: str, version: str) -> None:
    """An unknown XGBOOST_VERSION (or a region without its image) fails at cold start, not at training."""
    if version not in supported_versions():
        raise InvalidConfigError(
            f"environment variable XGBOOST_VERSION: unknown XGBoost version {version!r}; "
            f"supported: {', '.join(supported_versions())}"
        )
    if region not in supported_regions(version):
        raise InvalidConfigError(f"environment variable AWS_REGION: no XGBoost {version} image for region {region!r}")


@dataclass(frozen=True)
class StarterSettings:
    """What the starter needs: which state machine to start and how fast it should poll."""

    state_machine_arn: str
    poll_interval_seconds: int
    max_polls: int
    incoming_prefix: str = "incoming/"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    lambda_prepare_max_bytes: int = LAMBDA_PREPROCESS_MAX_BYTES
    evaluation_transform_bytes: int = EVALUATION_TRANSFORM_BYTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> StarterSettings:
        env = os.environ if environ is None else environ
        return cls(
            state_machine_arn=required(env, "STATE_MACHINE_ARN"),
            # 0 only where Describe itself waits for a change (the local cloud); the template asks >= 5.
            poll_interval_seconds=integer(env, "POLL_INTERVAL_SECONDS", 60, minimum=0),
            max_polls=integer(env, "MAX_POLLS", 60, minimum=1),
            max_upload_bytes=integer(env, "MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES, minimum=1),
            lambda_prepare_max_bytes=integer(env, "LAMBDA_PREPARE_MAX_BYTES", LAMBDA_PREPROCESS_MAX_BYTES, minimum=0),
            evaluation_transform_bytes=integer(
                env, "EVALUATION_TRANSFORM_BYTES", EVALUATION_TRANSFORM_BYTES, minimum=0
            ),
        )

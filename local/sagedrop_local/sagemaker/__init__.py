"""A local, in-process SageMaker for the sagedrop pipeline: real xgboost training, real HTTP endpoints.

``LocalSageMaker(s3_client, state_dir, ...).install(session)`` makes every ``sagemaker`` and
``sagemaker-runtime`` client created from ``session`` afterwards talk to it instead of AWS.
"""

from .emulator import LocalSageMaker

__all__ = ["LocalSageMaker"]

"""A local, in-process SageMaker for the sagedrop pipeline: real training, real HTTP endpoints.

The built-in algorithm is chosen by image, as in SageMaker: XGBoost (trained with xgboost) or
Linear Learner (a comparable numpy linear model with the real algorithm's contracts).

``LocalSageMaker(s3_client, state_dir, ...).install(session)`` makes every ``sagemaker`` and
``sagemaker-runtime`` client created from ``session`` afterwards talk to it instead of AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .emulator import LocalSageMaker

__all__ = ["LocalSageMaker"]


def __getattr__(name: str):
    # Imported on first use: the store alone (another process's writer, a test) needs no xgboost.
    if name == "LocalSageMaker":
        from .emulator import LocalSageMaker

        return LocalSageMaker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

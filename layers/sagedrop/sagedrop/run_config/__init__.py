"""The run configuration: built-in defaults, then the stack's, then a folder's ``sagedrop.json``.

One pydantic model, :class:`RunConfig` (``model``), declares every key: its type, default, rules,
description and, where the stack sets the default, the stack parameter and environment variable.
``resolve`` layers the documents and words the errors; ``documents`` reads the JSON; the
hyperparameter rules are in ``hyperparameters`` (XGBoost) and ``linear_learner`` (Linear Learner).
Every problem raises :class:`InvalidConfigError` with a message naming the file (or environment
variable) and the key. docs/configuration.md
describes the keys for users; its table and data/run_config.schema.json are generated from the model.
"""

from sagedrop.errors import InvalidConfigError
from sagedrop.run_config.documents import CONFIG_FILE_NAME, config_key_for, parse_override
from sagedrop.run_config.hyperparameters import REJECTED_HYPERPARAMETERS, XGBOOST_HYPERPARAMETERS, Hyperparameters
from sagedrop.run_config.model import (
    CostMatrix,
    DecisionThreshold,
    RunConfig,
    ServerlessConfig,
    Split,
    StackDefault,
    default_hyperparameters,
    json_schema,
    stack_defaults,
)
from sagedrop.run_config.resolve import DEFAULTS_SOURCE, defaults_from_environment, resolve_run_config

__all__ = [
    "CONFIG_FILE_NAME",
    "CostMatrix",
    "DecisionThreshold",
    "DEFAULTS_SOURCE",
    "REJECTED_HYPERPARAMETERS",
    "XGBOOST_HYPERPARAMETERS",
    "Hyperparameters",
    "InvalidConfigError",
    "RunConfig",
    "ServerlessConfig",
    "Split",
    "StackDefault",
    "config_key_for",
    "default_hyperparameters",
    "defaults_from_environment",
    "json_schema",
    "parse_override",
    "resolve_run_config",
    "stack_defaults",
]

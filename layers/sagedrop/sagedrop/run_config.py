"""The run configuration: built-in defaults, then the stack's, then a folder's ``sagedrop.json``.

The effective configuration is a :class:`RunConfig`; ``RunConfig.as_dict()`` is the JSON shape the
state machine carries (docs/CONTRACTS.md). Every problem raises :class:`InvalidConfigError` with a
message that names the file (or environment variable) and the key, so a failed run says what to fix.
See docs/configuration.md for the user-facing description.
"""

from __future__ import annotations

import difflib
import json
import math
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import jsonschema

from sagedrop.errors import InvalidConfigError

CONFIG_FILE_NAME = "sagedrop.json"
DEFAULTS_SOURCE = "stack defaults"

PROBLEM_TYPES = ("binary_classification", "multiclass_classification", "regression")

# The tutorial's hyperparameters (see /work/shared/FACTS.md, "reference numbers").
BUILTIN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "label": None,
        "problem_type": None,
        "hyperparameters": {
            "max_depth": "5",
            "eta": "0.2",
            "gamma": "4",
            "min_child_weight": "6",
            "subsample": "0.7",
            "num_round": "50",
        },
        "training_instance_type": "ml.m5.xlarge",
        "endpoint_instance_type": "ml.m5.large",
        "serverless": None,
        "split": {"train": 0.7, "validation": 0.15, "test": 0.15},
        "seed": 1729,
        "keep_endpoint": False,
        "use_spot": False,
        "max_runtime_seconds": 3600,
        "delimiter": None,
    }
)
CONFIG_KEYS = tuple(BUILTIN_DEFAULTS)

SERVERLESS_DEFAULTS: Mapping[str, int] = MappingProxyType({"memory_size_mb": 2048, "max_concurrency": 5})

SPLIT_SUM_TOLERANCE = 1e-6

# Hyperparameters the SageMaker built-in XGBoost algorithm accepts (algorithm mode), from
# aws/sagemaker-xgboost-container src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py
# plus its declared aliases. Any other name makes the training job fail with "Extraneous hyperparameter".
XGBOOST_HYPERPARAMETERS = frozenset(
    {
        "num_round",
        "early_stopping_rounds",
        "booster",
        "verbosity",
        "nthread",
        "eta",
        "learning_rate",
        "gamma",
        "min_split_loss",
        "max_depth",
        "min_child_weight",
        "max_delta_step",
        "subsample",
        "colsample_bytree",
        "colsample_bylevel",
        "colsample_bynode",
        "lambda",
        "reg_lambda",
        "alpha",
        "reg_alpha",
        "tree_method",
        "sketch_eps",
        "scale_pos_weight",
        "updater",
        "dsplit",
        "refresh_leaf",
        "process_type",
        "grow_policy",
        "max_leaves",
        "max_bin",
        "predictor",
        "monotone_constraints",
        "interaction_constraints",
        "sample_type",
        "normalize_type",
        "rate_drop",
        "one_drop",
        "skip_drop",
        "lambda_bias",
        "tweedie_variance_power",
        "base_score",
        "eval_metric",
        "seed",
        "num_parallel_tree",
        "save_model_on_termination",
        "aft_loss_distribution",
        "aft_loss_distribution_scale",
        "single_precision_histogram",
        "deterministic_histogram",
        "sampling_method",
        "prob_buffer_row",
        # Set by the pipeline, accepted only under the conditions in _check_hyperparameter_name:
        "objective",
        "num_class",
        "csv_weights",
    }
)

# Hyperparameters that exist but that a run configuration may not set, and why.
REJECTED_HYPERPARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "silent": "'silent' was removed from XGBoost 1.2; use 'verbosity' (0 silent … 3 debug)",
        "num_class": "'num_class' is set by sagedrop from the number of classes in the label column",
        "csv_weights": "'csv_weights' is not supported: sagedrop writes no instance-weight column",
    }
)

# `objective` may be set only together with an explicit problem_type, and only to an objective whose
# predictions the evaluation step reads correctly (probabilities for classification, values for
# regression). Without it the training step picks binary:logistic / multi:softprob / reg:squarederror.
OBJECTIVES_BY_PROBLEM_TYPE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "binary_classification": ("binary:logistic",),
        "multiclass_classification": ("multi:softprob",),
        "regression": (
            "reg:squarederror",
            "reg:absoluteerror",
            "reg:pseudohubererror",
            "reg:squaredlogerror",
            "reg:gamma",
            "reg:tweedie",
            "count:poisson",
        ),
    }
)

# Lambda environment variables that carry stack defaults (docs/CONTRACTS.md), by config key.
ENVIRONMENT_VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "training_instance_type": "TRAINING_INSTANCE_TYPE",
        "endpoint_instance_type": "ENDPOINT_INSTANCE_TYPE",
        "hyperparameters": "DEFAULT_HYPERPARAMETERS",
        "max_runtime_seconds": "MAX_TRAINING_SECONDS",
        "use_spot": "USE_SPOT_TRAINING",
        "keep_endpoint": "KEEP_ENDPOINT",
    }
)


@dataclass(frozen=True)
class Split:
    train: float
    validation: float
    test: float

    def as_dict(self) -> dict[str, float]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


@dataclass(frozen=True)
class ServerlessConfig:
    memory_size_mb: int
    max_concurrency: int

    def as_dict(self) -> dict[str, int]:
        return {"memory_size_mb": self.memory_size_mb, "max_concurrency": self.max_concurrency}


@dataclass(frozen=True)
class RunConfig:
    """The effective run configuration. Build it with :func:`resolve_run_config` or :meth:`from_dict`."""

    label: str | None
    problem_type: str | None
    hyperparameters: Mapping[str, str]
    training_instance_type: str
    endpoint_instance_type: str
    serverless: ServerlessConfig | None
    split: Split
    seed: int
    keep_endpoint: bool
    use_spot: bool
    max_runtime_seconds: int
    delimiter: str | None
    # Where each value came from is not part of the contract; keep it out of equality and as_dict.
    source: str = field(default="", compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form carried in the state machine (docs/CONTRACTS.md)."""
        return {
            "label": self.label,
            "problem_type": self.problem_type,
            "hyperparameters": dict(self.hyperparameters),
            "training_instance_type": self.training_instance_type,
            "endpoint_instance_type": self.endpoint_instance_type,
            "serverless": self.serverless.as_dict() if self.serverless else None,
            "split": self.split.as_dict(),
            "seed": self.seed,
            "keep_endpoint": self.keep_endpoint,
            "use_spot": self.use_spot,
            "max_runtime_seconds": self.max_runtime_seconds,
            "delimiter": self.delimiter,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "run configuration") -> RunConfig:
        """Rebuild a RunConfig from ``as_dict()`` output (e.g. the state machine input); validated."""
        if not isinstance(data, Mapping):
            raise InvalidConfigError(f"{source}: must be a JSON object, not {_json_type(data)}")
        missing = [key for key in CONFIG_KEYS if key not in data]
        if missing:
            raise InvalidConfigError(f"{source}: missing key(s) {', '.join(map(repr, missing))}")
        _validate_document(data, source)
        merged = _merge({}, data, source, replace_hyperparameters=True)
        return _build(merged, source)


# --- public functions -------------------------------------------------------------------------


def config_key_for(csv_key: str) -> str:
    """The S3 key of the configuration file for an uploaded CSV: the same folder, ``sagedrop.json``."""
    return posixpath.join(posixpath.dirname(csv_key), CONFIG_FILE_NAME)


def parse_override(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse a folder's ``sagedrop.json``; raises InvalidConfigError naming ``source`` on any problem."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidConfigError(
                f"{source}: not UTF-8 text (byte {exc.start}: {bytes(text)[exc.start : exc.start + 1]!r})"
            ) from None
    elif text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InvalidConfigError(f"{source}: the file is empty; write {{}} to use the defaults")
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidConfigError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except _JsonProblem as exc:
        raise InvalidConfigError(f"{source}: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidConfigError(f"{source}: must be a JSON object ({{…}}), not {_json_type(value)}")
    return value


def defaults_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Stack defaults from the Lambda environment (only the variables that are set and non-empty)."""
    defaults: dict[str, Any] = {}
    for key, name in ENVIRONMENT_VARIABLES.items():
        raw = environ.get(name, "")
        if raw == "":
            continue
        where = f"{DEFAULTS_SOURCE}: environment variable {name}"
        if key == "hyperparameters":
            defaults[key] = parse_override(raw, where)
        elif key == "max_runtime_seconds":
            try:
                defaults[key] = int(raw.strip())
            except ValueError:
                raise InvalidConfigError(f"{where}: {raw!r} is not a whole number of seconds") from None
        elif key in ("use_spot", "keep_endpoint"):
            lowered = raw.strip().lower()
            if lowered not in ("true", "false"):
                raise InvalidConfigError(f"{where}: {raw!r} must be 'true' or 'false'")
            defaults[key] = lowered == "true"
        else:
            defaults[key] = raw.strip()
    return defaults


def resolve_run_config(
    defaults: Mapping[str, Any] | None, override: Mapping[str, Any] | None, source: str
) -> RunConfig:
    """Built-in defaults ← ``defaults`` (the stack's) ← ``override`` (the folder's sagedrop.json).

    ``source`` names the override file in messages; problems in ``defaults`` name the stack defaults
    and the environment variable the key comes from. Hyperparameters merge key by key over the
    defaults (a null value removes one); every other key replaces the default as a whole.
    """
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, Mapping):
        raise InvalidConfigError(f"{DEFAULTS_SOURCE}: must be a JSON object, not {_json_type(defaults)}")
    _validate_document(defaults, DEFAULTS_SOURCE)
    merged = _merge(dict(BUILTIN_DEFAULTS), defaults, DEFAULTS_SOURCE, replace_hyperparameters=True)
    # Check the stack defaults on their own, so a bad stack parameter is blamed on the stack.
    config = _build(merged, DEFAULTS_SOURCE)
    if override is None:
        return config
    if not isinstance(override, Mapping):
        raise InvalidConfigError(f"{source}: must be a JSON object ({{…}}), not {_json_type(override)}")
    _validate_document(override, source)
    merged = _merge(merged, override, source, replace_hyperparameters=False)
    return _build(merged, source)


# --- validation -------------------------------------------------------------------------------


class _JsonProblem(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonProblem(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not valid JSON; write a number")


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("sagedrop").joinpath("data/run_config.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _key(source: str, path: list[Any]) -> str:
    """'split.train' — with the environment variable it came from, for stack defaults."""
    dotted = ".".join(str(part) for part in path)
    if source == DEFAULTS_SOURCE and path and path[0] in ENVIRONMENT_VARIABLES:
        return f"{dotted} (environment variable {ENVIRONMENT_VARIABLES[path[0]]})"
    return dotted


def _where(source: str, path: list[Any]) -> str:
    """'incoming/x/sagedrop.json: split.train' — the prefix of a single-problem message."""
    return f"{source}: {_key(source, path)}" if path else source


def _raise(problems: list[tuple[str, str]]) -> None:
    """Raise one InvalidConfigError for (source, 'key: problem') pairs, naming each source once."""
    by_source: dict[str, list[str]] = {}
    for source, text in problems:
        by_source.setdefault(source, []).append(text)
    raise InvalidConfigError(
        "; ".join(f"{source}: {'; '.join(texts)}" for source, texts in by_source.items())
    )


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(error: jsonschema.ValidationError, source: str) -> list[str]:
    """One 'key: problem' text per problem; friendlier than jsonschema's for the common mistakes."""
    path = list(error.absolute_path)
    keyword = error.validator
    where = f"{_key(source, path)}: " if path else ""
    if keyword == "additionalProperties" and isinstance(error.instance, Mapping):
        known = list(error.schema.get("properties", {}))
        extras = [key for key in error.instance if key not in known]
        return [f"{where}unknown key {key!r}{_did_you_mean(str(key), known)}" for key in extras]
    if keyword == "type" and not path:
        return [f"must be a JSON object ({{…}}), not {_json_type(error.instance)}"]
    if keyword == "enum" and isinstance(error.instance, str):
        options = [value for value in error.validator_value if isinstance(value, str)]
        hint = _did_you_mean(error.instance, options)
        allowed = ", ".join(repr(value) for value in error.validator_value if value is not None)
        return [f"{where}{error.instance!r} is not one of {allowed} or null{hint}"]
    if keyword == "pattern" and path and str(path[-1]).endswith("instance_type"):
        return [f"{where}{error.instance!r} is not a SageMaker instance type such as 'ml.m5.large'"]
    return [f"{where}{error.message}"]


def _validate_document(document: Mapping[str, Any], source: str) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        _raise([(source, text) for error in errors for text in _describe(error, source)])


def _hyperparameter_value(name: str, value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidConfigError(f"{where}: {value!r} is not a finite number")
        # "5.0" would fail the container's integer hyperparameters (max_depth, num_round).
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        if not value.strip():
            raise InvalidConfigError(f"{where}: the value is empty")
        return value.strip()
    raise InvalidConfigError(f"{where}: {value!r} must be a string or a number")


def _merge(
    base: dict[str, Any], layer: Mapping[str, Any], source: str, *, replace_hyperparameters: bool
) -> dict[str, Any]:
    """Apply one validated layer over ``base``; hyperparameters are converted to strings here."""
    merged = dict(base)
    for key, value in layer.items():
        if key == "hyperparameters":
            hyperparameters = {} if replace_hyperparameters else dict(base.get("hyperparameters", {}))
            for name, raw in value.items():
                if raw is None:
                    hyperparameters.pop(name, None)
                    continue
                where = _where(source, ["hyperparameters", name])
                hyperparameters[name] = _hyperparameter_value(name, raw, where)
            merged[key] = hyperparameters
            merged["__hyperparameter_sources__"] = {
                **({} if replace_hyperparameters else base.get("__hyperparameter_sources__", {})),
                **{name: source for name in value},
            }
        elif key == "serverless" and value is not None:
            merged[key] = {**SERVERLESS_DEFAULTS, **value}
        else:
            merged[key] = value
    return merged


def _check_hyperparameters(
    hyperparameters: Mapping[str, str],
    problem_type: str | None,
    sources: Mapping[str, str],
    fallback_source: str,
) -> None:
    problems: list[tuple[str, str]] = []

    def problem(name: str, text: str) -> None:
        source = sources.get(name, fallback_source)
        problems.append((source, f"{_key(source, ['hyperparameters', name])}: {text}"))

    for name in sorted(hyperparameters):
        if name in REJECTED_HYPERPARAMETERS:
            problem(name, REJECTED_HYPERPARAMETERS[name])
        elif name not in XGBOOST_HYPERPARAMETERS:
            hint = _did_you_mean(name, XGBOOST_HYPERPARAMETERS - set(REJECTED_HYPERPARAMETERS))
            problem(name, f"unknown XGBoost hyperparameter {name!r}{hint}")
        elif name == "objective":
            objective = hyperparameters[name]
            if problem_type is None:
                problem(
                    name,
                    "'objective' is set by sagedrop from the problem type; to choose it, "
                    f"also set problem_type (allowed: {_objectives_text()})",
                )
            elif objective not in OBJECTIVES_BY_PROBLEM_TYPE[problem_type]:
                allowed = ", ".join(OBJECTIVES_BY_PROBLEM_TYPE[problem_type])
                problem(
                    name, f"{objective!r} does not fit problem_type {problem_type!r} (allowed: {allowed})"
                )
    if "num_round" not in hyperparameters:
        problem("num_round", "XGBoost requires num_round (the number of boosting rounds)")
    elif not hyperparameters["num_round"].isdigit() or int(hyperparameters["num_round"]) < 1:
        problem("num_round", f"{hyperparameters['num_round']!r} is not a whole number ≥ 1")
    if problems:
        _raise(problems)


def _objectives_text() -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in OBJECTIVES_BY_PROBLEM_TYPE.items())


def _build(merged: Mapping[str, Any], source: str) -> RunConfig:
    split = merged["split"]
    total = split["train"] + split["validation"] + split["test"]
    if abs(total - 1.0) > SPLIT_SUM_TOLERANCE:
        raise InvalidConfigError(
            f"{_where(source, ['split'])}: train + validation + test must add up to 1, not {total:.6g}"
        )
    hyperparameters = dict(merged["hyperparameters"])
    _check_hyperparameters(
        hyperparameters, merged["problem_type"], merged.get("__hyperparameter_sources__", {}), source
    )
    serverless = merged["serverless"]
    return RunConfig(
        label=merged["label"],
        problem_type=merged["problem_type"],
        hyperparameters=MappingProxyType(hyperparameters),
        training_instance_type=merged["training_instance_type"],
        endpoint_instance_type=merged["endpoint_instance_type"],
        serverless=(
            ServerlessConfig(int(serverless["memory_size_mb"]), int(serverless["max_concurrency"]))
            if serverless is not None
            else None
        ),
        split=Split(float(split["train"]), float(split["validation"]), float(split["test"])),
        seed=int(merged["seed"]),
        keep_endpoint=bool(merged["keep_endpoint"]),
        use_spot=bool(merged["use_spot"]),
        max_runtime_seconds=int(merged["max_runtime_seconds"]),
        delimiter=merged["delimiter"],
        source=source,
    )

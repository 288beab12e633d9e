"""The effective run configuration: built-in defaults ← the stack's ← a folder's sagedrop.json.

Each layer is merged into one document that :class:`RunConfig` validates. Hyperparameters merge key by
key (a null removes one; the stack's replace the built-in set), every other key replaces the one
below. A problem is reported with the key's dotted path and the bad value, and blamed on the layer
that wrote the key: the folder's file by its S3 key, the stack defaults with the environment
variable they came from.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sagedrop.algorithms import ALGORITHMS
from sagedrop.errors import InvalidConfigError
from sagedrop.run_config.documents import json_type, parse_override
from sagedrop.run_config.hyperparameters import did_you_mean
from sagedrop.run_config.model import RunConfig, default_hyperparameters, stack_defaults

DEFAULTS_SOURCE = "stack defaults"

Path = tuple[str, ...]

# pydantic's type errors, as the JSON type the key wants.
_JSON_TYPES = {
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "string_type": "string",
    "dict_type": "object",
    "mapping_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


@dataclass(frozen=True)
class _Document:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path, str] = field(default_factory=dict)  # the layer that wrote a key or a hyperparameter


def defaults_from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Stack defaults from the Lambda environment (only the variables that are set and non-empty)."""
    defaults: dict[str, Any] = {}
    for key, stack in stack_defaults().items():
        raw = environ.get(stack.variable, "")
        if raw != "":
            where = f"{DEFAULTS_SOURCE}: environment variable {stack.variable}"
            defaults[key] = _from_environment(raw, RunConfig.model_fields[key], where)
    return defaults


def resolve_run_config(
    defaults: Mapping[str, Any] | None, override: Mapping[str, Any] | None, source: str
) -> RunConfig:
    """Built-in defaults ← ``defaults`` (the stack's) ← ``override`` (the folder's sagedrop.json).

    ``source`` names the override in messages; problems in ``defaults`` name the stack defaults and the
    environment variable the key comes from.
    """
    defaults = {} if defaults is None else defaults
    if not isinstance(defaults, Mapping):
        raise InvalidConfigError(f"{DEFAULTS_SOURCE}: must be a JSON object, not {json_type(defaults)}")
    stack = _apply(_Document(RunConfig().as_dict()), defaults, DEFAULTS_SOURCE, replace_hyperparameters=True)
    # The stack defaults are checked on their own, so a bad stack parameter is blamed on the stack.
    config = _validate(stack, DEFAULTS_SOURCE)
    if override is None:
        return config
    if not isinstance(override, Mapping):
        raise InvalidConfigError(f"{source}: must be a JSON object ({{…}}), not {json_type(override)}")
    base = _for_algorithm(_Document(config.as_dict(), stack.origins), override.get("algorithm"))
    return _validate(_apply(base, override, source, replace_hyperparameters=False), source)


def _for_algorithm(base: _Document, algorithm: Any) -> _Document:
    """A file that switches the algorithm merges its hyperparameters over that algorithm's built-in set.

    The hyperparameters below it (built-in or the stack's) belong to the other algorithm.
    """
    if algorithm not in ALGORITHMS or algorithm == base.values.get("algorithm"):
        return base  # an unknown value is reported by the validation, naming the key
    values = {**base.values, "algorithm": algorithm, "hyperparameters": dict(default_hyperparameters(algorithm))}
    origins = {path: where for path, where in base.origins.items() if path[0] != "hyperparameters"}
    return _Document(values, origins)


def config_from_dict(data: Mapping[str, Any], source: str) -> RunConfig:
    """A complete document (``RunConfig.as_dict()`` output) back into a RunConfig: RunConfig.from_dict."""
    if not isinstance(data, Mapping):
        raise InvalidConfigError(f"{source}: must be a JSON object, not {json_type(data)}")
    missing = [key for key in RunConfig.model_fields if key not in data]
    if missing:
        raise InvalidConfigError(f"{source}: missing key(s) {', '.join(map(repr, missing))}")
    return _validate(_apply(_Document(), data, source, replace_hyperparameters=True), source)


# --- merging ----------------------------------------------------------------------------------


def _apply(base: _Document, layer: Mapping[str, Any], source: str, *, replace_hyperparameters: bool) -> _Document:
    values, origins = dict(base.values), dict(base.origins)
    for key, value in layer.items():
        origins[(key,)] = source
        if key == "hyperparameters" and isinstance(value, Mapping):
            merged = {} if replace_hyperparameters else dict(values.get(key) or {})
            if replace_hyperparameters:
                origins = {path: where for path, where in origins.items() if len(path) == 1 or path[0] != key}
            for name, raw in value.items():
                origins[(key, name)] = source
                if raw is None:
                    merged.pop(name, None)
                else:
                    merged[name] = raw
            values[key] = merged
        else:
            values[key] = value
    return _Document(values, origins)


def _validate(document: _Document, source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(document.values)
    except ValidationError as error:
        raise InvalidConfigError(_message(error, document, source)) from None


# --- messages ---------------------------------------------------------------------------------


def _message(error: ValidationError, document: _Document, source: str) -> str:
    """One line naming each source once: 'src: key: problem; key: problem; other src: …'."""
    problems = sorted(
        (problem for item in error.errors(include_url=False) for problem in _describe(item, document.values)),
        key=lambda problem: [str(part) for part in problem[0]],
    )
    by_source: dict[str, list[str]] = {}
    for path, text in problems:
        blamed = next((document.origins[path[:n]] for n in (2, 1) if path[:n] in document.origins), source)
        key = _key(blamed, path)
        by_source.setdefault(blamed, []).append(f"{key}: {text}" if key else text)
    return "; ".join(f"{where}: {'; '.join(texts)}" for where, texts in by_source.items())


def _describe(item: Mapping[str, Any], values: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """(path, problem) for one pydantic error, worded like JSON Schema's messages."""
    kind, ctx = item["type"], item.get("ctx") or {}
    path = tuple(str(part) for part in item["loc"])
    if kind == "config_rules":
        return [(tuple(path), reason) for path, reason in ctx["problems"]]
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        known = list(model.model_fields) if model else []
        return [(path[:-1], f"unknown key {path[-1]!r}{did_you_mean(path[-1], known)}")]
    if kind == "missing":
        return [(path[:-1], f"{path[-1]!r} is a required property")]
    value = _value_at(values, path, item["input"])
    bound = {name: _number(ctx[name]) for name in ("ge", "gt", "le", "lt", "multiple_of") if name in ctx}
    texts = {
        "greater_than_equal": lambda: f"{value!r} is less than the minimum of {bound['ge']}",
        "greater_than": lambda: f"{value!r} is less than or equal to the minimum of {bound['gt']}",
        "less_than_equal": lambda: f"{value!r} is greater than the maximum of {bound['le']}",
        "less_than": lambda: f"{value!r} is greater than or equal to the maximum of {bound['lt']}",
        "multiple_of": lambda: f"{value!r} is not a multiple of {bound['multiple_of']}",
        "string_too_short": lambda: (
            f"{value!r} should be non-empty"
            if ctx.get("min_length") == 1
            else f"{value!r} is shorter than {ctx.get('min_length')} characters"
        ),
        "enum": lambda: _not_one_of(value, path),
        "literal_error": lambda: _not_one_of(value, path),
    }
    if kind in texts:
        return [(path, texts[kind]())]
    if kind in _JSON_TYPES:
        return [(path, f"{value!r} is not of type {_JSON_TYPES[kind]!r}")]
    return [(path, item["msg"])]  # our own errors (sagedrop.run_config.model.problem) read as written


def _key(source: str, path: Path) -> str:
    """'split.train' — with the environment variable it came from, for stack defaults."""
    dotted = ".".join(path)
    stack = stack_defaults().get(path[0]) if path else None
    if source == DEFAULTS_SOURCE and stack is not None:
        return f"{dotted} (environment variable {stack.variable})"
    return dotted


def _not_one_of(value: Any, path: Path) -> str:
    annotation = info.annotation if (info := _field_at(path)) else None
    choices: list[Any] = []
    nullable = False
    for option in typing.get_args(annotation) or (annotation,):
        if option is type(None):
            nullable = True
        elif typing.get_origin(option) is Literal:
            choices += typing.get_args(option)
        elif isinstance(option, type) and issubclass(option, Enum):
            choices += [member.value for member in option]
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    return f"{value!r} is not one of {', '.join(map(repr, choices))}{' or null' if nullable else ''}{hint}"


def _field_at(path: Path) -> FieldInfo | None:
    model: type[BaseModel] | None = RunConfig
    info = None
    for part in path:
        if model is None or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = _model_in(info.annotation)
    return info


def _model_at(path: Path) -> type[BaseModel] | None:
    if not path:
        return RunConfig
    info = _field_at(path)
    return _model_in(info.annotation) if info else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for option in (annotation, *typing.get_args(annotation)):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _value_at(values: Mapping[str, Any], path: Path, fallback: Any) -> Any:
    """The value as the user wrote it (pydantic reports 0 of a float field as 0.0)."""
    value: Any = values
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return fallback
        value = value[part]
    return value


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _from_environment(raw: str, info: FieldInfo, where: str) -> Any:
    """An environment variable's text as the JSON value of its key."""
    kind = typing.get_origin(info.annotation) or info.annotation
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise InvalidConfigError(f"{where}: {raw!r} must be 'true' or 'false'")
        return lowered == "true"
    if kind is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise InvalidConfigError(f"{where}: {raw!r} is not a whole number") from None
    if kind is str:
        return raw.strip()
    if isinstance(kind, type) and issubclass(kind, Mapping):
        return parse_override(raw, where)
    raise TypeError(f"no environment form for a key of type {info.annotation}")

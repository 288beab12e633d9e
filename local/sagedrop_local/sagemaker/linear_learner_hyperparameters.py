"""Hyperparameter validation as the built-in Linear Learner container does it.

Names, values and defaults are the documented table ("Linear learner hyperparameters" in the
SageMaker developer guide), declared once in ``sagedrop.run_config.linear_learner`` for the run
configuration and this emulation; every documented name is accepted (plus
``_tuning_objective_metric``, which automatic model tuning adds to each job), anything else is
rejected. This module adds what only the container does: the wording of its errors.

Error wording. The first-party algorithms share an internal SDK that validates the hyperparameters
with a JSON schema and rewrites jsonschema's errors; a public copy of that code (the RL container's
``vw_serving``) gives the exact templates used here for a missing required name ("No value(s) were
specified for 'x' which are required hyperparameter(s)"), an unknown name (jsonschema's
"Additional properties are not allowed ('x' was unexpected)" with *properties* replaced by
*hyperparameters*) and a value outside a list ("The value 'x' is not valid for the 'y'
hyperparameter which accepts one of the following: 'a', 'b'"). The FailureReason layout
(``ClientError: <message> (caused by ValidationError)`` then ``Caused by: <jsonschema message>``)
is that SDK's ``CustomerError`` as SageMaker shows it. Inferred, not seen: the text for a number out
of range (the real schema's number rules are not public), the conditional requirement of
``num_classes`` (reported like any missing required name) and a loss that does not fit the
predictor type.
"""

from __future__ import annotations

from typing import Any

# The documented table is the layer's, shared with the run configuration: one declaration.
from sagedrop.run_config.linear_learner import (
    AUTO,
    BINARY,
    LOSSES,
    MULTICLASS,
    PREDICTOR_TYPES,
    REGRESSOR,
    REQUIRED,
    SELECTION_CRITERIA,
    SPECS,
    HyperparameterSpec,
)

from .hyperparameters import UserError

__all__ = [
    "AUTO",
    "BINARY",
    "LOSSES",
    "MULTICLASS",
    "PREDICTOR_TYPES",
    "REGRESSOR",
    "REQUIRED",
    "SELECTION_CRITERIA",
    "SPECS",
    "ClientError",
    "flag",
    "validate",
    "validation_error",
]


class ClientError(UserError):
    """A customer error of the first-party algorithm SDK; ``reason`` is the job's FailureReason."""

    def __init__(self, message: str, cause: str | None = None, detail: str | None = None):
        text = f"{message} (caused by {cause})" if cause else message
        super().__init__(text)
        self.reason = f"ClientError: {text}" + (f"\n\nCaused by: {detail}" if detail else "")


def validation_error(message: str, detail: str) -> ClientError:
    return ClientError(message, "ValidationError", detail)


def _value_error(name: str, raw: str, spec: HyperparameterSpec) -> ClientError:
    if spec.kind == "enum":
        accepted = ", ".join(f"'{value}'" for value in spec.words)
        return validation_error(
            f"The value '{raw}' is not valid for the '{name}' hyperparameter which accepts one of the following: "
            f"{accepted}",
            f"'{raw}' is not one of {list(spec.words)}",
        )
    options = [f"a string which matches the pattern '^{word}$'" for word in spec.words] + [spec.describe_number()]
    return validation_error(
        f"The value '{raw}' is not valid for the '{name}' hyperparameter which expects one of the following: "
        + "; or ".join(options),
        f"'{raw}' is not valid under any of the given schemas",
    )


def _parse(name: str, raw: Any, spec: HyperparameterSpec) -> Any:
    text = str(raw).strip()
    try:
        return spec.parse(text)
    except ValueError:
        raise _value_error(name, text, spec) from None


def validate(hyperparameters: dict[str, str]) -> dict[str, Any]:
    """The job's string hyperparameters, checked and converted, with every default filled in.

    Raises ClientError (a ``UserError``) with the container's wording; see the module docstring.
    """
    missing = [name for name in REQUIRED if name not in hyperparameters]
    if missing:
        quoted = ", ".join(f"'{name}'" for name in missing)
        raise validation_error(
            f"No value(s) were specified for {quoted} which are required hyperparameter(s)",
            f"'{missing[0]}' is a required property",
        )
    unknown = [name for name in hyperparameters if name not in SPECS]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise validation_error(
            f"Additional hyperparameters are not allowed ({names} {verb} unexpected)",
            f"Additional properties are not allowed ({names} {verb} unexpected)",
        )
    values = {name: spec.default for name, spec in SPECS.items()}
    for name, raw in hyperparameters.items():
        values[name] = _parse(name, raw, SPECS[name])
    predictor = values["predictor_type"]
    if predictor == MULTICLASS and values["num_classes"] is None:
        raise validation_error(
            "No value(s) were specified for 'num_classes' which are required hyperparameter(s)",
            "'num_classes' is a required property",
        )
    if values["loss"] == AUTO:
        values["loss"] = LOSSES[predictor][0]
    elif values["loss"] not in LOSSES[predictor]:
        accepted = ", ".join(f"'{loss}'" for loss in (AUTO, *LOSSES[predictor]))
        raise validation_error(
            f"The value '{values['loss']}' is not valid for the 'loss' hyperparameter when predictor_type is "
            f"'{predictor}', which accepts one of the following: {accepted}",
            f"'{values['loss']}' is not one of {[AUTO, *LOSSES[predictor]]}",
        )
    return values


def flag(value: str, auto: bool) -> bool:
    """A true/false/auto hyperparameter as a bool, ``auto`` meaning ``auto``."""
    return auto if value == AUTO else value == "true"

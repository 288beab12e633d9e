"""Hyperparameter validation as the built-in Linear Learner container does it.

Names, values and defaults follow the documented table ("Linear learner hyperparameters" in the
SageMaker developer guide); every documented name is accepted (plus ``_tuning_objective_metric``,
which automatic model tuning adds to each job), anything else is rejected.

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

import math
from dataclasses import dataclass
from typing import Any

from .hyperparameters import UserError

AUTO = "auto"
PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
BINARY, MULTICLASS, REGRESSOR = PREDICTOR_TYPES
# The losses each predictor type trains with; the first is what `auto` means.
LOSSES = {
    BINARY: ("logistic", "hinge_loss"),
    MULTICLASS: ("softmax_loss",),
    REGRESSOR: (
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
)


class ClientError(UserError):
    """A customer error of the first-party algorithm SDK; ``reason`` is the job's FailureReason."""

    def __init__(self, message: str, cause: str | None = None, detail: str | None = None):
        text = f"{message} (caused by {cause})" if cause else message
        super().__init__(text)
        self.reason = f"ClientError: {text}" + (f"\n\nCaused by: {detail}" if detail else "")


def validation_error(message: str, detail: str) -> ClientError:
    return ClientError(message, "ValidationError", detail)


@dataclass(frozen=True)
class _Spec:
    kind: str  # int | float | enum | free
    default: Any = None
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    words: tuple[str, ...] = ()  # enum values, or the words a number also accepts ("auto", "balanced")

    def describe_number(self) -> str:
        noun = "an integer" if self.kind == "int" else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"greater than {'' if self.low_open else 'or equal to '}{_text(self.low)}")
        if self.high is not None:
            parts.append(f"less than {'' if self.high_open else 'or equal to '}{_text(self.high)}")
        return " ".join([noun, " and ".join(parts)]).strip()

    def in_range(self, value: float) -> bool:
        if math.isnan(value) or math.isinf(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))


def _text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _int(default=None, *words, low=None, high=None):
    return _Spec("int", default, low=low, high=high, words=words)


def _float(default=None, *words, low=None, low_open=False, high=None, high_open=False):
    return _Spec("float", default, low=low, low_open=low_open, high=high, high_open=high_open, words=words)


def _enum(default, *values):
    return _Spec("enum", default, words=values)


_BOOL = ("true", "false")
_AUTO_BOOL = (AUTO, "true", "false")

# The documented table. Defaults of `auto` are resolved by the trainer.
SPECS: dict[str, _Spec] = {
    "predictor_type": _enum(None, *PREDICTOR_TYPES),
    "feature_dim": _int(AUTO, AUTO, low=1),
    "num_classes": _int(None, low=3, high=1_000_000),
    "accuracy_top_k": _int(3, low=1),
    "balance_multiclass_weights": _enum("false", *_BOOL),
    "beta_1": _float(AUTO, AUTO, low=0, high=1, high_open=True),
    "beta_2": _float(AUTO, AUTO, low=0, high=1, high_open=True),
    "bias_lr_mult": _float(AUTO, AUTO, low=0, low_open=True),
    "bias_wd_mult": _float(AUTO, AUTO, low=0),
    "binary_classifier_model_selection_criteria": _enum("accuracy", *SELECTION_CRITERIA),
    "early_stopping_patience": _int(3, low=1),
    "early_stopping_tolerance": _float(0.001, low=0, low_open=True),
    "epochs": _int(15, low=1),
    "f_beta": _float(1.0, low=0, low_open=True),
    "huber_delta": _float(1.0, low=0, low_open=True),
    "init_bias": _float(0.0),
    "init_method": _enum("uniform", "uniform", "normal"),
    "init_scale": _float(0.07, low=0, low_open=True),
    "init_sigma": _float(0.01, low=0, low_open=True),
    "l1": _float(AUTO, AUTO, low=0),
    "learning_rate": _float(AUTO, AUTO, low=0, low_open=True),
    "loss": _enum(AUTO, AUTO, *(loss for losses in LOSSES.values() for loss in losses)),
    "loss_insensitivity": _float(0.01, low=0, low_open=True),
    "lr_scheduler_factor": _float(AUTO, AUTO, low=0, low_open=True, high=1, high_open=True),
    "lr_scheduler_minimum_lr": _float(AUTO, AUTO, low=0, low_open=True),
    "lr_scheduler_step": _int(AUTO, AUTO, low=1),
    "margin": _float(1.0, low=0, low_open=True),
    "mini_batch_size": _int(1000, low=1),
    "momentum": _float(AUTO, AUTO, low=0, high=1, high_open=True),
    "normalize_data": _enum("true", *_AUTO_BOOL),
    "normalize_label": _enum(AUTO, *_AUTO_BOOL),
    "num_calibration_samples": _int(AUTO, AUTO, low=1),
    "num_models": _int(AUTO, AUTO, low=1),
    "num_point_for_scaler": _int(10_000, low=1),
    "optimizer": _enum(AUTO, AUTO, "sgd", "adam", "rmsprop"),
    "positive_example_weight_mult": _float(1.0, "balanced", AUTO, low=0, low_open=True),
    "quantile": _float(0.5, low=0, low_open=True, high=1, high_open=True),
    "target_precision": _float(0.8, low=0, low_open=True, high=1, high_open=True),
    "target_recall": _float(0.8, low=0, low_open=True, high=1, high_open=True),
    "unbias_data": _enum(AUTO, *_AUTO_BOOL),
    "unbias_label": _enum(AUTO, *_AUTO_BOOL),
    "use_bias": _enum("true", *_BOOL),
    "use_lr_scheduler": _enum("true", *_BOOL),
    "wd": _float(AUTO, AUTO, low=0),
    "_tuning_objective_metric": _Spec("free"),
}
REQUIRED = ("predictor_type",)


def _value_error(name: str, raw: str, spec: _Spec) -> ClientError:
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


def _parse(name: str, raw: Any, spec: _Spec) -> Any:
    text = str(raw).strip()
    if spec.kind == "free":
        return text
    lowered = text.lower()
    if spec.kind == "enum":
        # The SDK serialises Python booleans as "True"/"False"; the container takes either case.
        value = lowered if lowered in spec.words and set(spec.words) & {"true", "false"} else text
        if value not in spec.words:
            raise _value_error(name, text, spec)
        return value
    if lowered in spec.words:
        return lowered
    try:
        number = float(text)
        if spec.kind == "int":
            if not number.is_integer():
                raise ValueError(text)
            number = int(number)
    except ValueError:
        raise _value_error(name, text, spec) from None
    if not spec.in_range(number):
        raise _value_error(name, text, spec)
    return number


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

"""The run configuration as one pydantic model: the single declaration of every configuration key.

Each field carries its key's type, default, rules and description and, where the stack sets its
default, the stack parameter and the Lambda environment variable that carry it (:class:`StackDefault`).
Everything else is derived from the model: the JSON schema in ``data/run_config.schema.json`` and the
key table of docs/configuration.md (``scripts/generate_config_docs.py``, checked by a test), the stack
defaults read from the environment and the messages that name a key (``sagedrop.run_config.resolve``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

from sagedrop.algorithms import Algorithm
from sagedrop.analysis.threshold import COST, F1, RULES
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import linear_learner
from sagedrop.run_config.hyperparameters import (
    DEFAULT_XGBOOST_HYPERPARAMETERS,
    Hyperparameters,
    HyperparameterValueError,
    allowed_names,
    as_text,
    hyperparameter_problems,
)

INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
SPLIT_SUM_TOLERANCE = 1e-6
SCHEMA_ID = "https://sagedrop.invalid/schemas/run_config.schema.json"


@dataclass(frozen=True)
class StackDefault:
    """The template.yaml parameter that sets a key's stack default, and the Lambda variable carrying it."""

    parameter: str
    variable: str


def problem(kind: str, text: str) -> PydanticCustomError:
    """A validation error whose message is ``text`` as written (the messages name the key around it)."""
    return PydanticCustomError(kind, "{problem}", {"problem": text})


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 5.0 is the integer 5 (JSON Schema agrees); 5.5 still fails as not an integer.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _instance_type(value: str) -> str:
    if not re.fullmatch(INSTANCE_TYPE_PATTERN, value):
        raise problem("instance_type", f"{value!r} is not a SageMaker instance type such as 'ml.m5.large'")
    return value


def _hyperparameter(value: Any) -> str:
    try:
        return as_text(value)
    except HyperparameterValueError as error:
        raise problem("hyperparameter_value", str(error)) from None


# Strict: a JSON string is never read as a number or a boolean ("yes" is not true).
Integer = Annotated[int, Strict(), BeforeValidator(_whole_number)]
Fraction = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
InstanceType = Annotated[
    str,
    Strict(),
    AfterValidator(_instance_type),
    WithJsonSchema({"type": "string", "pattern": INSTANCE_TYPE_PATTERN, "examples": ["ml.m5.large"]}),
]
HyperparameterMap = Annotated[
    Mapping[str, Annotated[str, PlainValidator(_hyperparameter)]],
    AfterValidator(Hyperparameters),
    PlainSerializer(dict, return_type=dict[str, str]),
    # The form a sagedrop.json may write: numbers and booleans are converted, null removes a default
    # (removing a name that is not there is harmless, so any name may be null).
    WithJsonSchema(
        {
            "type": "object",
            # Either algorithm's names; RunConfig checks them against the chosen algorithm.
            "properties": {
                name: {"type": ["string", "number", "boolean", "null"]}
                for name in sorted({*allowed_names(), *linear_learner.allowed_names()})
            },
            "additionalProperties": {"type": "null"},
        }
    ),
]


def default_hyperparameters(algorithm: Algorithm | str) -> Mapping[str, str]:
    """The built-in hyperparameters of ``algorithm`` (sagedrop's own for each)."""
    if algorithm == Algorithm.LINEAR_LEARNER:
        return linear_learner.DEFAULT_HYPERPARAMETERS
    return DEFAULT_XGBOOST_HYPERPARAMETERS


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def as_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form (docs/CONTRACTS.md)."""
        return self.model_dump(mode="json")


class ServerlessConfig(_Part):
    """The capacity of a serverless endpoint (SageMaker's ServerlessConfig)."""

    memory_size_mb: Integer = Field(
        2048, ge=1024, le=6144, multiple_of=1024, description="Memory of the serverless endpoint, in MB."
    )
    max_concurrency: Integer = Field(5, ge=1, le=200, description="Invocations the endpoint serves at the same time.")


class CostMatrix(_Part):
    """The cost of each kind of error, for the ``cost`` rule (only their ratio matters)."""

    false_positive: Fraction = Field(ge=0, description="Cost of predicting the positive class for a negative row.")
    false_negative: Fraction = Field(ge=0, description="Cost of predicting the negative class for a positive row.")


class DecisionThreshold(_Part):
    """How a binary model's decision threshold is set: chosen on the validation split, or fixed."""

    metric: Literal[RULES] = Field(  # type: ignore[valid-type]
        F1,
        description="What the threshold maximises on the validation split: `f1` (of the positive class), "
        "`balanced_accuracy`, or `cost` (minimises the expected cost of `cost`).",
    )
    cost: CostMatrix | None = Field(None, description="`{false_positive, false_negative}`; required by `cost`.")
    value: Fraction | None = Field(
        None, ge=0, le=1, description="A fixed threshold instead of a chosen one (e.g. `0.5`)."
    )

    @model_validator(mode="after")
    def _cost_goes_with_its_rule(self) -> DecisionThreshold:
        if (self.metric == COST) != (self.cost is not None):
            raise problem("threshold_cost", "`cost` is required by metric 'cost' and only by it")
        if self.value is not None and (self.metric != F1 or self.cost is not None):
            raise problem("threshold_value", "a fixed `value` takes no `metric` or `cost`")
        return self


class Split(_Part):
    """Fractions of the rows for each channel; they must add up to 1 (±1e-6)."""

    train: Fraction = Field(gt=0, le=1, description="Fraction of the rows the algorithm trains on.")
    validation: Fraction = Field(
        ge=0, le=1, description="Fraction for the validation channel; `0`: no validation channel is used."
    )
    test: Fraction = Field(gt=0, le=1, description="Fraction held out for the evaluation.")

    @model_validator(mode="after")
    def _adds_up_to_one(self) -> Split:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > SPLIT_SUM_TOLERANCE:
            raise problem("split_sum", f"train + validation + test must add up to 1, not {total:.6g}")
        return self


def _column_names(value: Any) -> Any:
    # A JSON array only: a lone string would otherwise read as a sequence of one-letter names.
    if not isinstance(value, list | tuple):
        raise problem("list_type", f"{value!r} is not of type 'array'")
    return value


class DataChecks(_Part):
    """The data gate before training: leakage checks that stop the run unless acknowledged."""

    acknowledge: Annotated[
        tuple[Annotated[Text, Field(min_length=1)], ...],
        BeforeValidator(_column_names),
        WithJsonSchema({"type": "array", "items": {"type": "string", "minLength": 1}}),
    ] = Field(
        (),
        description='Columns whose leakage findings you accept (e.g. `["duration"]`): the run goes on, and '
        "data_report.json and the report show the findings as acknowledged.",
    )
    enabled: Flag = Field(
        True,
        description="`false`: the findings are still reported in data_report.json, but none stops the run.",
    )


class TuningConfig(_Part):
    """How many trials an Automatic Model Tuning job may run (its ResourceLimits)."""

    max_jobs: Integer = Field(
        20,
        ge=1,
        le=500,
        description="Training jobs the tuning job runs in all (SageMaker's quota per tuning job is 500 or more).",
    )
    max_parallel_jobs: Integer = Field(
        2,
        ge=1,
        le=10,
        description="Training jobs it runs at the same time, at most `max_jobs` (SageMaker's default quota is 10).",
    )

    @model_validator(mode="after")
    def _parallel_within_total(self) -> TuningConfig:
        if self.max_parallel_jobs > self.max_jobs:
            raise problem(
                "tuning_parallel",
                f"max_parallel_jobs ({self.max_parallel_jobs}) may not exceed max_jobs ({self.max_jobs})",
            )
        return self


class RunConfig(_Part):
    """The effective run configuration of one run: immutable, and usable as a field of another model.

    ``as_dict()`` is the JSON form the state machine carries; ``RunConfig.from_dict`` reads it back with
    the friendly messages; ``resolve_run_config`` builds one from the stack's and a folder's layers.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="sagedrop run configuration",
        json_schema_extra={
            "description": "A folder's incoming/<folder>/sagedrop.json and the stack defaults are both checked "
            "against this schema. Every key is optional here: the effective configuration is the built-in "
            "defaults, then the stack defaults, then the folder's file. Generated from sagedrop.run_config; "
            "rules JSON Schema cannot say (split fractions adding up to 1, objective and problem_type, "
            "num_round) are checked there."
        },
    )

    label: Annotated[Text, Field(min_length=1)] | None = Field(
        None,
        description="The label column's name (exact, case-sensitive). `null`: a column named `y`, `label`, "
        "`target` or `class` (any case, in that order of preference), else the **last** column.",
    )
    problem_type: ProblemType | None = Field(None, description="`null`: inferred from the label (see below).")
    algorithm: Algorithm = Field(
        Algorithm.XGBOOST,
        description="The SageMaker built-in algorithm: `xgboost` (gradient-boosted trees) or `linear-learner` "
        "(a linear model). `linear-learner` has no serverless form and fills missing numbers (see below).",
    )
    hyperparameters: Annotated[HyperparameterMap, StackDefault("DefaultHyperparameters", "DEFAULT_HYPERPARAMETERS")] = (
        Field(
            Hyperparameters(DEFAULT_XGBOOST_HYPERPARAMETERS),
            description="Hyperparameters of the chosen `algorithm`, **merged over** its defaults key by key: for "
            "XGBoost sagedrop's (the default shown: early stopping on the validation split, `num_round` a cap), "
            "for Linear Learner sagedrop's own (see below). Numbers and "
            'booleans are sent as strings (`6` → `"6"`, `6.0` → `"6"`, `true` → `"true"`); `null` removes a '
            "default. A stack default **replaces** the built-in XGBoost set.",
        )
    )
    training_instance_type: Annotated[InstanceType, StackDefault("TrainingInstanceType", "TRAINING_INSTANCE_TYPE")] = (
        Field("ml.m5.xlarge", description="Instance for the training job.")
    )
    training_instance_count: Integer = Field(
        1,
        ge=1,
        le=20,
        description="Instances of the training job (distributed training); above 1 each instance trains on its share "
        "of the train split's part files (`ShardedByS3Key`), so large uploads, which are written as several parts, "
        "gain from it.",
    )
    endpoint_instance_type: Annotated[InstanceType, StackDefault("EndpointInstanceType", "ENDPOINT_INSTANCE_TYPE")] = (
        Field("ml.m5.large", description="Instance for the (provisioned) endpoint.")
    )
    serverless: ServerlessConfig | None = Field(
        None,
        description="An object makes a **serverless** endpoint instead of one on `endpoint_instance_type`; "
        "its missing keys take their defaults.",
    )
    split: Split = Field(
        Split(train=0.7, validation=0.15, test=0.15),
        description="Fractions of the rows; all three keys required, they must add up to 1 (±1e-6).",
    )
    seed: Integer = Field(1729, ge=0, le=2**32 - 1, description="Seed of the split (the tutorial's `random_state`).")
    keep_endpoint: Annotated[Flag, StackDefault("KeepEndpoint", "KEEP_ENDPOINT")] = Field(
        False, description="Keep the endpoint after the evaluation (it costs money while it exists)."
    )
    use_spot: Annotated[Flag, StackDefault("UseSpotTraining", "USE_SPOT_TRAINING")] = Field(
        False, description="Managed spot training."
    )
    max_runtime_seconds: Annotated[Integer, StackDefault("MaxTrainingSeconds", "MAX_TRAINING_SECONDS")] = Field(
        3600, ge=60, le=432000, description="The training job's maximum runtime."
    )
    tuning: TuningConfig | None = Field(
        None,
        description="An object runs a SageMaker **Automatic Model Tuning** job (Bayesian search over sagedrop's "
        "ranges for the algorithm, objective: the validation metric) instead of one training job, and deploys its "
        "best trial; its missing keys take their defaults. The tuned hyperparameters' values in `hyperparameters` "
        "are replaced by the search, whose range is widened to include them (and a regression's default "
        "`min_child_weight`). Needs a validation split. `null`: one training job.",
    )
    delimiter: Literal[",", ";", "\t", "|"] | None = Field(None, description="`null`: detected from the file.")
    balance_classes: Flag = Field(
        False,
        description="Binary XGBoost: weigh the positive class by negatives/positives of the train split "
        "(`scale_pos_weight`; a `scale_pos_weight` hyperparameter wins). Off by default: with the decision "
        "threshold chosen on the validation split it did not raise F1 and it spoils the probabilities "
        "(benchmarks/defaults_sweep.py).",
    )
    decision_threshold: DecisionThreshold = Field(
        DecisionThreshold(),
        description="Binary XGBoost models: the probability above which a row is predicted the positive class, "
        "chosen on the validation split (default: the F1 of the positive class) and applied by the deployed "
        "model; missing keys take their defaults.",
    )
    data_checks: DataChecks = Field(
        DataChecks(),
        description="The data gate: before training, a feature column that alone predicts the label almost perfectly "
        "(a leak), or that identifies the rows, stops the run with DataLeakageError unless listed in `acknowledge` "
        "(see below); missing keys take their defaults.",
    )

    @model_validator(mode="before")
    @classmethod
    def _algorithm_defaults(cls, data: Any) -> Any:
        # Without hyperparameters, a Linear Learner config takes its own defaults, not XGBoost's.
        linear = Algorithm.LINEAR_LEARNER
        if isinstance(data, Mapping) and "hyperparameters" not in data and data.get("algorithm") == linear:
            return {**data, "hyperparameters": dict(default_hyperparameters(linear))}
        return data

    @model_validator(mode="after")
    def _keys_fit_together(self) -> RunConfig:
        if self.algorithm is Algorithm.LINEAR_LEARNER:
            found = linear_learner.hyperparameter_problems(self.hyperparameters, self.problem_type)
        else:
            found = hyperparameter_problems(self.hyperparameters, self.problem_type)
        problems = [(("hyperparameters", name), reason) for name, reason in found]
        if self.serverless is not None and not self.algorithm.has_single_container_form:
            problems.append(
                (
                    ("serverless",),
                    f"not available with algorithm {self.algorithm.value!r}: a serverless endpoint hosts one "
                    f"container, and the {self.algorithm.display_name} image cannot also run sagedrop's featurizer "
                    "and label decoder; remove serverless (an instance endpoint) or use algorithm 'xgboost'",
                )
            )
        if self.tuning is not None and self.split.validation == 0:
            problems.append(
                (("tuning",), "needs a validation split (split.validation > 0): the tuning objective is measured on it")
            )
        if problems:
            text = "; ".join(f"{'.'.join(path)}: {reason}" for path, reason in problems)
            # ``problems`` lets the resolver blame each key on the layer that set it.
            raise PydanticCustomError("config_rules", "{problem}", {"problem": text, "problems": problems})
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "run configuration") -> RunConfig:
        """Rebuild a RunConfig from ``as_dict()`` output (e.g. the state machine's); every key required."""
        from sagedrop.run_config.resolve import config_from_dict

        return config_from_dict(data, source)


def stack_defaults() -> dict[str, StackDefault]:
    """The keys whose default the stack sets, by key, in field order."""
    return {
        name: meta
        for name, field in RunConfig.model_fields.items()
        for meta in field.metadata
        if isinstance(meta, StackDefault)
    }


class _SchemaGenerator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Max Runtime Seconds" adds nothing to the key's name

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(dict(dft) if isinstance(dft, Hyperparameters) else dft)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a sagedrop.json, as written to data/run_config.schema.json."""
    schema = RunConfig.model_json_schema(mode="validation", schema_generator=_SchemaGenerator)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}

"""The run state: the document statemachine/pipeline.asl.json passes from step to step, typed.

Each section is written by one state (its ``ResultPath``) and read by the states after it. A handler
parses the whole document once into the input model of its step (:data:`STEP_INPUTS`), which
requires exactly the sections that step reads; a missing or malformed section fails with
InvalidEventError naming its path, before any work is done. Steps return the typed section they own;
the handler dumps it to JSON for the state machine to store.

docs/CONTRACTS.md shows this shape; tests/unit/pipeline/test_state.py checks it is current.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError

from sagedrop.errors import InvalidEventError
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import RunConfig

TrainingJobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
ProcessingJobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
TransformJobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]
EndpointStatus = Literal[
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
]


def _config(value: Any) -> RunConfig:
    # The effective config is validated again on the way in: it may have been edited in the console.
    return value if isinstance(value, RunConfig) else RunConfig.from_dict(value, source="run state prepared.config")


#: The effective run configuration as the state carries it (RunConfig.as_dict()).
ConfigSection = Annotated[
    RunConfig, PlainValidator(_config), PlainSerializer(lambda config: config.as_dict(), return_type=dict)
]


class Section(BaseModel):
    """A part of the run state: immutable, and no key the contract does not name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def as_dict(self) -> dict[str, Any]:
        """The JSON document the state machine stores (unknown values are left out, not null)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SourceObject(Section):
    """The uploaded object version that started the run (from the S3 event)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = Field(default=None, ge=0)


class Polling(Section):
    """How the wait loops poll: the Wait states read ``interval_seconds``, the Choices ``max_polls``."""

    interval_seconds: int = Field(ge=0)
    max_polls: int = Field(ge=1)


class Limits(Section):
    """Bounds the starter puts in the execution input (stack parameters); the state machine checks them."""

    max_upload_bytes: int = Field(ge=1)
    #: Larger uploads are prepared by a Processing job, not the Lambda (absent: always the Lambda).
    lambda_prepare_max_bytes: int | None = Field(default=None, ge=0)
    #: Above this many bytes of raw test split the evaluation scores it with a Batch Transform job
    #: (stack parameter EvaluationTransformBytes); absent in executions started before it existed.
    evaluation_transform_bytes: int | None = Field(default=None, ge=0)


class Channels(Section):
    """S3 prefixes of the splits (``validation`` is absent when split.validation is 0)."""

    train: str
    validation: str | None = None
    test: str


class DatasetSummary(Section):
    """What later steps need to know of the prepared data; the full picture is schema.json."""

    schema_key: str
    channels: Channels
    raw_test_key: str  #: the test split as uploaded: what the evaluation sends, as a caller would
    raw_test_bytes: int | None = Field(default=None, ge=0)  #: its size: it decides endpoint or Batch Transform
    inference_artifact: str  #: S3 URI of the featurizer/decoder tarball the deployed model serves with
    label: str
    problem_type: ProblemType
    feature_count: int = Field(ge=1)
    class_count: int | None = None
    class_counts: list[int] | None = None  #: per encoded class, in the train split (classification)
    rows: dict[str, int]
    config_source: str | None = None
    data_report_key: str | None = None  #: data_report.json (what the data gate found); absent in older runs


class Prepared(Section):
    """Written by "Prepare the data" (``$.prepared``)."""

    config: ConfigSection
    dataset: DatasetSummary


class PreparationJob(Section):
    """Written by "Start the preparation job" and each "Check the preparation job" poll (``$.preparation``).

    The route of an upload above ``limits.lambda_prepare_max_bytes``. The effective configuration is
    resolved when the job starts and travels here until the job has written the data; once Completed,
    ``prepared`` is what "Prepare the data" returns. "Take the prepared data" moves it to
    ``$.prepared`` and "Keep the job's summary" leaves only the job's name, status, polls and run
    time here, so the configuration is never carried twice (the state's 256 KiB).
    """

    job_name: str
    status: ProcessingJobStatus
    polls: int = Field(ge=0)
    config: ConfigSection | None = None
    config_source: str | None = None
    failure_reason: str | None = None
    billable_seconds: int | None = Field(default=None, ge=0)  #: the job's run time (what Processing bills)
    prepared: Prepared | None = None


class Training(Section):
    """Written by "Start training" and each "Check training" poll (``$.training``)."""

    job_name: str
    status: TrainingJobStatus
    polls: int = Field(ge=0)
    secondary_status: str | None = None
    failure_reason: str | None = None
    metrics: dict[str, float] | None = None
    model_artifact: str | None = None
    billable_seconds: int | None = None
    #: What the job trained with, as DescribeTrainingJob reports it (SageMaker's own "_" names left out):
    #: the run configuration's values and what the problem type and the data added.
    hyperparameters: dict[str, str] | None = None


TuningJobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting", "DeleteFailed"]


class TrainingJobCounts(Section):
    """TrainingJobStatusCounters: the trials by status."""

    completed: int = 0
    in_progress: int = 0
    retryable_error: int = 0
    non_retryable_error: int = 0
    stopped: int = 0


class ObjectiveCounts(Section):
    """ObjectiveStatusCounters: trials whose objective was read, is awaited, or could not be read."""

    succeeded: int = 0
    pending: int = 0
    failed: int = 0


class Tuning(Section):
    """One poll of the tuning job: what the wait loop decides on (``status``, ``polls``) and the best trial."""

    job_name: str
    status: TuningJobStatus
    polls: int = Field(ge=0)
    objective_metric: str
    failure_reason: str | None = None
    best_training_job: str | None = None
    best_objective: float | None = None
    training_jobs: TrainingJobCounts = TrainingJobCounts()
    objectives: ObjectiveCounts = ObjectiveCounts()
    #: The wait loop's bound: the run's poll.max_polls once per wave of parallel trials.
    max_polls: int | None = Field(default=None, ge=1)


class TrainedModel(Training):
    """A training section whose job produced a model (what "Deploy the model" needs)."""

    status: Literal["Completed"]
    model_artifact: str


class Analysis(Section):
    """Written by "Analyse the model" and each "Check the analysis" poll (``$.analysis``).

    Once Completed: the decision threshold the deployed model applies (binary; ``None`` otherwise),
    the boosting rounds the model kept, and where the full ``analysis.json`` is.
    """

    job_name: str
    status: ProcessingJobStatus
    polls: int = Field(ge=0)
    failure_reason: str | None = None
    analysis_key: str | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)
    rounds: int | None = Field(default=None, ge=0)
    billable_seconds: int | None = Field(default=None, ge=0)  #: the job's run time (what Processing bills)


class Endpoint(Section):
    """Written by "Deploy the model" and each "Check the endpoint" poll (``$.endpoint``)."""

    model_name: str
    endpoint_config_name: str
    endpoint_name: str
    status: EndpointStatus
    inference_artifact: str | None = None  #: the featurizer/decoder tarball it serves with (threshold packed in)
    polls: int = Field(ge=0)
    failure_reason: str | None = None


class EvaluationTransform(Section):
    """Written by "Start the evaluation transform" and each "Check the evaluation transform" poll.

    (``$.evaluation_transform``; only when the raw test split is over the stack's EvaluationTransformBytes.)
    """

    job_name: str
    status: TransformJobStatus
    polls: int = Field(ge=0)
    input_key: str  #: the staged test rows the job reads (JSON Lines, one request per line)
    output_key: str  #: the job's output: one JSON answer per line, in input order
    rows: int = Field(ge=0)
    failure_reason: str | None = None


class Evaluation(Section):
    """Written by "Evaluate the model" (``$.evaluation``)."""

    evaluation_key: str
    report_key: str
    headline: dict[str, Any]


class Finished(Section):
    """Written by "Finish the run" (``$.result``)."""

    run_key: str
    deleted: list[str]
    status: Literal["SUCCEEDED"]


class Failure(Section):
    """Written by a Catch or a failure Pass state (``$.failure``): Step Functions' own field names."""

    error: str = Field(alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class FailureHandled(Section):
    """Written by "Record the failure" (``$.cleanup``)."""

    run_key: str
    deleted: list[str]
    error: dict[str, Any] | None
    problems: list[str]


class RunState(Section):
    """The whole document; sections appear as the states that write them finish."""

    run_id: str
    source: SourceObject
    poll: Polling
    limits: Limits | None = None
    execution_arn: str | None = None
    preparation: PreparationJob | None = None
    prepared: Prepared | None = None
    tuning: Tuning | None = None
    training: Training | None = None
    analysis: Analysis | None = None
    endpoint: Endpoint | None = None
    evaluation_transform: EvaluationTransform | None = None
    evaluation: Evaluation | None = None
    result: Finished | None = None
    failure: Failure | None = None
    cleanup: FailureHandled | None = None


# --- what each step needs: the same document, with the sections it reads required ---------------
class PrepareInput(RunState):
    pass


class CheckPreparationJobInput(RunState):
    preparation: PreparationJob


class StartTrainingInput(RunState):
    prepared: Prepared


class StartTuningInput(RunState):
    prepared: Prepared


class CheckTuningInput(RunState):
    tuning: Tuning


class TakeBestTrialInput(RunState):
    tuning: Tuning


class CheckTrainingInput(RunState):
    training: Training


class AnalyseInput(RunState):
    prepared: Prepared
    training: TrainedModel


class CheckAnalysisInput(RunState):
    analysis: Analysis


class DeployInput(RunState):
    prepared: Prepared
    training: TrainedModel


class CheckEndpointInput(RunState):
    endpoint: Endpoint


class StartEvaluationTransformInput(RunState):
    prepared: Prepared
    endpoint: Endpoint


class CheckEvaluationTransformInput(RunState):
    evaluation_transform: EvaluationTransform


class EvaluateInput(RunState):
    prepared: Prepared
    training: TrainedModel
    endpoint: Endpoint


class FinishInput(RunState):
    prepared: Prepared
    training: TrainedModel
    endpoint: Endpoint
    evaluation: Evaluation


class FailureInput(RunState):
    """Any section may be missing: the run can fail at any state."""


StateT = TypeVar("StateT", bound=RunState)


def parse_state(event: Any, model: type[StateT]) -> StateT:
    """``event`` parsed into ``model`` (Powertools' parser); InvalidEventError names each bad path."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"the run state must be a JSON object, not {type(event).__name__}")
    try:
        return parse(event=event, model=model)
    except ValidationError as error:
        raise InvalidEventError(f"run state does not fit {model.__name__}: {_problems(error)}") from None


def _problems(error: ValidationError) -> str:
    parts = []
    for problem in error.errors(include_url=False):
        path = ".".join(str(part) for part in problem["loc"]) or "(document)"
        parts.append(f"'{path}': {problem['msg'].lower()}")
    return "; ".join(parts)

"""The scoring state: the document statemachine/scoring.asl.json passes from step to step, typed.

The same conventions as the run state (``sagedrop.pipeline.state``, whose sections ``source``,
``poll`` and ``failure`` it reuses): each section is written by one state's ``ResultPath``; a
handler parses the whole document into the input model of its step, which requires exactly the
sections the step reads, so a missing or malformed one fails with InvalidEventError naming its path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sagedrop.algorithms import Algorithm
from sagedrop.pipeline.state import Failure, Polling, Section, SourceObject, parse_state  # noqa: F401 - re-exported
from sagedrop.problem_types import ProblemType

TransformJobStatus = Literal["InProgress", "Completed", "Failed", "Stopping", "Stopped"]


class Validated(Section):
    """Written by "Check the run and the file" (``$.validated``): the run's model, as scoring needs it."""

    run_id: str
    name: str
    schema_key: str
    model_artifact: str
    inference_artifact: str
    #: the run's; the transform job runs on it only if Batch Transform offers it (``Transform.instance_type``)
    endpoint_instance_type: str
    algorithm: Algorithm = Algorithm.XGBOOST
    problem_type: ProblemType
    prediction_columns: list[str]
    columns: int = Field(ge=1)  #: fields per row of the upload (its header's)


class Staged(Section):
    """Written by "Stage the rows" (``$.staged``): the headerless input of the transform job."""

    input_prefix: str
    rows: int = Field(ge=1)
    bytes: int = Field(ge=1)


class Transform(Section):
    """Written by "Start the transform job" and each "Check the transform job" poll (``$.transform``)."""

    model_name: str
    job_name: str
    instance_type: str  #: what the job runs on: the run's endpoint type, or the fallback where it is not offered
    status: TransformJobStatus
    polls: int = Field(ge=0)
    wait_seconds: int = Field(ge=0)  #: what "Wait for the transform job" waits before the next poll
    failure_reason: str | None = None


class CompletedTransform(Transform):
    status: Literal["Completed"]


class Scores(Section):
    """Written by "Assemble the scores" (``$.scores``)."""

    scores_key: str
    rows: int = Field(ge=0)


class ScoringFinished(Section):
    """Written by "Finish the scoring" (``$.result``)."""

    status_key: str
    deleted: list[str]
    status: Literal["SUCCEEDED"]


class ScoringFailureHandled(Section):
    """Written by "Record the failure" (``$.cleanup``)."""

    status_key: str | None
    stopped: list[str]
    deleted: list[str]
    error: dict[str, Any] | None
    problems: list[str]


class ScoringState(Section):
    """The whole document; sections appear as the states that write them finish."""

    scoring_id: str
    source: SourceObject
    poll: Polling
    execution_arn: str | None = None
    validated: Validated | None = None
    staged: Staged | None = None
    transform: Transform | None = None
    scores: Scores | None = None
    result: ScoringFinished | None = None
    failure: Failure | None = None
    cleanup: ScoringFailureHandled | None = None


# --- what each step needs: the same document, with the sections it reads required ---------------
class ValidateInput(ScoringState):
    pass


class StageInput(ScoringState):
    validated: Validated


class StartTransformInput(ScoringState):
    validated: Validated
    staged: Staged


class CheckTransformInput(ScoringState):
    transform: Transform


class AssembleInput(ScoringState):
    validated: Validated
    staged: Staged
    transform: CompletedTransform


class FinishScoringInput(ScoringState):
    validated: Validated
    staged: Staged
    transform: CompletedTransform
    scores: Scores


class ScoringFailureInput(ScoringState):
    """Any section may be missing: the scoring can fail at any state."""

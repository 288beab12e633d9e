"""The map of the scoring state machine: which state runs which function folder, domain function and models.

One declaration per step, as ``sagedrop.pipeline.steps`` for the pipeline; tests/unit/scoring checks
that statemachine/scoring.asl.json, template.yaml and the handlers agree with it.
"""

from __future__ import annotations

from sagedrop.pipeline.steps import Step
from sagedrop.scoring import state

STATES: dict[str, Step] = {
    "Check the run and the file": Step(
        "validate_scoring", "sagedrop.scoring.validation:validate_scoring", state.ValidateInput, state.Validated,
        "$.validated", ("DataBucket", "ObjectStreams"),
    ),
    "Stage the rows": Step(
        "stage_scoring_input", "sagedrop.scoring.staging:stage_input", state.StageInput, state.Staged,
        "$.staged", ("DataBucket", "ObjectStreams"),
    ),
    "Start the transform job": Step(
        "start_transform", "sagedrop.scoring.transform:start_transform", state.StartTransformInput, state.Transform,
        "$.transform", ("BatchTransformGateway", "DataBucket"),
    ),
    "Check the transform job": Step(
        "check_transform", "sagedrop.scoring.transform:check_transform", state.CheckTransformInput, state.Transform,
        "$.transform", ("BatchTransformGateway",),
    ),
    "Assemble the scores": Step(
        "assemble_scores", "sagedrop.scoring.assembling:assemble_scores", state.AssembleInput, state.Scores,
        "$.scores", ("DataBucket", "ObjectStreams"),
    ),
    "Finish the scoring": Step(
        "finish_scoring", "sagedrop.scoring.finishing:finish_scoring", state.FinishScoringInput,
        state.ScoringFinished, "$.result", ("BatchTransformGateway", "DataBucket", "Notifier"),
    ),
    "Record the failure": Step(
        "handle_scoring_failure", "sagedrop.scoring.finishing:handle_scoring_failure", state.ScoringFailureInput,
        state.ScoringFailureHandled, "$.cleanup", ("BatchTransformGateway", "DataBucket", "Notifier"),
    ),
}  # fmt: skip

STEPS: tuple[Step, ...] = tuple(STATES.values())

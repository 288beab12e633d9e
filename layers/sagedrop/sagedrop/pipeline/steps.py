"""The map of the pipeline: which state runs which function folder, domain function and models.

One declaration per step. docs/CONTRACTS.md's step table is generated from it together with
statemachine/pipeline.asl.json and template.yaml (``scripts/generate_contracts.py``), and
tests/unit/pipeline/test_steps.py checks that the ASL's task states, ResultPaths and the handlers
agree with it, so a newcomer finds a state's code in one look and a rename cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagedrop.pipeline import state


@dataclass(frozen=True)
class Step:
    function: str  #: the folder under functions/ (its handler is functions/<function>/app.py)
    domain: str  #: the domain function the handler calls, as module:function
    reads: type[state.RunState]  #: the model the handler parses the run state into
    writes: type[state.Section]  #: what the step returns
    result_path: str  #: where the state machine stores it
    adapters: tuple[str, ...]  #: the boto3 adapters it is handed


STEPS: tuple[Step, ...] = (
    Step("preprocess", "sagedrop.pipeline.preparing:prepare_run", state.PrepareInput, state.Prepared,
         "$.prepared", ("DataBucket",)),
    Step("start_preparation_job", "sagedrop.pipeline.preparation_job:start_preparation_job", state.PrepareInput,
         state.PreparationJob, "$.preparation", ("SageMakerGateway", "DataBucket")),
    Step("check_preparation_job", "sagedrop.pipeline.preparation_job:check_preparation_job",
         state.CheckPreparationJobInput, state.PreparationJob, "$.preparation", ("SageMakerGateway", "DataBucket")),
    Step("start_tuning", "sagedrop.pipeline.tuning:start_tuning", state.StartTuningInput, state.Tuning,
         "$.tuning", ("SageMakerGateway",)),
    Step("check_tuning", "sagedrop.pipeline.tuning:check_tuning", state.CheckTuningInput, state.Tuning,
         "$.tuning", ("SageMakerGateway",)),
    Step("take_best_trial", "sagedrop.pipeline.tuning:take_best_trial", state.TakeBestTrialInput, state.Training,
         "$.training", ("SageMakerGateway", "DataBucket")),
    Step("start_training", "sagedrop.pipeline.training:start_training", state.StartTrainingInput, state.Training,
         "$.training", ("SageMakerGateway",)),
    Step("check_training", "sagedrop.pipeline.training:check_training", state.CheckTrainingInput, state.Training,
         "$.training", ("SageMakerGateway",)),
    Step("start_analysis", "sagedrop.pipeline.analysing:start_analysis", state.AnalyseInput, state.Analysis,
         "$.analysis", ("SageMakerGateway", "DataBucket")),
    Step("check_analysis", "sagedrop.pipeline.analysing:check_analysis", state.CheckAnalysisInput, state.Analysis,
         "$.analysis", ("SageMakerGateway", "DataBucket")),
    Step("deploy_model", "sagedrop.pipeline.deployment:deploy_model", state.DeployInput, state.Endpoint,
         "$.endpoint", ("SageMakerGateway", "DataBucket")),
    Step("check_endpoint", "sagedrop.pipeline.deployment:check_endpoint", state.CheckEndpointInput, state.Endpoint,
         "$.endpoint", ("SageMakerGateway",)),
    Step("start_evaluation_transform", "sagedrop.pipeline.evaluation_transform:start_evaluation_transform",
         state.StartEvaluationTransformInput, state.EvaluationTransform, "$.evaluation_transform",
         ("BatchTransformGateway", "DataBucket", "ObjectStreams")),
    Step("check_evaluation_transform", "sagedrop.pipeline.evaluation_transform:check_evaluation_transform",
         state.CheckEvaluationTransformInput, state.EvaluationTransform, "$.evaluation_transform",
         ("BatchTransformGateway",)),
    Step("evaluate_model", "sagedrop.pipeline.evaluating:evaluate_run", state.EvaluateInput, state.Evaluation,
         "$.evaluation", ("DataBucket", "ObjectStreams", "EndpointInvoker")),
    Step("finish_run", "sagedrop.pipeline.finishing:finish_run", state.FinishInput, state.Finished,
         "$.result", ("SageMakerGateway", "DataBucket", "Notifier", "Executions")),
    Step("handle_failure", "sagedrop.pipeline.finishing:handle_failure", state.FailureInput, state.FailureHandled,
         "$.cleanup", ("SageMakerGateway", "DataBucket", "Notifier", "Executions")),
)  # fmt: skip


def substitution_key(function: str) -> str:
    """``preprocess`` → ``PreprocessFunctionArn``: the ASL placeholder template.yaml fills in."""
    return "".join(part.capitalize() for part in function.split("_")) + "FunctionArn"

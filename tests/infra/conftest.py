"""Shared helpers of the infrastructure tests: paths, the template loaded as data, the side venvs,
and the walk over IAM statements that several template tests use."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagedrop_local.stack import load_template as _load_cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "pipeline.asl.json"
# aws-sam-cli, the SageMaker SDK and checkov each live in their own virtualenv: their pins clash
# with ours (the Makefile creates them).
SAM_VENV = ROOT / ".venv-sam"
SDK_VENV = ROOT / ".venv-sdk"
CHECKOV_VENV = ROOT / ".venv-checkov"

FUNCTIONS = {  # docs/CONTRACTS.md: folder -> logical id
    "start_pipeline": "StartPipelineFunction",
    "preprocess": "PreprocessFunction",
    "start_preparation_job": "StartPreparationJobFunction",
    "check_preparation_job": "CheckPreparationJobFunction",
    "start_tuning": "StartTuningFunction",
    "check_tuning": "CheckTuningFunction",
    "take_best_trial": "TakeBestTrialFunction",
    "start_training": "StartTrainingFunction",
    "check_training": "CheckTrainingFunction",
    "start_analysis": "StartAnalysisFunction",
    "check_analysis": "CheckAnalysisFunction",
    "deploy_model": "DeployModelFunction",
    "check_endpoint": "CheckEndpointFunction",
    "start_evaluation_transform": "StartEvaluationTransformFunction",
    "check_evaluation_transform": "CheckEvaluationTransformFunction",
    "evaluate_model": "EvaluateModelFunction",
    "finish_run": "FinishRunFunction",
    "handle_failure": "HandleFailureFunction",
    "cleanup_endpoints": "CleanupEndpointsFunction",
    "record_abandoned_run": "RecordAbandonedRunFunction",
    "validate_scoring": "ValidateScoringFunction",
    "stage_scoring_input": "StageScoringInputFunction",
    "start_transform": "StartTransformFunction",
    "check_transform": "CheckTransformFunction",
    "assemble_scores": "AssembleScoresFunction",
    "finish_scoring": "FinishScoringFunction",
    "handle_scoring_failure": "HandleScoringFailureFunction",
    "record_abandoned_scoring": "RecordAbandonedScoringFunction",
}
#: Each state machine and its ASL file.
STATE_MACHINES = {
    "PipelineStateMachine": ROOT / "statemachine" / "pipeline.asl.json",
    "ScoringStateMachine": ROOT / "statemachine" / "scoring.asl.json",
}
#: Functions no state of the state machine invokes: EventBridge rules and the schedule do.
EVENT_TARGETS = {
    "StartPipelineFunction",
    "CleanupEndpointsFunction",
    "RecordAbandonedRunFunction",
    "RecordAbandonedScoringFunction",
}
#: Each state machine's backstop: the function its "Execution Status Change" rule hands its unsuccessful ends to.
BACKSTOPS = {
    "PipelineStateMachine": ("RecordAbandonedRunFunction", "RunEnded", "RunEndedEventsDeadLetterQueue"),
    "ScoringStateMachine": ("RecordAbandonedScoringFunction", "ScoringEnded", "ScoringEndedEventsDeadLetterQueue"),
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return _load_cfn_yaml(path)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(statement: dict[str, Any]) -> list[str]:
    return as_list(statement.get("Action", []))


def role_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every inline statement of every IAM role."""
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                yield logical_id, statement


def side_python(venv: Path) -> Path | None:
    python = venv / "bin" / "python"
    return python if python.exists() else None


def aws_offline_env() -> dict[str, str]:
    """Environment for AWS tools run offline: a region, dummy credentials, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        SAM_CLI_TELEMETRY="0",
        SAM_CLI_CONTAINER_CONNECTION_TIMEOUT="1",
    )
    return env


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    """template.yaml after the SAM transform (policy templates and event sources expanded)."""
    python = side_python(SAM_VENV)
    if python is None:
        pytest.skip(
            f"aws-sam-cli not installed: python3 -m venv {SAM_VENV.name} && {SAM_VENV.name}/bin/pip install aws-sam-cli"
        )
    result = subprocess.run(
        [str(python), str(Path(__file__).with_name("sam_translate.py")), str(TEMPLATE)],
        cwd=ROOT,
        env=aws_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)

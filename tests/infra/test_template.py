"""template.yaml: linters, and the security and wiring properties the issue asks for.

Properties are checked on the template as written and, for IAM, on the CloudFormation the SAM
transform makes of it (policy templates such as SNSPublishMessagePolicy expanded), so a policy
template can never hide a wildcard.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    BACKSTOPS,
    EVENT_TARGETS,
    FUNCTIONS,
    ROOT,
    SAM_VENV,
    STATE_MACHINES,
    TEMPLATE,
    actions,
    as_list,
    aws_offline_env,
    role_statements,
)

#: The pipeline's tasks (the scoring state machine has its own, see _tasks).
STATE_MACHINE_TASKS = {
    "PreprocessFunction",
    "StartPreparationJobFunction",
    "CheckPreparationJobFunction",
    "StartTuningFunction",
    "CheckTuningFunction",
    "TakeBestTrialFunction",
    "StartTrainingFunction",
    "CheckTrainingFunction",
    "StartAnalysisFunction",
    "CheckAnalysisFunction",
    "DeployModelFunction",
    "CheckEndpointFunction",
    "StartEvaluationTransformFunction",
    "CheckEvaluationTransformFunction",
    "EvaluateModelFunction",
    "FinishRunFunction",
    "HandleFailureFunction",
}

GLOBAL_ENVIRONMENT = {
    "DATA_BUCKET",
    "NOTIFICATION_TOPIC_ARN",
    "SAGEMAKER_ROLE_ARN",
    "STACK_NAME",
    "XGBOOST_VERSION",
    "TRAINING_INSTANCE_TYPE",
    "ENDPOINT_INSTANCE_TYPE",
    "DEFAULT_HYPERPARAMETERS",
    "MAX_TRAINING_SECONDS",
    "USE_SPOT_TRAINING",
    "KEEP_ENDPOINT",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
STARTER_ENVIRONMENT = {
    "STATE_MACHINE_ARN",
    "SCORING_STATE_MACHINE_ARN",
    "POLL_INTERVAL_SECONDS",
    "MAX_POLLS",
    "MAX_UPLOAD_BYTES",
    "LAMBDA_PREPARE_MAX_BYTES",
    "EVALUATION_TRANSFORM_BYTES",
}
CLEANUP_ENVIRONMENT = {
    "CLEANUP_LOOKBACK_HOURS",
    "CLEANUP_GRACE_HOURS",
    "CLEANUP_MAX_DELETIONS",
    "CLEANUP_INCLUDE_SERVERLESS",
    "CLEANUP_OPT_IN_TAG",
    "LOG_GROUP_MAX_IDLE_DAYS",
    "LOG_GROUP_RETENTION_DAYS",
}

# Actions AWS authorises only on Resource "*" (no resource-level permissions), each one justified
# by a comment in template.yaml. Anything else on "*" is a finding.
STAR_RESOURCE_ALLOWED = {
    "sagemaker:ListEndpoints",  # cleanup: list actions have no resource ARN
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListModels",
    "sagemaker:ListTrainingJobs",  # start training (the stack's limit), failure recording (the run's jobs)
    "cloudwatch:GetMetricData",  # cleanup: Invocations metrics of the endpoints
    "ecr:GetAuthorizationToken",  # SageMaker role: registry login
    "cloudwatch:PutMetricData",  # SageMaker role: narrowed by a cloudwatch:namespace condition
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",  # state machine: vended-log delivery to its log group
}


# --- helpers ------------------------------------------------------------------------------------
def _function_statements(resources: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in resources[logical_id]["Properties"].get("Policies", []):
        if "Statement" in policy:
            statements.extend(as_list(policy["Statement"]))
    return statements


def _functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}


# --- linters ------------------------------------------------------------------------------------
def test_cfn_lint_reports_nothing():
    cfn_lint = shutil.which("cfn-lint") or str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run(
        [cfn_lint, str(TEMPLATE)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_sam_validate_lint_reports_nothing():
    sam = SAM_VENV / "bin" / "sam"
    if not sam.exists():
        pytest.skip(
            f"aws-sam-cli not installed: python3 -m venv {SAM_VENV.name} && {SAM_VENV.name}/bin/pip install aws-sam-cli"
        )
    # Offline is fine: validation translates locally; region and credentials are dummies.
    result = subprocess.run(
        [str(sam), "validate", "--lint", "--template-file", str(TEMPLATE)],
        cwd=ROOT,
        env=aws_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert output.splitlines()[-1].endswith("is a valid SAM Template"), output
    assert "E" not in {line[:1] for line in output.splitlines() if line.startswith("[")}, output


# --- data bucket --------------------------------------------------------------------------------
def test_bucket_is_versioned_encrypted_private_and_owner_enforced(resources):
    bucket = resources["DataBucket"]["Properties"]
    assert "BucketName" not in bucket, "no hard-coded bucket name"
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms", "aws:kms:dsse"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_bucket_sends_events_to_eventbridge(resources):
    notification = resources["DataBucket"]["Properties"]["NotificationConfiguration"]
    assert notification["EventBridgeConfiguration"]["EventBridgeEnabled"] is True


def test_bucket_policy_denies_requests_without_tls(resources):
    policy = resources["DataBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "DataBucket"}
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Principal"] == "*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and {"Fn::GetAtt": ["DataBucket", "Arn"]} in s["Resource"]
        and {"Fn::Sub": "${DataBucket.Arn}/*"} in s["Resource"]
        for s in denies
    )


def test_lifecycle_expires_run_artifacts_cleanup_reports_and_old_versions(resources):
    rules = resources["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    by_prefix = {r.get("Prefix"): r for r in rules if r["Status"] == "Enabled"}
    for prefix in ("runs/", "cleanup/"):
        assert by_prefix[prefix]["ExpirationInDays"] == {"Ref": "ArtifactRetentionDays"}
    assert any("NoncurrentVersionExpiration" in r for r in rules)
    assert "incoming/" not in by_prefix, "uploads are never deleted by the stack"


# --- trigger ------------------------------------------------------------------------------------
def test_upload_rule_matches_csv_under_incoming_in_the_data_bucket(resources):
    event = resources["StartPipelineFunction"]["Properties"]["Events"]["CsvUploaded"]
    assert event["Type"] == "EventBridgeRule"
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "incoming/*.csv"}]


def test_upload_rule_retries_and_dead_letters_to_an_encrypted_queue(resources):
    properties = resources["StartPipelineFunction"]["Properties"]["Events"]["CsvUploaded"]["Properties"]
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["UploadEventsDeadLetterQueue", "Arn"]}}
    assert resources["UploadEventsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["SagedropKey", "Arn"]
    }
    # EventBridge may only send to the DLQ on behalf of this very rule.
    [allow] = [
        s
        for s in resources["UploadEventsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    rule_arns = [arn["Fn::Sub"] for arn in as_list(allow["Condition"]["ArnEquals"]["aws:SourceArn"])]
    assert any(arn.endswith(":rule/" + properties["RuleName"]["Fn::Sub"]) for arn in rule_arns), rule_arns


# --- functions and layer ------------------------------------------------------------------------
def test_every_function_exists_with_its_folder(resources):
    functions = _functions(resources)
    assert set(functions) == set(FUNCTIONS.values())
    for folder, logical_id in FUNCTIONS.items():
        code_uri = functions[logical_id]["Properties"]["CodeUri"]
        assert code_uri == f"functions/{folder}/"
        path = ROOT / code_uri
        assert (path / "__init__.py").is_file(), path
        assert (path / "requirements.txt").is_file(), path


@pytest.mark.parametrize("folder", sorted(FUNCTIONS))
def test_handler_module_defines_lambda_handler(template, folder):
    handler = template["Globals"]["Function"]["Handler"]
    module, _, name = handler.partition(".")
    source = ROOT / "functions" / folder / f"{module}.py"
    if not source.exists():
        pytest.skip(f"{source.relative_to(ROOT)} not written yet")
    assert re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.MULTILINE)


def test_globals_runtime_tracing_layer_and_environment(template):
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "SagedropLayer"}]
    assert set(function["Environment"]["Variables"]) == GLOBAL_ENVIRONMENT


def test_function_specific_environment(resources):
    def variables(logical_id: str) -> set[str]:
        return set(resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {}))

    assert variables("StartPipelineFunction") == STARTER_ENVIRONMENT
    assert variables("CleanupEndpointsFunction") == CLEANUP_ENVIRONMENT
    assert variables("StartTrainingFunction") == {"MAX_CONCURRENT_TRAINING_JOBS"}
    assert variables("FinishRunFunction") == {"LAMBDA_MEMORY_MB_BY_STATE"}
    assert variables("StartTuningFunction") == {"MAX_CONCURRENT_TRAINING_JOBS"}
    for logical_id in set(FUNCTIONS.values()) - {
        "StartPipelineFunction",
        "CleanupEndpointsFunction",
        "StartTrainingFunction",
        "FinishRunFunction",
        "StartTuningFunction",
    }:
        assert variables(logical_id) == set(), logical_id


def test_layer_is_built_by_sam_from_the_sagedrop_folder(template, resources):
    layer = resources["SagedropLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/sagedrop/"
    assert layer["Metadata"]["BuildMethod"] == template["Globals"]["Function"]["Runtime"]
    assert layer["Properties"]["CompatibleArchitectures"] == template["Globals"]["Function"]["Architectures"]
    assert layer["Metadata"]["BuildArchitecture"] == template["Globals"]["Function"]["Architectures"][0]
    assert (ROOT / "layers/sagedrop/requirements.txt").is_file()
    assert (ROOT / "layers/sagedrop/sagedrop/__init__.py").is_file()


def test_cleanup_runs_nightly_on_eventbridge_scheduler(resources):
    event = resources["CleanupEndpointsFunction"]["Properties"]["Events"]["Nightly"]
    assert event["Type"] == "ScheduleV2"
    properties = event["Properties"]
    assert properties["ScheduleExpression"] == {"Ref": "CleanupSchedule"}
    assert properties["ScheduleExpressionTimezone"] == {"Ref": "CleanupTimezone"}
    assert json.loads(properties["Input"]) == {"dry_run": False}


# --- state machines -----------------------------------------------------------------------------
def _tasks(resources: dict[str, Any], machine: str) -> set[str]:
    """The functions a state machine invokes, by its DefinitionSubstitutions."""
    substitutions = resources[machine]["Properties"]["DefinitionSubstitutions"]
    return {key.removesuffix("Arn") for key in substitutions}


def test_every_function_is_a_task_of_one_state_machine_or_an_event_target(resources):
    tasks = [_tasks(resources, machine) for machine in STATE_MACHINES]
    assert set.union(*tasks) | EVENT_TARGETS == set(FUNCTIONS.values())
    assert sum(len(t) for t in tasks) == len(set.union(*tasks)), "a function is a task of one state machine"
    assert not set.union(*tasks) & EVENT_TARGETS


@pytest.mark.parametrize("machine_id", sorted(STATE_MACHINES))
def test_state_machine_is_standard_logged_and_traced(resources, machine_id):
    machine = resources[machine_id]["Properties"]
    assert machine["Type"] == "STANDARD"
    assert machine["Tracing"] == {"Enabled": True}
    logging = machine["Logging"]
    assert logging["Level"] in {"ALL", "ERROR"}
    assert logging["IncludeExecutionData"] is True
    [destination] = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group_name = resources[log_group_id]["Properties"]["LogGroupName"]["Fn::Sub"]
    assert log_group_name.startswith("/aws/vendedlogs/states/")


def test_every_definition_substitution_names_an_existing_function(resources):
    substitutions = resources["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    functions = _functions(resources)
    assert {key.removesuffix("Arn") for key in substitutions} == STATE_MACHINE_TASKS
    substitutions = {
        key: value
        for machine in STATE_MACHINES
        for key, value in resources[machine]["Properties"]["DefinitionSubstitutions"].items()
    }
    for key, value in substitutions.items():
        assert value == {"Fn::GetAtt": [key.removesuffix("Arn"), "Arn"]}
        assert key.removesuffix("Arn") in functions


@pytest.mark.parametrize("machine_id", sorted(STATE_MACHINES))
def test_every_asl_placeholder_has_a_substitution(resources, machine_id):
    substitutions = resources[machine_id]["Properties"]["DefinitionSubstitutions"]
    assert resources[machine_id]["Properties"]["DefinitionUri"] == str(STATE_MACHINES[machine_id].relative_to(ROOT))
    placeholders = set(re.findall(r"\$\{([^}]+)\}", STATE_MACHINES[machine_id].read_text(encoding="utf-8")))
    assert placeholders, "the ASL references no function"
    assert placeholders <= set(substitutions), placeholders - set(substitutions)


@pytest.mark.parametrize("machine_id", sorted(STATE_MACHINES))
def test_state_machine_may_invoke_exactly_its_task_functions(resources, machine_id):
    policies = resources[machine_id]["Properties"]["Policies"]
    invoked = {p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in policies if "LambdaInvokePolicy" in p}
    assert invoked == _tasks(resources, machine_id)


# --- IAM ----------------------------------------------------------------------------------------
def test_no_allow_statement_uses_a_wildcard_action(translated):
    for role, statement in role_statements(translated["Resources"]):
        if statement["Effect"] != "Allow":
            continue
        for action in actions(statement):
            assert "*" not in action, (role, action)


def test_resource_star_only_for_actions_without_resource_level_permissions(translated):
    for role, statement in role_statements(translated["Resources"]):
        if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"]):
            assert set(actions(statement)) <= STAR_RESOURCE_ALLOWED, (role, statement)


def test_pass_role_only_on_the_sagemaker_role_and_only_to_sagemaker(translated):
    passing = []
    for role, statement in role_statements(translated["Resources"]):
        if "iam:PassRole" in actions(statement):
            passing.append(role)
            assert actions(statement) == ["iam:PassRole"], (role, statement)
            assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}, role
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, role
    assert sorted(passing) == [
        "DeployModelFunctionRole",
        "StartAnalysisFunctionRole",
        "StartPreparationJobFunctionRole",
        "StartTrainingFunctionRole",
        "StartTransformFunctionRole",
        "StartTuningFunctionRole",
    ]


def test_sagemaker_actions_are_scoped_to_this_account_and_region(resources):
    for logical_id in FUNCTIONS.values():
        for statement in _function_statements(resources, logical_id):
            if not any(a.startswith("sagemaker:") for a in actions(statement)):
                continue
            if statement["Resource"] == "*":
                assert set(actions(statement)) <= STAR_RESOURCE_ALLOWED, (logical_id, statement)
                continue  # the justified Resource "*" statement of the cleanup
            for resource in as_list(statement["Resource"]):
                assert resource["Fn::Sub"].startswith(
                    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
                ), (logical_id, resource)


def test_only_the_starter_starts_executions_and_only_of_the_stacks_state_machines(translated):
    started = []
    for role, statement in role_statements(translated["Resources"]):
        if "states:StartExecution" in actions(statement):
            assert role == "StartPipelineFunctionRole"
            [resource] = as_list(statement["Resource"])
            started.append(resource["Fn::Sub"][1]["stateMachineName"])
    assert sorted(started, key=str) == sorted(
        ({"Fn::GetAtt": [machine, "Name"]} for machine in STATE_MACHINES), key=str
    )


def test_execution_history_readers_are_limited_to_one_state_machines_executions(translated, resources):
    pipeline = resources["PipelineStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    scoring = resources["ScoringStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    readers = {}
    for role, statement in role_statements(translated["Resources"]):
        if "states:GetExecutionHistory" in actions(statement):
            readers[role] = statement["Resource"]["Fn::Sub"].rsplit(":execution:", 1)[1]
    assert readers == {
        "FinishRunFunctionRole": f"{pipeline}:*",
        "HandleFailureFunctionRole": f"{pipeline}:*",
        "RecordAbandonedRunFunctionRole": f"{pipeline}:*",
        "RecordAbandonedScoringFunctionRole": f"{scoring}:*",
    }


def test_sagemaker_role_is_for_sagemaker_and_touches_only_the_data_bucket(resources):
    role = resources["SageMakerExecutionRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in actions(s))]
    assert s3
    for statement in s3:
        for resource in as_list(statement["Resource"]):
            assert resource in ({"Fn::GetAtt": ["DataBucket", "Arn"]}, {"Fn::Sub": "${DataBucket.Arn}/*"})
    [metrics] = [s for s in statements if "cloudwatch:PutMetricData" in actions(s)]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}
    [logs] = [s for s in statements if "logs:PutLogEvents" in actions(s)]
    assert all("log-group:/aws/sagemaker/" in r["Fn::Sub"] for r in logs["Resource"])


def test_notifications_are_published_only_by_finish_failure_and_cleanup(translated):
    publishers = [role for role, s in role_statements(translated["Resources"]) if "sns:Publish" in actions(s)]
    assert sorted(publishers) == [
        "CleanupEndpointsFunctionRole",
        "FinishRunFunctionRole",
        "FinishScoringFunctionRole",
        "HandleFailureFunctionRole",
        "HandleScoringFailureFunctionRole",
        "RecordAbandonedRunFunctionRole",
        "RecordAbandonedScoringFunctionRole",
    ]


# --- notifications, parameters, outputs ---------------------------------------------------------
def test_topic_is_encrypted_and_email_subscription_is_optional(template, resources):
    assert resources["RunNotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["SagedropKey", "Arn"]}
    subscription = resources["RunNotificationEmailSubscription"]
    assert subscription["Condition"] == "HasNotificationEmail"
    assert template["Parameters"]["NotificationEmail"]["Default"] == ""
    assert template["Conditions"]["HasNotificationEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]
    }


def test_parameter_defaults(template):
    defaults = {name: p.get("Default") for name, p in template["Parameters"].items()}
    assert defaults == {
        "TrainingInstanceType": "ml.m5.xlarge",
        "EndpointInstanceType": "ml.m5.large",
        "XGBoostVersion": "3.0-5",
        "DefaultHyperparameters": json.dumps(
            {
                "max_depth": "5",
                "eta": "0.05",
                "subsample": "0.8",
                "colsample_bytree": "0.8",
                "num_round": "2000",
                "early_stopping_rounds": "50",
            },
            separators=(",", ":"),
        ),
        "PollIntervalSeconds": 60,
        "MaxPolls": 60,
        "MaxUploadBytes": 2147483648,
        "LambdaPrepareMaxBytes": 1572864000,
        "EvaluationTransformBytes": 104857600,
        "MaxTrainingSeconds": 3600,
        "MaxConcurrentTrainingJobs": 0,
        "UseSpotTraining": "false",
        "KeepEndpoint": "false",
        "ArtifactRetentionDays": 30,
        "AccessLogRetentionDays": 365,
        "NotificationEmail": "",
        "CleanupSchedule": "cron(0 2 * * ? *)",
        "CleanupTimezone": "UTC",
        "CleanupLookbackHours": 24,
        "CleanupGraceHours": 24,
        "CleanupMaxDeletions": 10,
        "CleanupIncludeServerless": "false",
        "CleanupOptInTag": "",
        "LogGroupMaxIdleDays": 30,
        "LogGroupRetentionDays": 30,
        "LogLevel": "INFO",
    }


def test_default_hyperparameters_are_a_json_object_of_strings(template):
    hyperparameters = json.loads(template["Parameters"]["DefaultHyperparameters"]["Default"])
    assert all(isinstance(v, str) for v in hyperparameters.values())
    assert "num_round" in hyperparameters


def test_outputs(template):
    assert {
        "DataBucketName",
        "PipelineStateMachineArn",
        "RunNotificationTopicArn",
        "SageMakerExecutionRoleArn",
    } <= set(template["Outputs"])


def test_samconfig_deploys_with_iam_capability_and_a_changeset():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "sagedrop"
    deploy = default["deploy"]["parameters"]
    assert deploy["stack_name"] == "sagedrop"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    assert default["validate"]["parameters"]["lint"] is True


# --- the backstops and the training job limit ---------------------------------------------------
@pytest.mark.parametrize("machine", sorted(BACKSTOPS))
def test_the_backstop_rule_sends_this_machines_unsuccessful_ends_to_its_function(resources, machine):
    function, event_name, _ = BACKSTOPS[machine]
    event = resources[function]["Properties"]["Events"][event_name]
    assert event["Type"] == "EventBridgeRule"
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine}]  # this machine only
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert "SUCCEEDED" not in pattern["detail"]["status"] and "RUNNING" not in pattern["detail"]["status"]


def test_each_state_machine_has_exactly_one_backstop_rule(resources):
    watched = {}
    for logical_id, resource in _functions(resources).items():
        for source in resource["Properties"].get("Events", {}).values():
            pattern = source.get("Properties", {}).get("Pattern", {})
            if pattern.get("source") == ["aws.states"]:
                for machine in pattern["detail"]["stateMachineArn"]:
                    watched.setdefault(machine["Ref"], []).append(logical_id)
    assert watched == {machine: [function] for machine, (function, _, _) in BACKSTOPS.items()}


@pytest.mark.parametrize("machine", sorted(BACKSTOPS))
def test_the_backstop_is_no_state_and_invoked_by_nothing_but_its_rule(resources, machine):
    function = BACKSTOPS[machine][0]
    folder = resources[function]["Properties"]["CodeUri"].removeprefix("functions/").strip("/")
    for other in STATE_MACHINES:
        assert function not in _tasks(resources, other)
        assert folder not in STATE_MACHINES[other].read_text(encoding="utf-8")


@pytest.mark.parametrize("machine", sorted(BACKSTOPS))
def test_events_the_backstop_failed_on_are_kept_in_an_encrypted_queue(resources, machine):
    function, event_name, queue = BACKSTOPS[machine]
    properties = resources[function]["Properties"]
    queue_arn = {"Fn::GetAtt": [queue, "Arn"]}
    assert properties["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue_arn}
    rule = properties["Events"][event_name]["Properties"]
    assert rule["DeadLetterConfig"] == {"Arn": queue_arn}
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert resources[queue]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["SagedropKey", "Arn"]}
    [allow] = [
        s for s in resources[f"{queue}Policy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(":rule/" + rule["RuleName"]["Fn::Sub"])


def test_the_backstop_stops_only_this_stacks_training_jobs_and_touches_only_run_records(resources):
    statements = _function_statements(resources, "RecordAbandonedRunFunction")
    [stop] = [s for s in statements if "sagemaker:StopTrainingJob" in actions(s)]
    assert stop["Condition"] == {"StringEquals": {"aws:ResourceTag/sagedrop:stack": {"Ref": "AWS::StackName"}}}
    s3 = [s for s in statements if any(a.startswith("s3:") and a != "s3:ListBucket" for a in actions(s))]
    assert [s["Resource"] for s in s3] == [{"Fn::Sub": "${DataBucket.Arn}/runs/*"}]
    states = [s for s in statements if any(a.startswith("states:") for a in actions(s))]
    assert {a for s in states for a in actions(s)} == {"states:DescribeExecution", "states:GetExecutionHistory"}


def test_the_scoring_backstop_touches_only_scoring_executions_transform_jobs_models_and_status(resources):
    statements = _function_statements(resources, "RecordAbandonedScoringFunction")
    granted = {a for s in statements for a in actions(s)}
    assert granted == {
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
        "sagemaker:DeleteModel",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    }
    [stop] = [s for s in statements if "sagemaker:StopTransformJob" in actions(s)]
    assert stop["Condition"] == {"StringEquals": {"aws:ResourceTag/sagedrop:stack": {"Ref": "AWS::StackName"}}}
    [objects] = [s for s in statements if "s3:PutObject" in actions(s)]
    assert objects["Resource"] == {"Fn::Sub": "${DataBucket.Arn}/runs/*/scoring/*/status.json"}
    [states] = [s for s in statements if "states:GetExecutionHistory" in actions(s)]
    machine_name = resources["ScoringStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    assert states["Resource"]["Fn::Sub"].endswith(f":execution:{machine_name}:*")
    assert all(s["Resource"] != "*" for s in statements)


def test_the_training_job_limit_reaches_start_training(template, resources):
    parameter = template["Parameters"]["MaxConcurrentTrainingJobs"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    variables = resources["StartTrainingFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MAX_CONCURRENT_TRAINING_JOBS"] == {"Ref": "MaxConcurrentTrainingJobs"}
    listed = [s for s in _function_statements(resources, "StartTrainingFunction") if "sagemaker:ListTags" in actions(s)]
    assert listed, "the limit is counted by the stack tag of each InProgress job"


def test_the_finish_functions_memory_map_matches_each_task_states_function(template):
    from sagedrop.pipeline.costing import LAMBDA_MEMORY_VARIABLE, lambda_memory_from_environ

    resources = template["Resources"]
    default_memory = template["Globals"]["Function"]["MemorySize"]
    substitutions = resources["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    expected = {}
    for name, state in json.loads(STATE_MACHINES["PipelineStateMachine"].read_text())["States"].items():
        if state["Type"] == "Task":
            logical_id = substitutions[state["Resource"].strip("${}")]["Fn::GetAtt"][0]
            expected[name] = resources[logical_id]["Properties"].get("MemorySize", default_memory)
    variables = resources["FinishRunFunction"]["Properties"]["Environment"]["Variables"]
    assert lambda_memory_from_environ(variables) == expected
    assert LAMBDA_MEMORY_VARIABLE in variables


def test_the_evaluation_transform_size_defaults_to_the_limit_the_code_declares(template, resources):
    from sagedrop.limits import EVALUATION_TRANSFORM_BYTES
    from sagedrop.settings import StarterSettings

    assert template["Parameters"]["EvaluationTransformBytes"]["Default"] == EVALUATION_TRANSFORM_BYTES
    starter = resources["StartPipelineFunction"]["Properties"]["Environment"]["Variables"]
    assert starter["EVALUATION_TRANSFORM_BYTES"] == {"Ref": "EvaluationTransformBytes"}
    # unset (a starter deployed before the parameter): the same limit
    assert StarterSettings.from_environ({"STATE_MACHINE_ARN": "arn"}).evaluation_transform_bytes == (
        EVALUATION_TRANSFORM_BYTES
    )

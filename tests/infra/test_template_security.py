"""template.yaml as a security reviewer reads it: checkov, the stack's key, logs and access logs.

checkov runs from its own virtualenv (`.venv-checkov`, made by `make setup` and `make validate`)
and must report no failed check; each check it skips carries its reason in the resource's
Metadata. The other tests pin what makes those checks pass: what is encrypted with the key, who
may use the key and for what, and where each function logs.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from typing import Any

import pytest

from .conftest import CHECKOV_VENV, FUNCTIONS, ROOT, TEMPLATE, actions, as_list, aws_offline_env, role_statements

KEY_ARN = {"Fn::GetAtt": ["SagedropKey", "Arn"]}

# The kinds of check the template may skip, each justified beside the resource. A new kind of skip
# is a decision for a reviewer, not a way to get CI green: it is added here on purpose.
ALLOWED_SKIPS = {
    "CKV_AWS_117",  # Lambda outside a VPC: the functions reach only AWS APIs
    "CKV_AWS_115",  # no reserved concurrency: would not deploy on accounts with a low quota
    "CKV_AWS_116",  # no Lambda DLQ: synchronous Task invocations, and the constant nightly input
    "CKV_AWS_18",  # the access-log bucket does not log into itself
}
# What checkov reports for a skip that has no comment.
NO_COMMENT = {"", "No comment provided"}
# The longest stack name docs/deploy.md promises: function names are "<stack>-<suffix>", at most 64.
MAX_STACK_NAME = 46
LAMBDA_NAME_LIMIT = 64


# --- checkov ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        pytest.skip(f"checkov not installed: make {CHECKOV_VENV.name}/.ready")
    # --skip-download: no Prisma Cloud look-ups, so the scan needs no network.
    command = [str(checkov), "-f", str(TEMPLATE), "--framework", "cloudformation", "--compact", "--skip-download"]
    result = subprocess.run(
        [*command, "--output", "json"],
        cwd=ROOT,
        env=aws_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1 = failed checks, reported below
    report = json.loads(result.stdout)
    assert isinstance(report, dict) and report["check_type"] == "cloudformation", result.stdout[:500]
    return report


def test_checkov_reports_no_failed_check(checkov_report):
    summary = checkov_report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert (summary["failed"], failed) == (0, [])
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0


def test_every_checkov_skip_is_an_allowed_kind_with_a_reason(checkov_report):
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the template documents its skips; none found means checkov no longer reads them"
    for check in skipped:
        where = f"{check['check_id']} {check['resource']}"
        assert check["check_id"] in ALLOWED_SKIPS, where
        comment = check["check_result"].get("suppress_comment", "").strip()
        assert comment not in NO_COMMENT, f"{where}: skip without a reason"


def test_every_skip_in_the_template_says_why(resources):
    """Checked on the template itself too, so it holds where checkov is not installed."""
    skips = [
        (logical_id, skip)
        for logical_id, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert skip["id"] in ALLOWED_SKIPS, (logical_id, skip)
        # A reason is a sentence or two, not a placeholder.
        assert len(skip.get("comment", "").split()) >= 8, (logical_id, skip)


def test_the_asynchronously_invoked_starter_has_a_dead_letter_queue_not_a_skip(checkov_report):
    def results(kind: str) -> set[tuple[str, str]]:
        return {(c["check_id"], c["resource"]) for c in checkov_report["results"][kind]}

    # the EventBridge targets
    for function in ("StartPipelineFunction", "RecordAbandonedRunFunction", "RecordAbandonedScoringFunction"):
        dlq = ("CKV_AWS_116", f"AWS::Serverless::Function.{function}")
        assert dlq in results("passed_checks")
        assert dlq not in results("skipped_checks")


# --- the stack's key ----------------------------------------------------------------------------
def _key_statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in resources["SagedropKey"]["Properties"]["KeyPolicy"]["Statement"]}


def test_key_is_customer_managed_rotated_and_its_policy_has_no_wildcard(resources):
    key = resources["SagedropKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    for sid, statement in _key_statements(resources).items():
        assert statement["Effect"] == "Allow", sid
        assert statement["Principal"] != "*" and "*" not in as_list(statement["Principal"].get("AWS", [])), sid
        assert all("*" not in action for action in actions(statement)), sid
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), f"{sid}: a service may use the key only for this stack"


def test_key_policy_covers_every_log_group_of_the_stack_and_nothing_wider(resources):
    [logs] = [s for s in _key_statements(resources).values() if "logs." in str(s["Principal"].get("Service"))]
    arns = [value["Fn::Sub"] for value in logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]]
    prefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    assert all(arn.startswith(prefix) and "${AWS::StackName}" in arn for arn in arns), arns
    patterns = [arn.removeprefix(prefix) for arn in arns]
    log_groups = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"}
    for logical_id, properties in log_groups.items():
        name = properties["LogGroupName"]["Fn::Sub"]
        # A log group the key policy does not cover fails to create with "access denied".
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns), (logical_id, name)


def test_eventbridge_may_use_the_key_only_for_the_stacks_rules(resources):
    [events] = [s for s in _key_statements(resources).values() if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert set(actions(events)) == {"kms:GenerateDataKey", "kms:Decrypt"}
    rules = [
        source["Properties"]["RuleName"]["Fn::Sub"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
        for source in resource["Properties"].get("Events", {}).values()
        if source["Type"] == "EventBridgeRule"
    ]
    source_arns = [arn["Fn::Sub"] for arn in as_list(events["Condition"]["ArnEquals"]["aws:SourceArn"])]
    assert sorted(arn.rsplit(":rule/", 1)[1] for arn in source_arns) == sorted(rules)


def test_environment_queue_topic_and_log_groups_are_encrypted_with_the_key(template, resources):
    assert template["Globals"]["Function"]["KmsKeyArn"] == KEY_ARN
    assert resources["UploadEventsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    assert resources["RunEndedEventsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    assert resources["ScoringEndedEventsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    assert resources["RunNotificationTopic"]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            assert resource["Properties"]["KmsKeyId"] == KEY_ARN, logical_id
            assert resource["Properties"]["RetentionInDays"] == {"Ref": "LogGroupRetentionDays"}, logical_id


def test_key_use_is_granted_on_the_key_only_and_through_one_service(translated):
    """Whoever publishes to the topic or dead-letters to the queue needs the key, through that service."""
    services: dict[str, set[str]] = {}
    for role, statement in role_statements(translated["Resources"]):
        kms = [a for a in actions(statement) if a.startswith("kms:")]
        if not kms or statement["Effect"] != "Allow":
            continue
        assert set(actions(statement)) == {"kms:GenerateDataKey", "kms:Decrypt"}, (role, statement)
        assert statement["Resource"] == KEY_ARN, role
        via = statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"]
        services.setdefault(role, set()).add(via.split(".", 1)[0])
    publishers = {r for r, s in role_statements(translated["Resources"]) if "sns:Publish" in actions(s)}
    assert publishers
    assert {role for role, used in services.items() if "sns" in used} == publishers
    assert services.get("StartPipelineFunctionRole") == {"sqs"}
    assert services.get("RecordAbandonedRunFunctionRole") == {"sns", "sqs"}  # notifies, dead-letters
    assert services.get("RecordAbandonedScoringFunctionRole") == {"sns", "sqs"}
    assert set(services) == publishers | {"StartPipelineFunctionRole"}


# --- functions: names, log groups, dead-letter queue --------------------------------------------
def test_every_function_logs_to_its_own_log_group_with_retention(resources):
    names = set()
    for logical_id in FUNCTIONS.values():
        properties = resources[logical_id]["Properties"]
        name = properties["FunctionName"]["Fn::Sub"]
        assert name.startswith("${AWS::StackName}-"), logical_id
        assert MAX_STACK_NAME + len(name.removeprefix("${AWS::StackName}")) <= LAMBDA_NAME_LIMIT, name
        log_group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = resources[log_group_id]
        assert log_group["Type"] == "AWS::Logs::LogGroup", logical_id
        assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}, logical_id
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogGroupRetentionDays"}, logical_id
        names.add(log_group_id)
    assert len(names) == len(FUNCTIONS), "one log group per function"


def test_starter_dead_letters_the_events_it_failed_on(resources, translated):
    properties = resources["StartPipelineFunction"]["Properties"]
    queue_arn = {"Fn::GetAtt": ["UploadEventsDeadLetterQueue", "Arn"]}
    assert properties["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue_arn}
    sends = [
        statement
        for role, statement in role_statements(translated["Resources"])
        if role == "StartPipelineFunctionRole" and "sqs:SendMessage" in actions(statement)
    ]
    assert [s["Resource"] for s in sends] == [queue_arn]


# --- access logs of the data bucket -------------------------------------------------------------
def test_data_bucket_access_logs_go_to_a_private_encrypted_versioned_expiring_bucket(resources):
    logging = resources["DataBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    bucket = resources["AccessLogBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # S3 logging supports no SSE-KMS
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    [expiry] = properties["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert "NoncurrentVersionExpiration" in expiry


def test_only_s3_logging_for_the_data_bucket_may_write_access_logs_and_only_over_tls(resources):
    prefix = resources["DataBucket"]["Properties"]["LoggingConfiguration"]["LogFilePrefix"]
    statements = resources["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert actions(allow) == ["s3:PutObject"]
    assert allow["Resource"] == {"Fn::Sub": "${AccessLogBucket.Arn}/" + prefix + "*"}
    assert allow["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": ["DataBucket", "Arn"]}}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["AccessLogBucket", "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": "${AccessLogBucket.Arn}/*"} in deny["Resource"]

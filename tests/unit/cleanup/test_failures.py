"""Throttling, disappearing resources and failed calls: each is reported and the run goes on.

botocore ``Stubber`` answers before the retry handler runs, so a stubbed ThrottlingException stands
for "still throttled after every retry". The retries themselves are shown on moto, by answering the
first attempts with a throttling response at ``before-send`` (inside botocore's retry loop).
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from sagedrop.aws.clients import RetryPolicy, client
from sagedrop.aws.cloudwatch import InvocationMetrics
from sagedrop.aws.logs import LogGroupDeletion, LogGroups
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.aws.sagemaker_inventory import EndpointFacts, EndpointSummary, SageMakerInventory, Variant
from sagedrop.cleanup import run_cleanup
from sagedrop.cleanup.clients import CleanupClients
from sagedrop.cleanup.model import Reason

from .conftest import NOW, REGION, days, hours, make_settings


def stubbed(service: str):
    made = client(service, retries=RetryPolicy.SELF, region_name=REGION)
    return made, Stubber(made)


def facts(name: str, variants=("AllTraffic",)) -> EndpointFacts:
    return EndpointFacts(
        name, f"arn:{name}", "InService", NOW - days(3), f"{name}-config", tuple(Variant(v, 1) for v in variants)
    )


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def throttle_first(client, operation: str, times: int) -> dict:
    """Answer the first ``times`` attempts of ``operation`` with ThrottlingException (JSON protocol)."""
    seen = {"attempts": 0}

    def answer(request, **_):
        seen["attempts"] += 1
        if seen["attempts"] <= times:
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-errortype": "ThrottlingException"}, _Body(body))
        return None

    client.meta.events.register_first(f"before-send.sagemaker.{operation}", answer)
    return seen


# --- retries -------------------------------------------------------------------------------------------
def test_clients_use_adaptive_retries():
    clients = CleanupClients.create(boto3.session.Session(region_name=REGION))
    for each in (clients.sagemaker, clients.cloudwatch, clients.logs, clients.s3, clients.sns):
        assert each.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 9}
        assert (each.meta.config.connect_timeout, each.meta.config.read_timeout) == (5, 30)


def test_throttled_calls_are_retried_and_the_run_completes(account, no_sleep):
    account.endpoint("idle", age=days(2))
    listing = throttle_first(account.sagemaker, "ListEndpoints", times=2)
    describing = throttle_first(account.sagemaker, "DescribeEndpoint", times=3)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    assert report.failures == []
    assert report.summary()["endpoints_deleted"] == ["idle"]
    assert listing["attempts"] == 3 and describing["attempts"] == 4
    assert len(no_sleep) == 5  # one backoff per retry, none waited for


def test_a_delete_retried_after_a_lost_answer_is_already_gone_not_a_failure(account, no_sleep):
    # moto runs every attempt, so the first (throttled-looking) DeleteEndpoint really deletes:
    # the retry then finds nothing, like a real retry after a lost response.
    account.endpoint("idle", age=days(2))
    throttle_first(account.sagemaker, "DeleteEndpoint", times=1)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    assert [r["outcome"] for r in report.as_dict()["endpoints"]] == ["already_gone"]
    assert report.failures == []
    assert account.endpoint_names() == set()


# --- Stubber: the requests themselves and errors that survive retries -------------------------------------
def test_get_metric_data_sums_all_variants_in_one_call_of_up_to_500_queries():
    client, stub = stubbed("cloudwatch")
    endpoints = [facts(f"e{i}", variants=("A", "B")) for i in range(300)]  # 600 queries → 2 calls
    first_ids = [f"q{i}" for i in range(500)]
    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": q, "StatusCode": "Complete", "Values": [1.0] if q == "q1" else []} for q in first_ids
            ]
        },
    )
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": f"q{i}", "StatusCode": "Complete", "Values": [0.0]} for i in range(500, 600)]},
    )
    with stub:
        traffic = InvocationMetrics(client).invocations(endpoints, NOW - hours(24), NOW)
    stub.assert_no_pending_responses()
    assert traffic["e0"].invocations == 1.0  # variant B of e0 is query q1
    assert traffic["e1"].invocations is None  # no data point at all
    assert traffic["e299"].invocations == 0.0
    assert all(t.error is None for t in traffic.values())


def test_get_metric_data_queries_endpoint_and_variant_dimensions():
    client, stub = stubbed("cloudwatch")
    expected_query = {
        "Id": "q0",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "EndpointName", "Value": "e"}, {"Name": "VariantName", "Value": "AllTraffic"}],
            },
            "Period": 3600,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }
    stub.add_response(
        "get_metric_data",
        {"MetricDataResults": []},
        {"MetricDataQueries": [expected_query], "StartTime": NOW - hours(24), "EndTime": NOW},
    )
    with stub:
        InvocationMetrics(client).invocations([facts("e")], NOW - hours(24), NOW)
    stub.assert_no_pending_responses()


def test_throttling_that_outlasts_retries_keeps_the_endpoints_and_says_why():
    client, stub = stubbed("cloudwatch")
    stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", http_status_code=400)
    with stub:
        traffic = InvocationMetrics(client).invocations([facts("e")], NOW - hours(24), NOW)
    assert traffic["e"].invocations is None
    assert "Throttling" in traffic["e"].error


def test_endpoint_that_disappears_before_describe_is_skipped():
    client, stub = stubbed("sagemaker")
    stub.add_client_error(
        "describe_endpoint",
        "ValidationException",
        'Could not find endpoint "arn:...:endpoint/e".',
        http_status_code=400,
    )
    summary = EndpointSummary("e", "arn:e", "InService", NOW - days(2))
    with stub:
        assert SageMakerInventory(client).describe_endpoint(summary, {}) is None


def test_endpoint_that_disappears_before_delete_counts_as_already_gone():
    client, stub = stubbed("sagemaker")
    stub.add_client_error(
        "delete_endpoint",
        "ValidationException",
        'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e".',
        http_status_code=400,
        expected_params={"EndpointName": "e"},
    )
    stub.add_response("delete_endpoint", {}, {"EndpointName": "f"})
    with stub:
        adapter = SageMakerGateway(client)
        assert adapter.delete_endpoint("e") is False
        assert adapter.delete_endpoint("f") is True


def test_other_delete_errors_are_raised_to_be_reported():
    client, stub = stubbed("sagemaker")
    stub.add_client_error("delete_model", "AccessDeniedException", "not allowed", http_status_code=400)
    with stub, pytest.raises(Exception, match="AccessDenied"):
        SageMakerGateway(client).delete_model("m")


def test_log_group_with_deletion_protection_is_reported_protected_not_failed():
    # moto 5.2.5 knows nothing of deletionProtectionEnabled; the real API answers this.
    client, stub = stubbed("logs")
    stub.add_client_error(
        "delete_log_group",
        "ValidationException",
        "Cannot delete log group with deletion protection enabled. Disable deletion protection first.",
        http_status_code=400,
    )
    stub.add_client_error("delete_log_group", "ResourceNotFoundException", "gone", http_status_code=400)
    with stub:
        logs = LogGroups(client)
        assert logs.delete("/aws/sagemaker/Endpoints/e") is LogGroupDeletion.PROTECTED
        assert logs.delete("/aws/sagemaker/Endpoints/f") is LogGroupDeletion.ALREADY_GONE


def test_deletion_protection_flag_from_describe_log_groups_is_read():
    client, stub = stubbed("logs")
    stub.add_response(
        "describe_log_groups",
        {
            "logGroups": [
                {"logGroupName": "/aws/sagemaker/Endpoints/e", "creationTime": 0, "deletionProtectionEnabled": True}
            ]
        },
        {"logGroupNamePrefix": "/aws/sagemaker/"},
    )
    with stub:
        [group] = LogGroups(client).list("/aws/sagemaker/")
    assert group.deletion_protected and group.retention_days is None


# --- on moto: one failure does not stop the run ---------------------------------------------------------------
def test_a_race_with_another_deleter_is_not_a_failure(account):
    account.endpoint("raced", age=days(2))
    account.endpoint("idle", age=days(2))
    other = boto3.client("sagemaker", region_name=REGION)

    def someone_else_deletes_first(params, **_):
        if params.get("EndpointName") == "raced":
            other.delete_endpoint(EndpointName="raced")

    account.sagemaker.meta.events.register("provide-client-params.sagemaker.DeleteEndpoint", someone_else_deletes_first)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    outcomes = {r.name: r.outcome.value for r in report.records_of(report.records[0].kind)}
    assert outcomes == {"raced": "already_gone", "idle": "deleted"}
    assert report.failures == []
    assert report.summary()["endpoints_deleted"] == ["idle"]


def test_one_failed_deletion_is_reported_and_the_others_proceed(account):
    for name in ("a", "b", "c"):
        account.endpoint(name, age=days(2))

    def deny_b(params, **_):
        if params.get("EndpointName") == "b":
            raise account.sagemaker.exceptions.ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteEndpoint"
            )

    account.sagemaker.meta.events.register("provide-client-params.sagemaker.DeleteEndpoint", deny_b)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    assert sorted(report.summary()["endpoints_deleted"]) == ["a", "c"]
    [failure] = report.failures
    assert (failure.kind, failure.name) == ("endpoint", "b") and "AccessDenied" in failure.error
    assert account.endpoint_names() == {"b"}
    # b's config and model stay: b still uses them.
    assert "b-config" in account.config_names() and "a-config" not in account.config_names()


def test_metrics_unavailable_keeps_endpoints_on_moto(account):
    account.endpoint("maybe-idle", age=days(2))

    def fail(**_):
        raise account.cloudwatch.exceptions.ClientError(
            {"Error": {"Code": "InternalServiceError", "Message": "boom"}}, "GetMetricData"
        )

    account.cloudwatch.meta.events.register("before-call.cloudwatch.GetMetricData", fail)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    [record] = report.as_dict()["endpoints"]
    assert (record["outcome"], record["reason"]) == ("kept", Reason.METRICS_UNAVAILABLE.value)
    assert account.endpoint_names() == {"maybe-idle"}


def test_incomplete_inventory_deletes_no_config_or_model(account):
    account.endpoint("idle", age=days(2))
    account.model("orphan-model", age=days(3))

    def fail_config(params, **_):
        raise account.sagemaker.exceptions.ClientError(
            {"Error": {"Code": "InternalFailure", "Message": "boom"}}, "DescribeEndpointConfig"
        )

    account.sagemaker.meta.events.register("provide-client-params.sagemaker.DescribeEndpointConfig", fail_config)

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    assert report.summary()["endpoints_deleted"] == ["idle"]
    assert "orphan-model" in account.model_names() and "idle-config" in account.config_names()
    assert any(f.operation == "DescribeEndpointConfig" for f in report.failures)


def test_grace_period_is_the_deciding_margin(account):
    account.endpoint("just-old-enough", age=hours(24))
    account.endpoint("almost", age=hours(24) - timedelta(minutes=1))

    report = run_cleanup(account.clients, make_settings(), now=NOW, dry_run=True)

    reasons = {r["name"]: r["reason"] for r in report.as_dict()["endpoints"]}
    assert reasons == {"just-old-enough": Reason.IDLE_NO_DATA.value, "almost": Reason.YOUNGER_THAN_GRACE.value}

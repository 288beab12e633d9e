"""run_cleanup against moto: hundreds of endpoints and log groups, metric data for some of them."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass

import pytest
from moto import mock_aws

from sagedrop.cleanup import run_cleanup
from sagedrop.cleanup.model import Reason

from .conftest import BUCKET, NOW, Account, CallCounter, days, hours, make_settings

# Look-back longer than grace, so "no data but younger than the window" can happen.
SETTINGS = make_settings(lookback_hours=48, grace_hours=12, max_deletions=1000)


def build_world(account) -> dict[str, set[str]]:
    """Create the account; return the expected endpoint names per outcome and reason."""
    expected: dict[str, set[str]] = {}

    def group(key: str, names):
        expected.setdefault(key, set()).update(names)

    old = hours(72)
    busy = [account.endpoint(f"busy-{i:03d}", age=old) for i in range(60)]
    for i, name in enumerate(busy):
        account.invocations(name, 1 + i % 5, ago=hours(1 + i % 40))
    group("kept:" + Reason.IN_USE, busy)

    zero = [account.endpoint(f"zero-{i:03d}", age=old) for i in range(30)]
    for name in zero:  # data points whose sum is zero: idle
        account.invocations(name, 0, ago=hours(3))
        account.invocations(name, 0, ago=hours(30))
    group("deleted:" + Reason.IDLE, zero)

    silent = [account.endpoint(f"silent-{i:03d}", age=old) for i in range(30)]
    group("deleted:" + Reason.IDLE_NO_DATA, silent)

    # Traffic before the window does not count.
    stale = [account.endpoint(f"stale-{i:02d}", age=days(10)) for i in range(10)]
    for name in stale:
        account.invocations(name, 100, ago=hours(50))
    group("deleted:" + Reason.IDLE_NO_DATA, stale)

    # Two variants, traffic only on the second: summed over ALL variants, so in use.
    canary = [account.endpoint(f"canary-{i:02d}", age=old, variants=("AllTraffic", "Canary")) for i in range(10)]
    for name in canary:
        account.invocations(name, 0, ago=hours(2))
        account.invocations(name, 7, ago=hours(2), variant="Canary")
    group("kept:" + Reason.IN_USE, canary)
    two_idle = [account.endpoint(f"twoidle-{i}", age=old, variants=("A", "B")) for i in range(5)]
    group("deleted:" + Reason.IDLE_NO_DATA, two_idle)

    young = [account.endpoint(f"young-{i:02d}", age=hours(6)) for i in range(20)]
    group("kept:" + Reason.YOUNGER_THAN_GRACE, young)
    fresh = [account.endpoint(f"fresh-{i:02d}", age=hours(30)) for i in range(20)]
    group("kept:" + Reason.NO_DATA_YOUNG, fresh)

    kept = [account.endpoint(f"keep-{i:02d}", age=days(20), tags={"sagedrop:keep": "true"}) for i in range(20)]
    group("kept:" + Reason.PROTECTED_BY_TAG, kept)

    serverless = [account.endpoint(f"serverless-{i}", age=old, serverless=True) for i in range(5)]
    group("kept:" + Reason.SERVERLESS, serverless)

    # Not ours: another stack's and an untagged team's endpoints, idle and old, never touched or reported.
    strangers = [account.endpoint(f"other-{i:03d}", age=days(30), stack="other-stack") for i in range(30)]
    strangers += [account.endpoint(f"team-{i:03d}", age=days(30), stack=None, tags={"team": "ml"}) for i in range(20)]
    group("untouched", strangers)

    # Two endpoints sharing one config and model: the idle one goes, the shared config and model stay.
    account.model("shared-model", age=old)
    account.config("shared-config", age=old, models={"AllTraffic": "shared-model"})
    account.endpoint("shared-idle", age=old, config="shared-config")
    account.endpoint("shared-busy", age=old, config="shared-config")
    account.invocations("shared-busy", 3, ago=hours(5))
    group("deleted:" + Reason.IDLE_NO_DATA, ["shared-idle"])
    group("kept:" + Reason.IN_USE, ["shared-busy"])

    # Orphans: ours and old → deleted; ours and young, or someone else's → left alone.
    account.model("orphan-model", age=days(3))
    account.model("orphan-config-model", age=days(3), stack=None)  # hangs off our orphan config
    account.config("orphan-config", age=days(3), models={"AllTraffic": "orphan-config-model"})
    account.model("young-orphan-model", age=hours(2))
    account.model("foreign-model", age=days(3), stack=None)
    account.config("foreign-config", age=days(3), models={"AllTraffic": "foreign-model"}, stack=None)
    account.flush_metrics()

    # Log groups: one per endpoint for a third of them, plus training logs and stale leftovers.
    for name in sorted(account.endpoint_names())[::3]:
        account.log_group(f"/aws/sagemaker/Endpoints/{name}", age=days(3), last_event_ago=hours(4), retention_days=30)
    for i in range(60):
        account.log_group(f"/aws/sagemaker/Endpoints/long-gone-{i:03d}", age=days(60), last_event_ago=days(31))
    for i in range(20):  # within the 2 h margin of the 30-day limit: kept
        account.log_group(
            f"/aws/sagemaker/Endpoints/borderline-{i:02d}", age=days(60), last_event_ago=days(30) + hours(1)
        )
    account.log_group("/aws/sagemaker/TrainingJobs", age=days(90), last_event_ago=days(2))
    account.log_group("/aws/sagemaker/ProcessingJobs", age=days(90))  # no stream, created long ago: idle
    account.log_group("/aws/lambda/something-else", age=days(300))
    return expected


@dataclass
class Scenario:
    """One big account, cleaned three times: dry run, real run, real run again."""

    expected: dict[str, set[str]]
    before: tuple
    after_dry_run: tuple
    after_first: tuple
    after_second: tuple
    dry: dict
    first: dict
    second: dict
    api_calls: Counter


def state(account) -> tuple:
    return account.endpoint_names(), account.config_names(), account.model_names(), account.log_groups()


@pytest.fixture(scope="module")
def scenario(aws_environment) -> Scenario:
    # Built once per module: creating ~2,000 resources through moto takes seconds.
    with mock_aws():
        account = Account()
        expected = build_world(account)
        before = state(account)
        dry = run_cleanup(account.clients, SETTINGS, now=NOW, dry_run=True).as_dict()
        after_dry_run = state(account)
        counter = CallCounter().attach(account.sagemaker, account.cloudwatch, account.logs)
        first = run_cleanup(account.clients, SETTINGS, now=NOW).as_dict()
        api_calls = Counter(counter.calls)
        after_first = state(account)
        second = run_cleanup(account.clients, SETTINGS, now=NOW).as_dict()
        return Scenario(expected, before, after_dry_run, after_first, state(account), dry, first, second, api_calls)


def by_outcome_and_reason(report) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for record in report["endpoints"]:
        key = f"{record['outcome']}:{Reason(record['reason']) if record['reason'] else ''}"
        grouped.setdefault(key, set()).add(record["name"])
    return grouped


def test_exactly_the_right_endpoints_are_deleted_each_with_its_reason(scenario):
    world, report = scenario.expected, scenario.first

    expected_reported = {k: v for k, v in world.items() if k != "untouched"}
    assert by_outcome_and_reason(report) == expected_reported
    deleted = set().union(*(v for k, v in world.items() if k.startswith("deleted:")))
    assert scenario.after_first[0] == scenario.before[0] - deleted
    assert not world["untouched"] & {r["name"] for r in report["endpoints"]}
    assert report["failures"] == []
    # An ml.m5.xlarge instance saves 0.23 $/h x 730 h; the five two-variant endpoints run two each.
    instances = len(deleted) + 5
    assert report["estimated_monthly_saving_usd"] == pytest.approx(instances * 167.9)


def test_invocations_are_read_in_batches_of_500_queries(scenario):
    # One query per variant of each endpoint whose fate depends on traffic (two-variant ones twice).
    measured = 60 + 30 + 30 + 10 + 10 * 2 + 5 * 2 + 20 + 2
    assert scenario.api_calls["GetMetricData"] == math.ceil(measured / 500) == 1
    assert scenario.api_calls["ListEndpoints"] == math.ceil(len(scenario.before[0]) / 100)


def test_what_hangs_off_deleted_endpoints_goes_and_what_is_shared_stays(scenario):
    report = scenario.first
    configs_left, models_left = scenario.after_first[1], scenario.after_first[2]

    configs = {r["name"]: (r["outcome"], r["reason"]) for r in report["endpoint_configs"]}
    models = {r["name"]: (r["outcome"], r["reason"]) for r in report["models"]}
    assert configs["zero-000-config"] == ("deleted", Reason.OF_DELETED_ENDPOINT)
    assert models["twoidle-0-b-model"] == ("deleted", Reason.OF_DELETED_ENDPOINT)
    assert configs["shared-config"] == ("kept", Reason.USED_BY_ENDPOINT)
    assert configs["orphan-config"] == ("deleted", Reason.ORPHAN_OF_STACK)
    assert models["orphan-model"] == ("deleted", Reason.ORPHAN_OF_STACK)
    assert models["orphan-config-model"] == ("deleted", Reason.OF_DELETED_ENDPOINT)
    for untouched in ("foreign-config", "busy-000-config", "young-00-config"):
        assert untouched not in configs and untouched in configs_left
    for untouched in ("foreign-model", "young-orphan-model", "shared-model", "other-000-alltraffic-model"):
        assert untouched not in models and untouched in models_left
    assert "zero-000-config" not in configs_left
    assert "zero-000-alltraffic-model" not in models_left


def test_log_groups_idle_deleted_live_kept_retention_applied(scenario):
    report, groups, live = scenario.first, scenario.after_first[3], scenario.after_first[0]

    decided = {r["name"]: (r["outcome"], r["reason"]) for r in report["log_groups"]}
    assert not any(name.startswith("/aws/sagemaker/Endpoints/long-gone-") for name in groups)
    assert all(f"/aws/sagemaker/Endpoints/borderline-{i:02d}" in groups for i in range(20))
    assert "/aws/sagemaker/ProcessingJobs" not in groups
    assert decided["/aws/sagemaker/Endpoints/long-gone-000"] == ("deleted", Reason.LOG_GROUP_IDLE)
    # Groups of deleted endpoints go with them; groups of live ones stay.
    of_deleted = {n for n, (_, reason) in decided.items() if reason == Reason.LOG_GROUP_OF_DELETED_ENDPOINT}
    assert of_deleted and not of_deleted & set(groups)
    assert all(f"/aws/sagemaker/Endpoints/{name}" not in of_deleted for name in live)
    assert {f"/aws/sagemaker/Endpoints/{name}" for name in live} & set(groups)
    # Retention applied where there was none, never to groups outside /aws/sagemaker/.
    assert groups["/aws/sagemaker/TrainingJobs"]["retentionInDays"] == 30
    assert groups["/aws/sagemaker/Endpoints/borderline-00"]["retentionInDays"] == 30
    assert "retentionInDays" not in groups["/aws/lambda/something-else"]


def test_dry_run_deletes_nothing_but_reports_what_the_real_run_then_does(scenario):
    assert scenario.after_dry_run == scenario.before
    assert scenario.dry["dry_run"] is True
    done = {"would_delete": "deleted", "would_set_retention": "retention_set", "kept": "kept"}
    for section in ("endpoints", "endpoint_configs", "models", "log_groups"):
        as_planned = {(r["name"], done[r["outcome"]], r["reason"]) for r in scenario.dry[section]}
        as_done = {(r["name"], r["outcome"], r["reason"]) for r in scenario.first[section]}
        assert as_planned == as_done, section


def test_running_twice_is_harmless(scenario):
    assert scenario.second["failures"] == []
    assert not any(
        r["outcome"] == "deleted"
        for section in ("endpoints", "endpoint_configs", "models", "log_groups")
        for r in scenario.second[section]
    )
    assert scenario.after_second == scenario.after_first


def test_blast_radius_deletes_the_oldest_and_reports_the_rest(account):
    for i in range(8):
        account.endpoint(f"idle-{i}", age=hours(30 + i))

    report = run_cleanup(account.clients, make_settings(max_deletions=3), now=NOW)

    assert set(report.summary()["endpoints_deleted"]) == {"idle-7", "idle-6", "idle-5"}
    deferred = [r for r in report.as_dict()["endpoints"] if r["reason"] == Reason.BLAST_RADIUS]
    assert {r["name"] for r in deferred} == {f"idle-{i}" for i in range(5)}
    assert account.endpoint_names() == {f"idle-{i}" for i in range(5)}


def test_failed_endpoint_older_than_grace_is_deleted_younger_kept(account):
    account.endpoint("broken-old", age=hours(25))
    account.endpoint("broken-new", age=hours(2))
    account.endpoint("busy", age=hours(25))
    account.invocations("busy", 9, ago=hours(1))
    account.flush_metrics()
    account.set_status("broken-old", "Failed")
    account.set_status("broken-new", "Failed")

    report = run_cleanup(account.clients, make_settings(), now=NOW).as_dict()

    reasons = {r["name"]: r["reason"] for r in report["endpoints"]}
    assert reasons == {
        "broken-old": Reason.FAILED_ENDPOINT,
        "broken-new": Reason.YOUNGER_THAN_GRACE,
        "busy": Reason.IN_USE,
    }
    assert account.endpoint_names() == {"broken-new", "busy"}


def test_opt_in_tag_widens_the_candidates_only_when_set(account):
    account.endpoint("team-idle", age=days(3), stack=None, tags={"team": "ml"})
    account.endpoint("data-idle", age=days(3), stack=None, tags={"team": "data"})

    without = run_cleanup(account.clients, make_settings(), now=NOW, dry_run=True)
    with_opt_in = run_cleanup(account.clients, make_settings(opt_in_tag=("team", "ml")), now=NOW)

    assert without.summary()["endpoints_deleted"] == []
    assert with_opt_in.summary()["endpoints_deleted"] == ["team-idle"]
    assert account.endpoint_names() == {"data-idle"}


def test_report_lands_in_the_bucket_and_a_summary_on_sns(account):
    account.endpoint("idle", age=days(2), instance_type="ml.m5.large")

    report = run_cleanup(account.clients, make_settings(), now=NOW)

    assert report.report_uri == f"s3://{BUCKET}/cleanup/20260310T020000Z.json"
    stored = json.loads(account.clients.s3.get_object(Bucket=BUCKET, Key=report.key)["Body"].read())
    assert stored["endpoints"] == [
        {
            "kind": "endpoint",
            "name": "idle",
            "outcome": "deleted",
            "reason": Reason.IDLE_NO_DATA.value,
            "detail": "age 48.0 h",
            "estimated_monthly_saving_usd": 83.95,
        }
    ]
    assert stored["price_table"]["source"].startswith("https://aws.amazon.com/sagemaker/pricing/")
    [message] = account.notifications()
    assert "Deleted endpoints (1):" in message and "idle" in message and "$83.95/month" in message


def test_an_empty_account_reports_nothing_to_delete(account):
    report = run_cleanup(account.clients, make_settings(), now=NOW, dry_run=True)

    assert report.summary()["endpoints_deleted"] == [] and report.failures == []
    assert "Nothing to delete." in account.notifications()[0]

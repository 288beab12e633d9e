"""The cleanup rules on literal facts: one test per rule, no AWS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagedrop.aws.cloudwatch import Traffic, period_seconds
from sagedrop.aws.logs import LogGroupFacts
from sagedrop.aws.sagemaker_inventory import ConfigVariant, EndpointConfigFacts, EndpointFacts, ModelFacts, Variant
from sagedrop.cleanup.model import Action, Reason
from sagedrop.cleanup.rules import (
    LOG_TIMESTAMP_MARGIN,
    decide_config,
    decide_log_group,
    decide_model,
    decide_with_traffic,
    decide_without_traffic,
    is_candidate,
    limit_deletions,
)

from .conftest import NOW, STACK, days, hours, make_settings

SETTINGS = make_settings(lookback_hours=24, grace_hours=12)
THREE_DAYS, TWO_DAYS, NINETY_DAYS = hours(72), hours(48), days(90)


def endpoint(name="e", *, age=THREE_DAYS, status="InService", tags=None, serverless=False) -> EndpointFacts:
    return EndpointFacts(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        status=status,
        created_at=NOW - age,
        config_name=f"{name}-config",
        variants=(Variant("AllTraffic", 1),),
        tags={"sagedrop:stack": STACK} if tags is None else tags,
        serverless=serverless,
    )


def decide(e: EndpointFacts, traffic: Traffic | None = None, settings=SETTINGS):
    return decide_without_traffic(e, settings, NOW) or decide_with_traffic(e, traffic, settings, NOW)


# --- candidates ----------------------------------------------------------------------------------
class TestCandidates:
    def test_endpoints_of_this_stack_are_candidates(self):
        assert is_candidate({"sagedrop:stack": STACK}, SETTINGS)

    def test_endpoints_of_another_stack_or_untagged_are_not(self):
        assert not is_candidate({"sagedrop:stack": "other-stack"}, SETTINGS)
        assert not is_candidate({}, SETTINGS)

    def test_opt_in_tag_adds_endpoints_only_when_set(self):
        tags = {"team": "ml"}
        assert not is_candidate(tags, SETTINGS)
        assert is_candidate(tags, make_settings(opt_in_tag=("team", "ml")))
        assert not is_candidate({"team": "data"}, make_settings(opt_in_tag=("team", "ml")))


# --- endpoint rules ---------------------------------------------------------------------------------
class TestEndpointRules:
    @pytest.mark.parametrize("value", ["true", "True", "TRUE"])
    def test_keep_tag_protects_even_a_failed_idle_endpoint(self, value):
        tags = {"sagedrop:stack": STACK, "sagedrop:keep": value}
        decision = decide(endpoint(tags=tags, status="Failed"), Traffic(0))
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.PROTECTED_BY_TAG)

    def test_keep_tag_other_than_true_does_not_protect(self):
        tags = {"sagedrop:stack": STACK, "sagedrop:keep": "false"}
        assert decide(endpoint(tags=tags), Traffic(0)).action is Action.DELETE

    def test_younger_than_grace_is_kept_even_if_failed(self):
        decision = decide(endpoint(age=hours(11.9), status="Failed"))
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.YOUNGER_THAN_GRACE)

    def test_grace_boundary_is_inclusive_of_exactly_grace(self):
        assert decide(endpoint(age=hours(12)), Traffic(None)).action is Action.KEEP  # < lookback: no data young
        assert decide(endpoint(age=hours(24)), Traffic(None)).action is Action.DELETE

    def test_failed_endpoint_older_than_grace_is_deleted_without_metrics(self):
        decision = decide_without_traffic(endpoint(status="Failed", age=hours(13)), SETTINGS, NOW)
        assert (decision.action, decision.reason) == (Action.DELETE, Reason.FAILED_ENDPOINT)

    @pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
    def test_endpoints_in_transition_are_left_alone(self, status):
        decision = decide_without_traffic(endpoint(status=status), SETTINGS, NOW)
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.IN_TRANSITION)

    def test_serverless_is_kept_unless_included(self):
        serverless = endpoint(serverless=True)
        assert decide(serverless, Traffic(0)).reason is Reason.SERVERLESS
        included = make_settings(lookback_hours=24, grace_hours=12, include_serverless=True)
        assert decide(serverless, Traffic(0), included).action is Action.DELETE

    def test_zero_invocations_is_idle(self):
        decision = decide(endpoint(), Traffic(0.0))
        assert (decision.action, decision.reason) == (Action.DELETE, Reason.IDLE)

    def test_any_invocation_keeps_it(self):
        decision = decide(endpoint(), Traffic(1.0))
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.IN_USE)

    def test_no_data_is_idle_only_when_older_than_the_window(self):
        assert decide(endpoint(age=hours(25)), Traffic(None)).reason is Reason.IDLE_NO_DATA
        assert decide(endpoint(age=hours(20)), Traffic(None)).reason is Reason.NO_DATA_YOUNG

    def test_unreadable_metrics_keep_the_endpoint(self):
        decision = decide(endpoint(), Traffic(None, error="GetMetricData failed"))
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.METRICS_UNAVAILABLE)


# --- blast radius -------------------------------------------------------------------------------------
class TestBlastRadius:
    def test_oldest_are_deleted_first_and_the_rest_deferred(self):
        endpoints = {f"e{i}": endpoint(f"e{i}", age=hours(100 + i)) for i in range(5)}
        decisions = [decide(e, Traffic(0)) for e in endpoints.values()]
        limited = limit_deletions(decisions, endpoints, max_deletions=2)
        assert {d.name for d in limited if d.action is Action.DELETE} == {"e4", "e3"}
        deferred = [d for d in limited if d.reason is Reason.BLAST_RADIUS]
        assert {d.name for d in deferred} == {"e0", "e1", "e2"}
        assert all(d.action is Action.KEEP and d.detail == Reason.IDLE.value for d in deferred)

    def test_zero_means_report_only(self):
        endpoints = {"e": endpoint("e")}
        limited = limit_deletions([decide(endpoints["e"], Traffic(0))], endpoints, max_deletions=0)
        assert limited[0].reason is Reason.BLAST_RADIUS

    @given(st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
    def test_never_more_than_the_limit(self, count, limit):
        endpoints = {f"e{i}": endpoint(f"e{i}", age=hours(30 + i % 7)) for i in range(count)}
        decisions = [decide(e, Traffic(0)) for e in endpoints.values()]
        limited = limit_deletions(decisions, endpoints, limit)
        assert sum(d.action is Action.DELETE for d in limited) == min(count, limit)
        assert len(limited) == count


# --- configs and models ----------------------------------------------------------------------------------
def config(name, age=TWO_DAYS, models=("m",)):
    return EndpointConfigFacts(
        name,
        f"arn:{name}",
        NOW - age,
        tuple(ConfigVariant(f"v{i}", m, "ml.m5.large", False) for i, m in enumerate(models)),
    )


class TestConfigsAndModels:
    def test_config_of_deleted_endpoint_is_deleted_unless_still_used(self):
        kwargs = dict(tagged_with_stack=False, settings=SETTINGS, now=NOW)
        c = config("c")
        gone = decide_config(c, configs_of_deleted_endpoints=frozenset({"c"}), configs_in_use=frozenset(), **kwargs)
        used = decide_config(
            c, configs_of_deleted_endpoints=frozenset({"c"}), configs_in_use=frozenset({"c"}), **kwargs
        )
        assert (gone.action, gone.reason) == (Action.DELETE, Reason.OF_DELETED_ENDPOINT)
        assert (used.action, used.reason) == (Action.KEEP, Reason.USED_BY_ENDPOINT)

    def test_orphan_config_needs_stack_tag_and_age(self):
        none = frozenset()
        old, young = config("old"), config("young", age=hours(1))
        assert (
            decide_config(
                old,
                configs_of_deleted_endpoints=none,
                configs_in_use=none,
                tagged_with_stack=True,
                settings=SETTINGS,
                now=NOW,
            ).reason
            is Reason.ORPHAN_OF_STACK
        )
        for c, tagged in ((old, False), (young, True)):
            assert (
                decide_config(
                    c,
                    configs_of_deleted_endpoints=none,
                    configs_in_use=none,
                    tagged_with_stack=tagged,
                    settings=SETTINGS,
                    now=NOW,
                )
                is None
            )

    def test_model_still_referenced_is_kept_and_says_by_what(self):
        model = ModelFacts("m", "arn:m", NOW - hours(48))
        decision = decide_model(
            model,
            models_of_deleted_configs=frozenset({"m"}),
            referencing_configs={"m": ["other-config"]},
            tagged_with_stack=False,
            settings=SETTINGS,
            now=NOW,
        )
        assert (decision.action, decision.reason, decision.detail) == (
            Action.KEEP,
            Reason.REFERENCED_BY_CONFIG,
            "other-config",
        )

    def test_foreign_unreferenced_model_is_not_ours(self):
        model = ModelFacts("m", "arn:m", NOW - days(30))
        assert (
            decide_model(
                model,
                models_of_deleted_configs=frozenset(),
                referencing_configs={},
                tagged_with_stack=False,
                settings=SETTINGS,
                now=NOW,
            )
            is None
        )


# --- log groups --------------------------------------------------------------------------------------------
def group(name="/aws/sagemaker/TrainingJobs", *, age=NINETY_DAYS, last=None, retention=None, protected=False):
    return LogGroupFacts(name, NOW - age, retention, protected, None if last is None else NOW - last)


def decide_group(g, deleted=frozenset(), live=frozenset(), settings=SETTINGS):
    return decide_log_group(g, deleted_endpoints=deleted, live_endpoints=live, settings=settings, now=NOW)


class TestLogGroups:
    def test_idle_longer_than_max_plus_margin_is_deleted(self):
        silent = days(30) + LOG_TIMESTAMP_MARGIN + timedelta(minutes=1)
        [decision] = decide_group(group(last=silent, retention=30))
        assert (decision.action, decision.reason) == (Action.DELETE, Reason.LOG_GROUP_IDLE)

    def test_margin_protects_groups_written_just_before_the_cutoff(self):
        assert decide_group(group(last=days(30) + hours(1), retention=30)) == []

    def test_a_group_without_streams_counts_from_its_creation(self):
        assert decide_group(group(age=days(10), retention=30)) == []
        assert decide_group(group(age=days(40), retention=30))[0].action is Action.DELETE

    def test_deletion_protection_is_respected(self):
        [decision] = decide_group(group(last=days(60), protected=True))
        assert (decision.action, decision.reason) == (Action.KEEP, Reason.LOG_GROUP_PROTECTED)

    def test_group_of_deleted_endpoint_goes_with_it(self):
        [decision] = decide_group(group("/aws/sagemaker/Endpoints/e", age=days(2), last=hours(1)), deleted={"e"})
        assert decision.reason is Reason.LOG_GROUP_OF_DELETED_ENDPOINT

    def test_group_of_live_endpoint_is_never_deleted_however_quiet(self):
        decisions = decide_group(group("/aws/sagemaker/Endpoints/e", last=days(300)), live=frozenset({"e"}))
        assert [d.action for d in decisions] == [Action.SET_RETENTION]
        assert (
            decide_group(group("/aws/sagemaker/Endpoints/e", last=days(300)), live=None)[0].action is not Action.DELETE
        )

    def test_groups_without_retention_get_one(self):
        [decision] = decide_group(group(last=days(1)))
        assert (decision.action, decision.reason) == (Action.SET_RETENTION, Reason.NO_RETENTION)


@given(st.integers(min_value=1, max_value=90 * 24))
def test_metric_period_is_whole_hours_with_at_most_24_points(lookback_hours):
    period = period_seconds(timedelta(hours=lookback_hours))
    assert period % 3600 == 0
    assert lookback_hours * 3600 / period <= 24

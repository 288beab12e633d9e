"""EventBridge Scheduler expressions as `local up` keeps them: the next firing time, in its time zone."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop_local.server.schedule import Schedule, ScheduledInvocations, UnsupportedSchedule

EXPRESSIONS = [
    ("cron(0 2 * * ? *)", "UTC"),
    ("cron(30 3 ? * MON-FRI *)", "Europe/Berlin"),
    ("cron(0/15 9-17 * * ? *)", "America/New_York"),
    ("cron(5 0 1,15 * ? *)", "UTC"),
    ("cron(0 12 ? JAN,JUL SUN *)", "Asia/Tokyo"),
]
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


def _fires_at(expression: str, zone: str, moment: datetime) -> bool:
    """A literal reading of the six fields, independent of Schedule's search."""
    minutes, hours, day, month, weekday, _year = expression[5:-1].split()
    local = moment.astimezone(ZoneInfo(zone))
    names = {"MON-FRI": range(2, 7), "SUN": [1], "JAN,JUL": [1, 7]}

    def allowed(field: str, value: int) -> bool:
        if field in ("*", "?"):
            return True
        if field in names:
            return value in names[field]
        if "/" in field:
            start, step = field.split("/")
            return value >= int(start) and (value - int(start)) % int(step) == 0
        if "-" in field:
            low, high = field.split("-")
            return int(low) <= value <= int(high)
        return value in {int(part) for part in field.split(",")}

    return (
        local.second == 0
        and allowed(minutes, local.minute)
        and allowed(hours, local.hour)
        and allowed(day, local.day)
        and allowed(month, local.month)
        and allowed(weekday, local.isoweekday() % 7 + 1)
    )


@settings(max_examples=40, deadline=None)
@given(moment=moments, which=st.sampled_from(EXPRESSIONS))
def test_the_next_firing_matches_the_expression_and_none_comes_sooner(moment, which):
    expression, zone = which
    fire = Schedule(expression, zone).next_after(moment)
    assert fire > moment
    assert _fires_at(expression, zone, fire)
    # No whole minute between the moment and the firing would have fired (checked up to a day back).
    minute = max(fire - timedelta(days=1), moment.replace(second=0, microsecond=0) + timedelta(minutes=1))
    while minute < fire:
        assert not _fires_at(expression, zone, minute), minute
        minute += timedelta(minutes=1)


def test_the_nightly_default_fires_at_two_in_its_zone():
    schedule = Schedule("cron(0 2 * * ? *)", "Europe/Berlin")
    assert schedule.next_after(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) == datetime(
        2026, 12, 2, 2, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_a_rate_fires_one_interval_later():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert Schedule("rate(5 minutes)").next_after(start) == start + timedelta(minutes=5)
    assert Schedule("rate(1 day)").next_after(start) == start + timedelta(days=1)


@pytest.mark.parametrize("expression", ["cron(0 2 L * ? *)", "cron(0 2 ? * 6#3 *)", "cron(0 2 15W * ? *)"])
def test_last_weekday_and_nth_forms_are_named_as_unsupported(expression):
    with pytest.raises(UnsupportedSchedule, match="not supported"):
        Schedule(expression)


@pytest.mark.parametrize("expression", ["cron(0 25 * * ? *)", "cron(0 2 * *)", "every day", "rate(2 fortnights)"])
def test_malformed_expressions_are_rejected(expression):
    with pytest.raises(ValueError):
        Schedule(expression)


def test_scheduled_invocations_fire_when_due_and_stop_on_request():
    # A clock that runs from a tenth of a second before the schedule fires.
    start, started = datetime(2026, 12, 1, 1, 59, 59, 900000, tzinfo=UTC), time.monotonic()
    fired = threading.Event()
    scheduled = ScheduledInvocations(
        "Nightly",
        Schedule("cron(0 2 * * ? *)"),
        fired.set,
        clock=lambda: start + timedelta(seconds=time.monotonic() - started),
    )
    assert scheduled.next_run == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    scheduled.start()
    assert fired.wait(timeout=5)
    scheduled.stop()
    assert scheduled.next_run == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)

"""EventBridge Scheduler's ``cron(…)`` and ``rate(…)`` expressions, and a thread that keeps them.

Fields of a cron expression: minutes, hours, day-of-month, month, day-of-week (1 = SUN), year;
``*``, ``?``, lists, ranges, steps and the names JAN-DEC and SUN-SAT. ``L``, ``W`` and ``#`` are not
supported here: such a schedule is reported and runs on demand only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: index for index, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_SEARCH_DAYS = 366 * 8  # far enough for any valid expression (29 February, a year field)


class UnsupportedSchedule(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for ``*`` and ``?`` (anything)."""
    if text in ("*", "?"):
        return None

    def number(token: str) -> int:
        if token.upper() in (names or {}):
            value = (names or {})[token.upper()]
        elif token.isdigit():
            value = int(token)
        elif re.search(r"[LW#]", token.upper()):
            raise UnsupportedSchedule(f"cron field {text!r}: L, W and # are not supported locally")
        else:
            raise ValueError(f"cron field {text!r}: {token!r} is not a value")
        if not low <= value <= high:
            raise ValueError(f"cron field {text!r}: {value} is outside {low}-{high}")
        return value

    allowed: set[int] = set()
    for part in text.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (number(token) for token in span.split("-", 1))
        else:
            first = number(span)
            last = high if step else first
        allowed.update(range(first, last + 1, int(step) if step else 1))
    return allowed


class Schedule:
    """When a schedule expression fires, in its time zone."""

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = expression
        self.zone = ZoneInfo(timezone or "UTC")
        self._rate: timedelta | None = None
        rate = re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip())
        cron = re.fullmatch(r"cron\((.+)\)", expression.strip())
        if rate:
            if rate.group(2) not in _RATE_UNITS:
                raise ValueError(f"{expression}: unknown unit {rate.group(2)!r}")
            self._rate = timedelta(seconds=int(rate.group(1)) * _RATE_UNITS[rate.group(2)])
        elif cron and len(cron.group(1).split()) == 6:
            minutes, hours, day, month, weekday, year = cron.group(1).split()
            self._minutes = _field(minutes, 0, 59)
            self._hours = _field(hours, 0, 23)
            self._day = _field(day, 1, 31)
            self._month = _field(month, 1, 12, _MONTHS)
            self._weekday = _field(weekday, 1, 7, _DAYS)
            self._year = _field(year, 1970, 2199)
        else:
            raise ValueError(f"{expression!r} is neither rate(value unit) nor cron(six fields)")

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after ``moment`` (timezone-aware) at which the schedule fires."""
        if self._rate is not None:
            return moment + self._rate
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self._hours or range(24)):
                    for minute in sorted(self._minutes or range(60)):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
                        if candidate > local:
                            return candidate
            day += timedelta(days=1)
        raise ValueError(f"{self.expression} never fires")

    def _day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # cron counts SUN = 1
        return (
            (self._year is None or day.year in self._year)
            and (self._month is None or day.month in self._month)
            and (self._day is None or day.day in self._day)
            and (self._weekday is None or weekday in self._weekday)
        )


class ScheduledInvocations:
    """Invokes ``invoke(input)`` each time ``schedule`` fires, until ``stop()``."""

    def __init__(
        self,
        name: str,
        schedule: Schedule,
        invoke: Callable[[], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.name = name
        self.schedule = schedule
        self._invoke = invoke
        self._clock = clock
        self._stopped = threading.Event()
        self.next_run = schedule.next_after(clock())
        self._thread = threading.Thread(target=self._loop, name=f"sagedrop-schedule-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopped.wait(max(0.0, (self.next_run - self._clock()).total_seconds())):
            if self._clock() < self.next_run:  # woke early (clock adjusted): wait on
                continue
            self._invoke()
            self.next_run = self.schedule.next_after(self._clock())

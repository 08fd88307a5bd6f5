"""Order statistics and calendar arithmetic, in Python so SQLite and PostgreSQL agree exactly."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cartrack.analytics.models import Summary
from cartrack.clock import as_utc

DIGITS = 2


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p25, median, p75 by the type 7 (inclusive) method; one value is its own quartiles."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
    return p25, median, p75


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(n=0, median=None, p25=None, p75=None, min=None, max=None)
    ordered = sorted(values)
    p25, median, p75 = quartiles(ordered)
    return Summary(n=len(ordered), median=_round(median), p25=_round(p25), p75=_round(p75),
                   min=_round(ordered[0]), max=_round(ordered[-1]))


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def local_date(moment: datetime | date, tz: str) -> date:
    """The calendar date at the site; a date milestone is already one."""
    if isinstance(moment, datetime):
        return as_utc(moment).astimezone(ZoneInfo(tz)).date()
    return moment


def calendar_days(start: datetime | date, start_tz: str, end: datetime | date, end_tz: str) -> int:
    """Days between the two site-local dates (vein to vein is published in days)."""
    return (local_date(end, end_tz) - local_date(start, start_tz)).days


def exact_hours(start: datetime | date, end: datetime | date) -> float | None:
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return _round((as_utc(end) - as_utc(start)).total_seconds() / 3600)


def exact_minutes(start: datetime | date, end: datetime | date) -> float | None:
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return None
    return _round((as_utc(end) - as_utc(start)).total_seconds() / 60)

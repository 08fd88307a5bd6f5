"""The due times the journey table names (``Open.due``): pure functions of the case, its
protocol version, the moment the deadline is opened and the calendar site's time zone.

Each answers the deadlines to open (none when the protocol sets no limit, several for the
daily monitoring checks). The table test recomputes them from the stored case and compares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cartrack import clock
from cartrack.journey.models import Case
from cartrack.protocols import service as protocols
from cartrack.protocols.models import ProtocolData


@dataclass(frozen=True)
class DueInput:
    case: Case
    rules: ProtocolData
    now: datetime  # when the deadline is opened
    tz: str  # the calendar site's time zone


@dataclass(frozen=True)
class Due:
    due_at: datetime
    earliest_at: datetime | None = None
    label: str | None = None
    ordinal: int | None = None


DueRule = Callable[[DueInput], list[Due]]
DUE_RULES: dict[str, DueRule] = {}


def due_rule(fn: DueRule) -> DueRule:
    DUE_RULES[fn.__name__] = fn
    return fn


def _milestone_time(case: Case, key: str) -> datetime:
    return clock.as_utc(datetime.fromisoformat(str(case.milestones[key])))


def infusion_day(case: Case, tz: str) -> date:
    """Day 0 of monitoring: the local calendar day of the infusion at the treatment site."""
    return clock.local_date(_milestone_time(case, "infused_at"), tz)


def ld_end(case: Case, rules: ProtocolData) -> date | None:
    """The last day of lymphodepletion: recorded, else planned from its start."""
    if case.ld_completed_on is not None:
        return case.ld_completed_on
    if case.ld_started_on is not None:
        return case.ld_started_on + timedelta(days=rules.ld_days - 1)
    return None


@due_rule
def end_of_collection_day(x: DueInput) -> list[Due]:
    assert x.case.collection_date is not None, "schedule_collection sets the date first"
    return [Due(clock.end_of_local_day(x.case.collection_date, x.tz))]


@due_rule
def collection_end_plus_transit(x: DueInput) -> list[Due]:
    collected = _milestone_time(x.case, "collected_at")
    return [Due(collected + timedelta(hours=x.rules.apheresis_transit_hours))]


@due_rule
def now_plus_manufacturing_start(x: DueInput) -> list[Due]:
    return [Due(x.now + timedelta(hours=x.rules.manufacturing_start_hours))]


@due_rule
def now_plus_qc_release(x: DueInput) -> list[Due]:
    return [Due(x.now + timedelta(days=x.rules.qc_release_days))]


@due_rule
def product_expiry(x: DueInput) -> list[Due]:
    """The product's storage expiry, the same value as its bags' (``protocols.product_expiry``)."""
    return [Due(protocols.product_expiry(x.rules, _milestone_time(x.case, "cryopreserved_at")))]


@due_rule
def now_plus_shipment_arrival(x: DueInput) -> list[Due]:
    return [Due(x.now + timedelta(hours=x.rules.shipment_arrival_hours))]


@due_rule
def infusion_window_after_ld(x: DueInput) -> list[Due]:
    end = ld_end(x.case, x.rules)
    assert end is not None, "lymphodepletion has started"
    first = end + timedelta(days=x.rules.infusion_min_days_after_ld)
    last = end + timedelta(days=x.rules.infusion_max_days_after_ld)
    return [Due(clock.end_of_local_day(last, x.tz), clock.start_of_local_day(first, x.tz))]


@due_rule
def now_plus_thaw_limit(x: DueInput) -> list[Due]:
    return [Due(x.now + timedelta(minutes=x.rules.thaw_to_infusion_minutes))]


@due_rule
def daily_monitoring_days(x: DueInput) -> list[Due]:
    """One check per day 1..monitoring period: day N may be recorded from its local midnight
    and is due by the next."""
    day0 = infusion_day(x.case, x.tz)
    return [Due(clock.end_of_local_day(day0 + timedelta(days=n), x.tz),
                clock.start_of_local_day(day0 + timedelta(days=n), x.tz),
                label=f"Daily monitoring check, day {n}", ordinal=n)
            for n in range(1, x.rules.monitoring_days + 1)]


@due_rule
def proximity_after_infusion(x: DueInput) -> list[Due]:
    day0 = infusion_day(x.case, x.tz)
    return [Due(clock.end_of_local_day(day0 + timedelta(days=x.rules.proximity_days), x.tz))]

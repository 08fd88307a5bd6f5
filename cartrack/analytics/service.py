"""Intervals, rates, the stage waterfall and the drill-down, computed in Python from the
milestones, so the same rows give the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from cartrack import clock
from cartrack.analytics import stats
from cartrack.analytics.milestones import CaseMilestones
from cartrack.analytics.models import (
    METRICS,
    QUANTILE_METHOD,
    WATERFALL,
    CaseInterval,
    GroupBy,
    IntervalGroup,
    IntervalsOut,
    Metric,
    MetricId,
    Rate,
    RateGroup,
    RatesOut,
    ReferencesOut,
    Stage,
    Status,
    WaterfallOut,
)
from cartrack.identity.identifiers import printed_coi


@dataclass(frozen=True)
class Filters:
    start: date | None = None  # on the site-local date of the interval's first milestone
    end: date | None = None
    product: str | None = None

    def keeps(self, m: CaseMilestones, day: date | None) -> bool:
        if self.product and m.product != self.product:
            return False
        if day is None:
            return self.start is None and self.end is None
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Interval:
    case: CaseMilestones
    status: Status
    start: datetime | date
    end: datetime | date | None
    value: float | None  # days or minutes
    hours: float | None


def interval(m: CaseMilestones, metric: Metric) -> Interval | None:
    """The case's interval for the metric, or None when the first milestone is not reached."""
    start = getattr(m, metric.start)
    if start is None:
        return None
    end = getattr(m, metric.end)
    if end is None:
        return Interval(m, Status.stopped if m.terminal else Status.open, start, None, None, None)
    if metric.unit == "minutes":
        return Interval(m, Status.done, start, end, stats.exact_minutes(start, end), None)
    days = stats.calendar_days(start, m.tz(metric.start_site), end, m.tz(metric.end_site))
    return Interval(m, Status.done, start, end, float(days), stats.exact_hours(start, end))


def start_day(iv: Interval, metric: Metric) -> date:
    return stats.local_date(iv.start, iv.case.tz(metric.start_site))


def intervals(cases: Iterable[CaseMilestones], metric: Metric, f: Filters) -> list[Interval]:
    out = [iv for m in cases if (iv := interval(m, metric)) is not None
           and f.keeps(m, start_day(iv, metric))]
    return sorted(out, key=lambda iv: (start_day(iv, metric), iv.case.case_id))


KEYS: dict[GroupBy, Callable[[CaseMilestones, date | None], str]] = {
    GroupBy.product: lambda m, _d: m.product,
    GroupBy.manufacturing_facility: lambda m, _d: m.site_code("manufacturing"),
    GroupBy.treatment_site: lambda m, _d: m.site_code("treatment"),
    GroupBy.month: lambda _m, d: f"{d:%Y-%m}" if d else "none",
}


def _key(m: CaseMilestones, day: date | None, group_by: list[GroupBy]) -> tuple[str, ...]:
    return tuple(KEYS[g](m, day) for g in group_by)


def summarize_intervals(cases: list[CaseMilestones], metric_id: MetricId, group_by: list[GroupBy],
                        f: Filters) -> IntervalsOut:
    metric = METRICS[metric_id]
    groups: dict[tuple[str, ...], list[Interval]] = defaultdict(list)
    for iv in intervals(cases, metric, f):
        groups[_key(iv.case, start_day(iv, metric), group_by)].append(iv)
    out = []
    for key in sorted(groups):
        rows = groups[key]
        done = [iv for iv in rows if iv.status == Status.done]
        hours = [iv.hours for iv in done if iv.hours is not None]
        out.append(IntervalGroup(
            group=dict(zip([g.value for g in group_by], key, strict=True)), n=len(done),
            open=sum(iv.status == Status.open for iv in rows),
            stopped=sum(iv.status == Status.stopped for iv in rows),
            value=stats.summarize([iv.value for iv in done if iv.value is not None]),
            hours=stats.summarize(hours) if metric.unit == "days" and metric.start != "ld_started"
            else None))
    return IntervalsOut(metric=metric.id, label=metric.label, unit=metric.unit,
                        definition=metric.definition, quantile_method=QUANTILE_METHOD,
                        group_by=group_by, start=_iso(f.start), end=_iso(f.end), groups=out)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# ---- rates -----------------------------------------------------------------------------


def _rate(rid: str, label: str, num: int, den: int, open_: int, definition: str) -> Rate:
    return Rate(id=rid, label=label, numerator=num, denominator=den,
                rate=round(num / den, 4) if den else None, open=open_, definition=definition)


def rates_of(cases: list[CaseMilestones], now: datetime) -> list[Rate]:
    started = [m for m in cases if m.mfg_started is not None]
    decided = [m for m in started if m.released is not None or m.oos_reported]
    collected = [m for m in cases if m.first_collected is not None]
    resolved = [m for m in collected if m.infused is not None or m.terminal]
    arrivals = [d for m in cases for d in m.shipment_deadlines]
    closed = [(s, due) for s, due in arrivals if s != "open" or due <= now]
    on_time = sum(s == "met" for s, _ in closed)
    return [
        _rate("manufacturing_failure", "Manufacturing failure or out of specification",
              sum(m.oos_reported for m in decided), len(decided), len(started) - len(decided),
              "Cases with a product reported out of specification, among cases whose "
              "manufacturing reached a QC decision (release or out of specification)."),
        _rate("oos_infused", "Out-of-specification product infused",
              sum(m.oos_released and m.infused is not None for m in decided), len(decided),
              len(started) - len(decided),
              "Cases infused with a product released by exception, among the same cases."),
        _rate("infusion", "Infused among the collected (intention to treat)",
              sum(m.infused is not None for m in resolved), len(resolved),
              len(collected) - len(resolved),
              "Infused cases among collected cases that were infused or ended; cases still "
              "going are left out and counted as open."),
        _rate("on_time_delivery", "On-time delivery (shipment arrival deadline)", on_time,
              len(closed), len(arrivals) - len(closed),
              "Product shipments received at the treatment center before their arrival "
              "deadline, among shipments received or past their deadline."),
    ]


NOT_AVAILABLE = [
    {"id": "on_time_delivery_against_plan",
     "reason": "Cases booked on a manufacturing slot have a planned delivery date, but the "
               "analytics do not read the slot plans yet; on-time delivery is measured against "
               "the shipment arrival deadline."},
    {"id": "slot_utilisation",
     "reason": "Slot capacity and bookings are recorded (Calendar, Slot booking), but the "
               "analytics do not compute their utilisation yet."},
]


def summarize_rates(cases: list[CaseMilestones], group_by: list[GroupBy], f: Filters) -> RatesOut:
    """Rates per group; a case belongs to the month of its first collection."""
    groups: dict[tuple[str, ...], list[CaseMilestones]] = defaultdict(list)
    for m in cases:
        day = stats.local_date(m.first_collected, m.tz("collection")) if m.first_collected \
            else None
        if f.keeps(m, day) and m.first_collected is not None:
            groups[_key(m, day, group_by)].append(m)
    now = clock.now()
    return RatesOut(group_by=group_by, start=_iso(f.start), end=_iso(f.end),
                    groups=[RateGroup(group=dict(zip([g.value for g in group_by], key,
                                                     strict=True)),
                                      rates=rates_of(groups[key], now))
                            for key in sorted(groups)],
                    not_available=NOT_AVAILABLE)


# ---- waterfall, drill-down, export -----------------------------------------------------


def waterfall(cases: list[CaseMilestones], f: Filters) -> WaterfallOut:
    """Mean exact days per consecutive stage over infused cases with every stage recorded: the
    means add up to the mean vein to vein of the same cases (medians would not add up)."""
    v2v = METRICS[MetricId.v2v]
    chosen = [iv.case for iv in intervals(cases, v2v, f) if iv.status == Status.done
              and all(getattr(iv.case, METRICS[s].start) for s in WATERFALL)
              and iv.case.first_collected == iv.case.collected]
    stages = []
    for sid in WATERFALL:
        metric = METRICS[sid]
        days = [stats.exact_hours(getattr(m, metric.start), getattr(m, metric.end)) or 0.0
                for m in chosen]
        stages.append(Stage(metric=sid, label=metric.label,
                            mean_days=round(sum(days) / 24 / len(days), 2) if days else None))
    total = [stats.exact_hours(m.first_collected, m.infused) or 0.0 for m in chosen
             if m.first_collected is not None and m.infused is not None]
    return WaterfallOut(product=f.product, n=len(chosen), stages=stages,
                        total_mean_days=round(sum(total) / 24 / len(total), 2) if total else None,
                        note="Mean exact days per stage over infused cases without a "
                             "recollection; the stages add up to the mean vein to vein.")


def case_rows(cases: list[CaseMilestones], metric_id: MetricId, f: Filters,
              status: Status | None) -> list[CaseInterval]:
    metric = METRICS[metric_id]
    rows = [iv for iv in intervals(cases, metric, f) if status is None or iv.status == status]
    return [CaseInterval(
        case_id=iv.case.case_id, coi=iv.case.coi, coi_check=printed_coi(iv.case.coi).check,
        product=iv.case.product, collection_site=iv.case.site_code("collection"),
        manufacturing_facility=iv.case.site_code("manufacturing"),
        treatment_site=iv.case.site_code("treatment"), state=iv.case.state, status=iv.status,
        start=_moment(iv.start), end=_moment(iv.end) if iv.end is not None else None,
        value=iv.value, hours=iv.hours) for iv in reversed(rows)]


def _moment(value: datetime | date) -> str:
    return value.isoformat()


def export_csv(cases: list[CaseMilestones], f: Filters) -> str:
    """One row per case (COI, never patient details) with every metric's value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["case_id", "coi", "product", "collection_site", "manufacturing_facility",
            "treatment_site", "state", "first_collection_date"]
    for metric in METRICS.values():
        head += [f"{metric.id.value}_{metric.unit}", f"{metric.id.value}_status"]
        if metric.unit == "days":
            head.append(f"{metric.id.value}_hours")
    writer.writerow(head)
    for m in sorted(cases, key=lambda c: c.case_id):
        day = stats.local_date(m.first_collected, m.tz("collection")) if m.first_collected \
            else None
        if not f.keeps(m, day):
            continue
        row: list[Any] = [m.case_id, m.coi, m.product, m.site_code("collection"),
                          m.site_code("manufacturing"), m.site_code("treatment"), m.state,
                          _iso(day) or ""]
        for metric in METRICS.values():
            iv = interval(m, metric)
            row += [_number(iv.value) if iv else "", iv.status.value if iv else ""]
            if metric.unit == "days":
                row.append(_number(iv.hours) if iv else "")
        writer.writerow(row)
    return out.getvalue()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def references() -> ReferencesOut:
    raw = resources.files("cartrack.analytics").joinpath("references.json").read_text()
    return ReferencesOut.model_validate(json.loads(raw))

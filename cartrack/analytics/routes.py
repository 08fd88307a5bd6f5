from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from cartrack.analytics import milestones, service
from cartrack.analytics.models import (
    CaseInterval,
    GroupBy,
    IntervalsOut,
    MetricId,
    RatesOut,
    ReferencesOut,
    Status,
    WaterfallOut,
)
from cartrack.db import SessionDep
from cartrack.errors import Invalid
from cartrack.pagination import Page
from cartrack.security import Access, Principal
from cartrack.users.models import Role

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
ANALYTICS = Access(Role.coordinator, Role.qa, Role.admin)
START = Query(None, description="first day (site-local date of the interval's first milestone)")
END = Query(None, description="last day, inclusive")
PRODUCT = Query(None, max_length=40, description="one product only")
_GROUP_NAMES = "|".join(g.value for g in GroupBy)
# Declared in the spec, checked by _group_by (whose refusal names the groups there are).
GROUP_BY = Query("product", max_length=120,
                 json_schema_extra={"pattern": rf"^\s*({_GROUP_NAMES})?(\s*,\s*({_GROUP_NAMES})?)*\s*$"},
                 description="comma-separated: " + ", ".join(g.value for g in GroupBy)
                 + "; empty for one group of every case")


def _filters(start: date | None, end: date | None, product: str | None) -> service.Filters:
    if start and end and end < start:
        raise Invalid("The end date is before the start date.", code="bad_date_range",
                      context={"start": start.isoformat(), "end": end.isoformat()})
    return service.Filters(start=start, end=end, product=product)


def _group_by(text: str) -> list[GroupBy]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in GroupBy.__members__]
    if unknown:
        raise Invalid(f"Cannot group by {', '.join(unknown)}; use "
                      + ", ".join(g.value for g in GroupBy) + ".", code="bad_group_by")
    return list(dict.fromkeys(GroupBy(n) for n in names))


@router.get("/intervals")
def intervals(session: SessionDep, metric: MetricId = MetricId.v2v, group_by: str = GROUP_BY,
              start: date | None = START, end: date | None = END, product: str | None = PRODUCT,
              principal: Principal = Depends(ANALYTICS)) -> IntervalsOut:
    """n, median, quartiles, min and max of one interval per group, with the open cases (past
    the first milestone, not yet at the second) counted apart from n."""
    f = _filters(start, end, product)
    return service.summarize_intervals(milestones.load(session, principal), metric,
                                       _group_by(group_by), f)


@router.get("/rates")
def rates(session: SessionDep, group_by: str = GROUP_BY, start: date | None = START,
          end: date | None = END, product: str | None = PRODUCT,
          principal: Principal = Depends(ANALYTICS)) -> RatesOut:
    """Manufacturing failure, out-of-specification infusion, infusion among the collected and
    on-time delivery, per group (a case counts in the month of its first collection)."""
    f = _filters(start, end, product)
    return service.summarize_rates(milestones.load(session, principal), _group_by(group_by), f)


@router.get("/waterfall")
def waterfall(session: SessionDep, start: date | None = START, end: date | None = END,
              product: str | None = PRODUCT,
              principal: Principal = Depends(ANALYTICS)) -> WaterfallOut:
    """Where the days go: the mean days of each stage from collection to infusion."""
    return service.waterfall(milestones.load(session, principal), _filters(start, end, product))


@router.get("/cases")
def cases(session: SessionDep, metric: MetricId = MetricId.v2v, status: Status | None = None,
          start: date | None = START, end: date | None = END, product: str | None = PRODUCT,
          limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9),
          principal: Principal = Depends(ANALYTICS)) -> Page[CaseInterval]:
    """The cases behind a number (latest first): COI and the interval, never patient details."""
    rows = service.case_rows(milestones.load(session, principal), metric,
                             _filters(start, end, product), status)
    return Page[CaseInterval](items=rows[offset:offset + limit], total=len(rows), limit=limit,
                              offset=offset)


@router.get("/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "One row per case, every metric"}})
def export_csv(session: SessionDep, start: date | None = START, end: date | None = END,
               product: str | None = PRODUCT,
               principal: Principal = Depends(ANALYTICS)) -> Response:
    """Every visible case with every metric, as CSV (COI only)."""
    text = service.export_csv(milestones.load(session, principal), _filters(start, end, product))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="cartrack-analytics.csv"'})


@router.get("/references")
def references(_: Principal = Depends(ANALYTICS)) -> ReferencesOut:
    """Published reference medians, each with its population and source."""
    return service.references()

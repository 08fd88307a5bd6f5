"""Vein-to-vein analytics: the metrics (each the interval between two journey milestones), the
rates, and the API's answers. Read-only: nothing here is a table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

QUANTILE_METHOD = (
    "Hyndman & Fan type 7 (linear interpolation between order statistics; Python "
    "statistics.quantiles method='inclusive', numpy's default): for 20, 22, 25, 30, 40 "
    "it gives p25 22, median 25, p75 30."
)


class MetricId(StrEnum):
    v2v = "v2v"
    collection_to_mfg_start = "collection_to_mfg_start"
    mfg_turnaround = "mfg_turnaround"
    mfg_duration = "mfg_duration"
    release_to_infusion = "release_to_infusion"
    ld_to_infusion = "ld_to_infusion"
    thaw_to_infusion = "thaw_to_infusion"


class GroupBy(StrEnum):
    product = "product"
    manufacturing_facility = "manufacturing_facility"
    treatment_site = "treatment_site"
    month = "month"


class Status(StrEnum):
    done = "done"  # both milestones reached: counted in n
    open = "open"  # started, end not reached yet, case still going: counted as open
    stopped = "stopped"  # started, case ended (cancelled) without reaching the end


@dataclass(frozen=True)
class Metric:
    """An interval: from one milestone (at the site where it happens) to another."""

    id: MetricId
    label: str
    start: str
    start_site: str
    end: str
    end_site: str
    unit: str  # days (site-local calendar days, with exact hours beside) | minutes (exact)
    definition: str


METRICS: dict[MetricId, Metric] = {m.id: m for m in (
    Metric(MetricId.v2v, "Vein to vein", "first_collected", "collection", "infused", "treatment",
           "days", "First apheresis collection to infusion (a recollection after an "
           "out-of-specification product adds its days)."),
    Metric(MetricId.collection_to_mfg_start, "Collection to manufacturing start", "collected",
           "collection", "mfg_started", "manufacturing", "days",
           "Apheresis collection to manufacturing start (transit and receipt included)."),
    Metric(MetricId.mfg_turnaround, "Manufacturing turnaround", "collected", "collection",
           "released", "manufacturing", "days",
           "Apheresis collection to QA release (the manufacturers' turnaround time)."),
    Metric(MetricId.mfg_duration, "Manufacturing and QC", "mfg_started", "manufacturing",
           "released", "manufacturing", "days", "Manufacturing start to QA release."),
    Metric(MetricId.release_to_infusion, "Release to infusion", "released", "manufacturing",
           "infused", "treatment", "days", "QA release to infusion (shipping, receipt, "
           "lymphodepletion)."),
    Metric(MetricId.ld_to_infusion, "Lymphodepletion to infusion", "ld_started", "treatment",
           "infused", "treatment", "days",
           "First day of lymphodepleting chemotherapy to infusion (a date: no hours)."),
    Metric(MetricId.thaw_to_infusion, "Thaw to infusion", "thawed", "treatment", "infused",
           "treatment", "minutes", "Thaw of the product bag to infusion, in minutes."),
)}

# Where the days go: consecutive stages whose exact durations add up to vein to vein.
WATERFALL = (MetricId.collection_to_mfg_start, MetricId.mfg_duration,
             MetricId.release_to_infusion)


class Summary(BaseModel):
    n: int
    median: float | None
    p25: float | None
    p75: float | None
    min: float | None
    max: float | None


class IntervalGroup(BaseModel):
    group: dict[str, str]
    n: int = Field(description="cases that reached both milestones")
    open: int = Field(description="cases past the first milestone, still going")
    stopped: int = Field(description="cases past the first milestone that ended without the "
                                     "second (cancelled)")
    value: Summary = Field(description="in the metric's unit: site-local calendar days, or "
                                       "minutes")
    hours: Summary | None = Field(description="exact elapsed hours (none for date milestones "
                                              "and minute metrics)")


class IntervalsOut(BaseModel):
    metric: MetricId
    label: str
    unit: str
    definition: str
    quantile_method: str
    group_by: list[GroupBy]
    start: str | None
    end: str | None
    groups: list[IntervalGroup]


class Rate(BaseModel):
    id: str
    label: str
    numerator: int
    denominator: int
    rate: float | None
    open: int = Field(description="cases not yet decided, left out of the denominator")
    definition: str


class RateGroup(BaseModel):
    group: dict[str, str]
    rates: list[Rate]


class RatesOut(BaseModel):
    group_by: list[GroupBy]
    start: str | None
    end: str | None
    groups: list[RateGroup]
    not_available: list[dict[str, str]]


class CaseInterval(BaseModel):
    case_id: int
    coi: str
    coi_check: str
    product: str
    collection_site: str
    manufacturing_facility: str
    treatment_site: str
    state: str
    status: Status
    start: str
    end: str | None
    value: float | None = Field(description="days (site-local calendar days) or minutes")
    hours: float | None


class Stage(BaseModel):
    metric: MetricId
    label: str
    mean_days: float | None


class WaterfallOut(BaseModel):
    product: str | None
    n: int = Field(description="infused cases with every stage recorded")
    stages: list[Stage]
    total_mean_days: float | None
    note: str


class Reference(BaseModel):
    product: str
    metric: MetricId
    median_days: float
    population: str
    source: str
    url: str


class ReferencesOut(BaseModel):
    as_of: str
    note: str
    references: list[Reference]

"""The excursion engine: a pure function over a shipment's sorted readings and its profile's
alarm rules (LogTag-style instant / consecutive / accumulative alarms, Tempsen-style summary).

Time past a limit is counted the way logger reports count it: each reading stands for the time
until the next reading, at most one logging interval (so a regular run of n points lasts
n x interval). A gap longer than twice the interval is a data gap: a finding for QA, never an
excursion, and it ends a run (what happened inside the gap is unknown).

- instant: every run past the threshold is one excursion;
- consecutive: a run past the threshold lasting at least ``delay_minutes`` is one excursion;
- accumulative: once the total time past the threshold reaches ``delay_minutes``, one excursion
  from the first run's start to the last run's end, with the moment the total crossed.

The mean kinetic temperature (ΔH/R = 10,000 K) is given for refrigerated and room-temperature
profiles only; at -150 °C it means nothing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

DELTA_H_OVER_R = 10_000.0  # kelvin: 83.14472 kJ/mol / 8.314472 J/(mol K)
KELVIN = 273.15


class AlarmKind(StrEnum):
    instant = "instant"
    consecutive = "consecutive"
    accumulative = "accumulative"


class Side(StrEnum):
    high = "high"  # past the limit = warmer than the threshold
    low = "low"  # past the limit = colder than the threshold


@dataclass(frozen=True)
class Rule:
    kind: AlarmKind
    side: Side
    threshold_c: float
    delay_minutes: float = 0.0

    @property
    def key(self) -> str:
        """Names the rule in stored excursions: e.g. ``consecutive:high:-150.0``."""
        return f"{self.kind.value}:{self.side.value}:{self.threshold_c}"

    def past(self, temp_c: float) -> bool:
        return temp_c > self.threshold_c if self.side == Side.high else temp_c < self.threshold_c


@dataclass(frozen=True)
class Reading:
    at: datetime
    temp_c: float


@dataclass(frozen=True)
class Found:
    """One excursion: a rule broken from ``started_at`` to ``ended_at``."""

    rule: Rule
    started_at: datetime
    ended_at: datetime
    duration_minutes: float
    extreme_c: float
    events: int = 1  # runs past the threshold it covers (more than one: accumulative)
    triggered_at: datetime | None = None  # when the alarm condition was met


@dataclass(frozen=True)
class Gap:
    started_at: datetime
    ended_at: datetime

    @property
    def minutes(self) -> float:
        return (self.ended_at - self.started_at).total_seconds() / 60


@dataclass(frozen=True)
class Summary:
    points: int
    first_at: datetime | None = None
    last_at: datetime | None = None
    trip_minutes: float = 0.0
    min_c: float | None = None
    min_at: datetime | None = None
    max_c: float | None = None
    max_at: datetime | None = None
    mean_c: float | None = None
    mkt_c: float | None = None


@dataclass(frozen=True)
class Analysis:
    summary: Summary
    excursions: list[Found] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class _Run:
    start: datetime
    end: datetime
    minutes: float
    extreme: float
    # (when, minutes of this run so far) at the end of each reading's time in the run
    marks: list[tuple[datetime, float]]


def mean_kinetic_temperature(temps_c: Sequence[float]) -> float:
    """MKT in °C: (ΔH/R) / -ln(mean(exp(-ΔH/(R·T)))) with T in kelvin."""
    if not temps_c:
        raise ValueError("MKT needs at least one reading")
    mean = sum(math.exp(-DELTA_H_OVER_R / (t + KELVIN)) for t in temps_c) / len(temps_c)
    return DELTA_H_OVER_R / -math.log(mean) - KELVIN


def _weights(readings: Sequence[Reading], interval: timedelta) -> list[timedelta]:
    """The time each reading stands for: until the next, at most one interval; none across a
    data gap."""
    out = []
    for i, r in enumerate(readings):
        if i + 1 == len(readings):
            out.append(interval)
            continue
        step = readings[i + 1].at - r.at
        out.append(interval if step > 2 * interval else min(step, interval))
    return out


def data_gaps(readings: Sequence[Reading], interval: timedelta) -> list[Gap]:
    return [Gap(a.at, b.at) for a, b in pairwise(readings)
            if b.at - a.at > 2 * interval]


def _runs(readings: Sequence[Reading], weights: list[timedelta], rule: Rule,
          interval: timedelta) -> list[_Run]:
    runs: list[_Run] = []
    current: _Run | None = None
    for i, (r, w) in enumerate(zip(readings, weights, strict=True)):
        gap_before = i > 0 and r.at - readings[i - 1].at > 2 * interval
        if current is not None and (gap_before or not rule.past(r.temp_c)):
            runs.append(current)
            current = None
        if not rule.past(r.temp_c):
            continue
        minutes = w.total_seconds() / 60
        if current is None:
            current = _Run(r.at, r.at + w, minutes, r.temp_c, [(r.at + w, minutes)])
            continue
        current.end = r.at + w
        current.minutes += minutes
        current.marks.append((r.at + w, current.minutes))
        worse = r.temp_c > current.extreme if rule.side == Side.high else r.temp_c < current.extreme
        if worse:
            current.extreme = r.temp_c
    if current is not None:
        runs.append(current)
    return runs


def _extreme(rule: Rule, values: list[float]) -> float:
    return max(values) if rule.side == Side.high else min(values)


def _apply(rule: Rule, runs: list[_Run]) -> list[Found]:
    if rule.kind == AlarmKind.instant:
        return [Found(rule, r.start, r.end, r.minutes, r.extreme, 1, r.start) for r in runs]
    if rule.kind == AlarmKind.consecutive:
        out = []
        for r in runs:
            if r.minutes >= rule.delay_minutes:
                when = next(at for at, m in r.marks if m >= rule.delay_minutes)
                out.append(Found(rule, r.start, r.end, r.minutes, r.extreme, 1, when))
        return out
    total = 0.0
    crossed: datetime | None = None
    for r in runs:
        for at, m in r.marks:
            if crossed is None and total + m >= rule.delay_minutes:
                crossed = at
        total += r.minutes
    if crossed is None or not runs:
        return []
    return [Found(rule, runs[0].start, runs[-1].end, total,
                  _extreme(rule, [r.extreme for r in runs]), len(runs), crossed)]


def summarize(readings: Sequence[Reading], *, with_mkt: bool) -> Summary:
    if not readings:
        return Summary(points=0)
    lo = min(readings, key=lambda r: r.temp_c)
    hi = max(readings, key=lambda r: r.temp_c)
    temps = [r.temp_c for r in readings]
    return Summary(
        points=len(readings), first_at=readings[0].at, last_at=readings[-1].at,
        trip_minutes=(readings[-1].at - readings[0].at).total_seconds() / 60,
        min_c=lo.temp_c, min_at=lo.at, max_c=hi.temp_c, max_at=hi.at,
        mean_c=round(sum(temps) / len(temps), 3),
        mkt_c=round(mean_kinetic_temperature(temps), 3) if with_mkt else None)


def analyse(readings: Sequence[Reading], rules: Sequence[Rule], interval_minutes: float, *,
            with_mkt: bool) -> Analysis:
    """Summary, excursions (in rule order, then time) and data gaps of sorted readings."""
    ordered = sorted(readings, key=lambda r: r.at)
    interval = timedelta(minutes=interval_minutes)
    weights = _weights(ordered, interval)
    found: list[Found] = []
    for rule in rules:
        found.extend(_apply(rule, _runs(ordered, weights, rule, interval)))
    return Analysis(summarize(ordered, with_mkt=with_mkt), found, data_gaps(ordered, interval))

"""A year of demo history: about 150 cases, driven through the journey on a frozen clock.

Each case is planned first: its dates are drawn around the published medians of the products
(vein-to-vein about 27 days for axi-cel and 43 for tisa-cel in the US; see
``cartrack/analytics/references.json``), from a fixed seed, so every build has the same
intervals. Then every step of every case is applied in time order through
``journey.service.apply_event`` with ``cartrack.clock`` set to the step's moment
(``demo_history_steps``): the timelines, milestones, deadlines, e-signatures, custody events
and the audit chain are all the journey's own, and chronological.

Other domains add to the demo by adding steps to a plan (``CasePlan.extra``), not by writing
rows directly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cartrack.clock import as_utc

SEED = 20261128
HISTORY_DAYS = 365


class Outcome(StrEnum):
    completed = "completed"
    oos_exceptional_release = "oos_exceptional_release"
    oos_recollect = "oos_recollect"
    oos_cancel = "oos_cancel"
    oos_pending = "oos_pending"
    cancel_before_collection = "cancel_before_collection"
    cancel_in_manufacturing = "cancel_in_manufacturing"
    cancel_after_release = "cancel_after_release"
    hold_enrolled = "hold_enrolled"
    hold_released = "hold_released"
    in_manufacturing = "in_manufacturing"
    in_qc = "in_qc"


@dataclass(frozen=True)
class Timing:
    """Median days per stage of one product, and how widely its cases spread around them."""

    mfg_days: float  # manufacturing start -> QA release
    release_to_infusion: float
    spread: float  # standard deviation of the manufacturing days


# Manufacturing start -> release, and release -> infusion, so that vein-to-vein lands near the
# published medians: axi-cel US 27.0 d, tisa-cel US 42.7 d, liso-cel 35.9 d (trials); ide-cel,
# brexu-cel and cilta-cel have no published median here and follow their manufacturing times.
TIMINGS: dict[str, Timing] = {
    "yescarta": Timing(13, 12, 1.2),
    "tecartus": Timing(14, 12, 1.5),
    "breyanzi": Timing(22, 12, 2.0),
    "kymriah": Timing(28, 12, 2.5),
    "abecma": Timing(24, 12, 2.0),
    "carvykti": Timing(28, 12, 2.5),
}
# Days beyond the label's earliest infusion day after lymphodepletion: tisa-cel's registry
# median from the start of lymphodepletion to infusion is 6 days (IQR 6-7).
EXTRA_LD_GAP = {"kymriah": (1, 2, 2, 2, 3)}
MIX = (("yescarta", 34), ("tecartus", 16), ("breyanzi", 28), ("kymriah", 26), ("abecma", 24),
       ("carvykti", 22))

# Cases that do not simply complete; every other case of the 150 completes.
EXCEPTIONS: tuple[tuple[Outcome, str], ...] = (
    (Outcome.oos_exceptional_release, "yescarta"), (Outcome.oos_exceptional_release, "carvykti"),
    (Outcome.oos_recollect, "kymriah"), (Outcome.oos_recollect, "abecma"),
    (Outcome.oos_cancel, "breyanzi"), (Outcome.oos_pending, "tecartus"),
    (Outcome.cancel_before_collection, "abecma"), (Outcome.cancel_in_manufacturing, "carvykti"),
    (Outcome.cancel_after_release, "yescarta"),
    (Outcome.hold_enrolled, "kymriah"), (Outcome.hold_enrolled, "yescarta"),
    (Outcome.hold_released, "breyanzi"),
    (Outcome.in_manufacturing, "yescarta"), (Outcome.in_manufacturing, "carvykti"),
    (Outcome.in_manufacturing, "breyanzi"), (Outcome.in_qc, "abecma"), (Outcome.in_qc, "kymriah"),
)

# How many days before "now" each open history case reaches the point it stops at (the
# deadlines it leaves open then fire only in the future, so the demo starts without stale
# alerts).
RECENT_DAYS: dict[Outcome, int] = {
    Outcome.oos_pending: 2, Outcome.hold_enrolled: 12, Outcome.hold_released: 3,
    Outcome.in_manufacturing: 4, Outcome.in_qc: 3,
}


@dataclass
class CasePlan:
    """When each step of one history case happens, in site-local days and UTC moments."""

    index: int
    product: str
    collection_site: str
    outcome: Outcome
    collection_day: date
    enroll_lead_days: int
    cryo_apheresis: bool
    start_next_day: bool
    mfg_days: int
    release_to_infusion_days: int
    late_delivery: bool
    thaw_minutes: int
    gap_after_ld: int
    jitter_minutes: int
    qc_failure: str | None = None
    recollection_days: int = 0
    # Steps other domains add to this case: (moment, step) pairs, applied in time order too.
    extra: list[tuple[datetime, Callable[[Any], None]]] = field(default_factory=list)

    @property
    def start_offset(self) -> int:
        """Days from collection to manufacturing start (frozen apheresis travels a day later)."""
        return 2 if self.cryo_apheresis or self.start_next_day else 1

    @property
    def qc_days(self) -> int:
        """Days of release testing after the product is cryopreserved."""
        return 7 if self.mfg_days >= 20 else 5

    @property
    def complete_offset(self) -> int:
        """Days from manufacturing start to the cryopreserved final product."""
        return max(4, self.mfg_days - self.qc_days)

    @property
    def expected_v2v_days(self) -> int:
        return (self.start_offset + self.mfg_days + self.release_to_infusion_days
                + self.recollection_days)


def local(day: date, hhmm: str, tz: str, minutes: int = 0) -> datetime:
    """A site-local wall-clock moment as an aware UTC datetime."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    moment = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz))
    return as_utc(moment + timedelta(minutes=minutes))


def _outcomes(rng: random.Random) -> list[tuple[str, Outcome]]:
    """The 150 cases' products and outcomes, the exceptions placed at random among them."""
    products = [p for p, n in MIX for _ in range(n)]
    rng.shuffle(products)
    out = [(p, Outcome.completed) for p in products]
    free = list(range(len(out)))
    rng.shuffle(free)
    for outcome, product in EXCEPTIONS:
        slot = next(i for i in free if out[i] == (product, Outcome.completed))
        free.remove(slot)
        out[slot] = (product, outcome)
    return out


def _days(rng: random.Random, median: float, sd: float, low: int) -> int:
    return max(low, round(rng.gauss(median, sd)))


def make_plans(today: date, cryo_products: frozenset[str], seed: int = SEED) -> list[CasePlan]:
    """One plan per history case, all of it before ``today`` (the collection site's date)."""
    rng = random.Random(seed)
    plans = []
    for index, (product, outcome) in enumerate(_outcomes(rng)):
        timing = TIMINGS[product]
        slow = rng.random() < 0.07  # a few cases wait for a slot or a repeat test
        plan = CasePlan(
            index=index, product=product,
            collection_site="CC-NORTH" if rng.random() < 0.3 else "TC-CITY",
            outcome=outcome, collection_day=today, enroll_lead_days=rng.randint(5, 14),
            cryo_apheresis=product in cryo_products, start_next_day=rng.random() < 0.25,
            mfg_days=_days(rng, timing.mfg_days + (6 if slow else 0), timing.spread, 9),
            release_to_infusion_days=_days(rng, timing.release_to_infusion, 2.0, 8),
            late_delivery=rng.random() < 0.06, thaw_minutes=rng.randint(10, 24),
            gap_after_ld=rng.choice(EXTRA_LD_GAP.get(product, (0, 0, 0, 1))),
            jitter_minutes=rng.randint(0, 75),
            qc_failure=rng.choice(("viability", "car_expression")) if outcome.startswith("oos")
            else None,
            recollection_days=0,
        )
        if outcome == Outcome.oos_recollect:
            plan.recollection_days = 6 + plan.start_offset + plan.mfg_days
        plan.collection_day = _collection_day(rng, plan, today)
        plans.append(plan)
    return plans


def _collection_day(rng: random.Random, plan: CasePlan, today: date) -> date:
    """Completed and closed cases spread over the year; open ones stop a few days ago."""
    recent = RECENT_DAYS.get(plan.outcome)
    if recent is None:
        # Infusion, then 8 days of monitoring and the completion, all before today.
        latest = plan.expected_v2v_days + 12
        return today - timedelta(days=rng.randint(latest, HISTORY_DAYS - plan.enroll_lead_days))
    start = plan.start_offset
    back = {Outcome.in_manufacturing: start + recent,
            Outcome.in_qc: start + plan.complete_offset + recent,
            Outcome.oos_pending: start + plan.complete_offset + 2 + recent,
            Outcome.hold_released: start + plan.mfg_days + recent,
            Outcome.hold_enrolled: recent - plan.enroll_lead_days}[plan.outcome]
    return today - timedelta(days=back)

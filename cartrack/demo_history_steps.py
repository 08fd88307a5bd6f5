"""The steps of each history case, applied in time order through the journey's own functions.

Every step sets the frozen clock to its moment and then does what a person would: an event
through ``journey.service.apply_event`` (signed with the demo password where the journey asks
for an e-signature), or the bedside scans through ``scans.service.scan``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.demo_history import SEED, CasePlan, Outcome, local, make_plans
from cartrack.identity.identifiers import printed_unit
from cartrack.journey import events as sc
from cartrack.journey import service as journey
from cartrack.journey.models import Case
from cartrack.labels.payload import key_ring, sign_wristband
from cartrack.scans import service as scans
from cartrack.security import Principal
from cartrack.units.models import Unit, Wristband

_EVENT: TypeAdapter[Any] = TypeAdapter(sc.EventIn)
EXPUNGE_EVERY = 25
TREATMENT, MANUFACTURING = "TC-CITY", "MF-EAST"
GIVEN = ("Alice", "Bruno", "Carmen", "David", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
         "Kemal", "Leila", "Marcus", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Stefan",
         "Tamar", "Umar", "Vera", "Walter", "Xenia", "Yusuf", "Zofia")
FAMILY = ("Abbott", "Becker", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes",
          "Ivanova", "Jensen", "Kim", "Lopez", "Moreau", "Nowak", "Okonkwo", "Petrov", "Quist",
          "Rossi", "Schmidt", "Tanaka", "Urban", "Varga", "Weber", "Young", "Zimmer")
QC_PASS = {"sterility": "No growth", "mycoplasma": "Not detected", "endotoxin": "< 0.5 EU/mL",
           "viability": "91 %", "car_expression": "44 %", "vcn": "1.9"}
QC_FAIL = {"viability": "62 %", "car_expression": "11 %"}


@dataclass
class Driver:
    """What the steps share: the session, the demo users, the clock and the cases made so far."""

    session: Session
    people: dict[str, Principal]
    password: str
    clock: clock.FrozenClock
    tz: dict[str, str]
    rng: random.Random
    cases: dict[int, Case] = field(default_factory=dict)

    def case(self, plan: CasePlan) -> Case:
        return self.cases[plan.index]

    def event(self, who: str, plan: CasePlan, event: str, data: dict[str, Any],
              signed: bool = False) -> None:
        body: dict[str, Any] = {"event": event, "data": data}
        if signed:
            body["signature"] = {"password": self.password}
        journey.apply_event(self.session, self.people[who], self.case(plan).id or 0,
                            _EVENT.validate_python(body))

    def bags(self, plan: CasePlan, kind: str) -> list[str]:
        """The case's usable bags of a kind, as typed: the unit ID and its check character."""
        rows = self.session.exec(select(Unit).where(
            Unit.case_id == self.case(plan).id, Unit.kind == kind,
            col(Unit.status).not_in(("discarded", "consumed"))).order_by(col(Unit.id))).all()
        return [printed_unit(u.unit_id).value + printed_unit(u.unit_id).check for u in rows]


Step = tuple[datetime, Callable[[Driver], None]]


class Steps:
    """Builds one case's steps: each ``at`` names a site-local day and time."""

    def __init__(self, plan: CasePlan, tz: dict[str, str]) -> None:
        self.plan, self.tz = plan, tz
        self.out: list[Step] = []

    def at(self, day: date, hhmm: str, site: str, fn: Callable[[Driver], None],
           minutes: int = 0) -> datetime:
        moment = local(day, hhmm, self.tz[site], minutes)
        self.out.append((moment, fn))
        return moment


def build_steps(plan: CasePlan, tz: dict[str, str]) -> list[Step]:
    s = Steps(plan, tz)
    _enroll(s)
    outcome = plan.outcome
    if outcome == Outcome.hold_enrolled:
        s.at(_enroll_day(plan) + timedelta(days=2), "11:00", TREATMENT, _hold(
            plan, "Patient admitted with an infection; re-evaluate eligibility next week"))
        return s.out
    _schedule(s, plan.collection_day - timedelta(days=plan.enroll_lead_days))
    if outcome == Outcome.cancel_before_collection:
        s.at(plan.collection_day - timedelta(days=2), "15:00", TREATMENT, _cancel(
            plan, "Disease progression before collection; patient no longer eligible"))
        return s.out
    start = _collect_and_start(s, plan.collection_day)
    if outcome == Outcome.in_manufacturing:
        _process_steps(s, start, upto=3)
        return s.out
    if outcome == Outcome.cancel_in_manufacturing:
        _process_steps(s, start, upto=2)
        s.at(start + timedelta(days=3), "16:00", TREATMENT, _cancel(
            plan, "Patient died of disease progression during manufacturing"))
        return s.out
    release = _manufacture(s, start)
    if outcome in (Outcome.in_qc, Outcome.oos_pending) or outcome.startswith("oos"):
        return _after_qc(s, start, release)
    return _after_release(s, release)


def _enroll_day(plan: CasePlan) -> date:
    return plan.collection_day - timedelta(days=plan.enroll_lead_days)


def _after_qc(s: Steps, start: date, release: date) -> list[Step]:
    plan = s.plan
    if plan.outcome == Outcome.in_qc:
        return s.out
    report = start + timedelta(days=plan.complete_offset + 2)
    s.at(report, "15:00", MANUFACTURING, _qa_event(
        plan, "report_out_of_spec", {"reason": f"{plan.qc_failure} below its specification"}))
    if plan.outcome == Outcome.oos_pending:
        return s.out
    if plan.outcome == Outcome.oos_cancel:
        s.at(report + timedelta(days=2), "11:00", MANUFACTURING, _qa_event(
            plan, "decide_out_of_spec", {"decision": "cancel", "reason": "Product cannot be "
                                         "released; patient not fit for a second collection"},
            signed=True))
        return s.out
    if plan.outcome == Outcome.oos_exceptional_release:
        s.at(release, "11:00", MANUFACTURING, _qa_event(
            plan, "decide_out_of_spec", {
                "decision": "exceptional_release", "physician_acknowledgement": "Dr. Helen Marsh",
                "reason": "Benefit outweighs the risk; treating physician informed and agrees"},
            signed=True))
        return _after_release(s, release)
    recollect = release + timedelta(days=6)
    s.at(release, "11:00", MANUFACTURING, _qa_event(
        plan, "decide_out_of_spec", {"decision": "recollect", "collection_date":
                                     recollect.isoformat(),
                                     "reason": "Second collection and manufacture agreed"},
        signed=True))
    second = _collect_and_start(s, recollect)
    return _after_release(s, _manufacture(s, second, first=False))


def _after_release(s: Steps, release: date) -> list[Step]:
    plan = s.plan
    if plan.outcome == Outcome.hold_released:
        s.at(release + timedelta(days=1), "09:00", TREATMENT, _hold(
            plan, "Patient hospitalised with pneumonia; lymphodepletion postponed"))
        return s.out
    receipt = _ship_to_treatment(s, release)
    if plan.outcome == Outcome.cancel_after_release:
        s.at(release + timedelta(days=4), "14:00", TREATMENT, _cancel(
            plan, "Patient transferred to palliative care before lymphodepletion"))
        return s.out
    infusion = release + timedelta(days=plan.release_to_infusion_days)
    _lymphodepletion(s, infusion, receipt)
    _infuse_and_monitor(s, infusion)
    return s.out


# ---- phases ----------------------------------------------------------------------------


def _enroll(s: Steps) -> None:
    plan = s.plan

    def run(d: Driver) -> None:
        rng = random.Random(plan.index)
        patient = sc.PatientIn(
            given_name=rng.choice(GIVEN), family_name=rng.choice(FAMILY),
            date_of_birth=date(rng.randint(1942, 1992), rng.randint(1, 12), rng.randint(1, 28)),
            mrn=f"MRN-{210000 + plan.index}")
        d.cases[plan.index] = journey.enroll(d.session, d.people["coordinator"], sc.EnrollIn(
            patient=patient, product=plan.product, collection_site=plan.collection_site,
            manufacturing_site=MANUFACTURING, treatment_site=TREATMENT))
        d.session.flush()

    s.at(_enroll_day(plan), "09:30", TREATMENT, run, plan.jitter_minutes)


def _schedule(s: Steps, day: date) -> None:
    plan = s.plan
    planned = plan.collection_day + timedelta(days=plan.expected_v2v_days)
    s.at(day, "10:00", TREATMENT, lambda d: d.event("coordinator", plan, "schedule_collection", {
        "collection_date": plan.collection_day.isoformat(),
        "manufacturing_slot": f"{MANUFACTURING} slot {plan.collection_day:%Y-%m-%d}",
        "planned_infusion_date": planned.isoformat()}), plan.jitter_minutes)


def _collect_and_start(s: Steps, day: date) -> date:
    """Collection, shipment, receipt and manufacturing start; returns the start day."""
    plan, site = s.plan, s.plan.collection_site
    s.at(day, "14:00", site, lambda d: d.event("collection_staff", plan, "record_collection", {
        "collection_end": (d.clock.current - timedelta(minutes=50)).isoformat(),
        "units": [{"volume_ml": 210.0}, {"volume_ml": 185.0}]}), plan.jitter_minutes)
    ship_day = day + timedelta(days=1 if plan.cryo_apheresis else 0)
    s.at(ship_day, "08:00" if plan.cryo_apheresis else "16:30", site, lambda d: d.event(
        "collection_staff", plan, "ship_to_manufacturing", {
            "scans": d.bags(plan, "apheresis"),
            "shipper_type": "LN2 dry shipper" if plan.cryo_apheresis else "2-8 °C shipper",
            "courier": "MedCourier", "tracking_number": f"MC{plan.index:04d}{day:%m%d}"}))
    receive_day = ship_day + timedelta(days=1)
    temperature = -172.0 if plan.cryo_apheresis else 4.0 + (plan.index % 5) * 0.5
    s.at(receive_day, "09:00", MANUFACTURING, lambda d: d.event(
        "lab_tech", plan, "receive_at_manufacturing", {
            "scans": d.bags(plan, "apheresis"), "shipper_temperature_c": temperature,
            "storage_location": "Receiving fridge 2"}), plan.jitter_minutes // 3)
    start = receive_day + timedelta(days=1 if plan.start_next_day and not plan.cryo_apheresis
                                    else 0)
    s.at(start, "08:30" if start > receive_day else "13:00", MANUFACTURING, lambda d: d.event(
        "lab_tech", plan, "start_manufacturing", {"scan": d.bags(plan, "apheresis")[0]}))
    return start


STEPS = ("activation", "transduction", "expansion", "harvest", "formulation")


def _process_steps(s: Steps, start: date, upto: int = 5, harvest_day: int = 0) -> None:
    plan = s.plan
    days = (0, 1, 2, harvest_day, harvest_day)
    for i, step in enumerate(STEPS[:upto]):
        s.at(start + timedelta(days=days[i]), "15:00" if i == 0 else ("11:00" if i == 4 else
                                                                     "09:30"), MANUFACTURING,
             _step(plan, step))


def _step(plan: CasePlan, step: str) -> Callable[[Driver], None]:
    return lambda d: d.event("lab_tech", plan, "record_process_step",
                             {"step": step, "scan": d.bags(plan, "apheresis")[0]})


def _manufacture(s: Steps, start: date, first: bool = True) -> date:
    """Process steps, the final product bag, QC and (unless out of specification) release."""
    plan = s.plan
    done = start + timedelta(days=plan.complete_offset)
    _process_steps(s, start, harvest_day=plan.complete_offset)
    s.at(done, "14:00", MANUFACTURING, lambda d: d.event("lab_tech", plan,
                                                         "complete_manufacturing", {
        "scan": d.bags(plan, "apheresis")[0], "bags": [{"volume_ml": 68.0}],
        "cryopreserved_at": (d.clock.current - timedelta(minutes=20)).isoformat()}))
    fails = first and plan.outcome.startswith("oos")
    release = start + timedelta(days=plan.mfg_days)
    order = [("viability", 1), ("car_expression", 1), ("vcn", 1), ("endotoxin", 2),
             ("mycoplasma", 2), ("sterility", plan.qc_days - 1)]
    # A failing result is reported out of specification two days after the product is made,
    # so the tests due later are not run; a case still in QC has its slow tests outstanding.
    last = 2 if fails or plan.outcome == Outcome.in_qc else plan.qc_days
    for test, offset in order:
        if offset > last or (plan.outcome == Outcome.in_qc and test == "mycoplasma"):
            continue
        failing = fails and test == plan.qc_failure
        s.at(done + timedelta(days=offset), "10:00", MANUFACTURING, _qc(
            plan, test, QC_FAIL[test] if failing else QC_PASS[test], not failing))
    if not fails and plan.outcome != Outcome.in_qc:
        s.at(release, "11:00", MANUFACTURING, _qa_event(plan, "release", {}, signed=True),
             plan.jitter_minutes // 2)
    return release


def _qc(plan: CasePlan, test: str, value: str, passed: bool) -> Callable[[Driver], None]:
    return lambda d: d.event("lab_tech", plan, "record_qc_result",
                             {"test": test, "value": value, "passed": passed})


def _ship_to_treatment(s: Steps, release: date) -> datetime:
    plan = s.plan
    shipped = s.at(release + timedelta(days=1), "08:30", MANUFACTURING, lambda d: d.event(
        "lab_tech", plan, "ship_to_treatment_center", {
            "scans": d.bags(plan, "product"), "shipper_type": "LN2 dry shipper",
            "courier": "CryoLogistics", "tracking_number": f"CL{plan.index:04d}{release:%m%d}"}))
    transit = timedelta(hours=75 if plan.late_delivery else 26, minutes=plan.jitter_minutes)
    received = shipped + transit
    s.out.append((received, lambda d: d.event(
        "infusion_staff", plan, "receive_at_treatment_center", {
            "scans": d.bags(plan, "product"), "shipper_temperature_c": -178.0,
            "storage_location": f"LN2 tank B, rack {1 + plan.index % 6}"})))
    return received


def _lymphodepletion(s: Steps, infusion: date, receipt: datetime) -> None:
    plan = s.plan
    rules = LD_RULES[plan.product]
    ld_end = infusion - timedelta(days=min(rules[1] + plan.gap_after_ld, rules[2]))
    ld_start = ld_end - timedelta(days=rules[0] - 1)
    s.at(ld_start, "08:00", TREATMENT, lambda d: d.event(
        "infusion_staff", plan, "start_lymphodepletion", {"start_date": ld_start.isoformat()}))
    s.at(ld_end, "17:00", TREATMENT, lambda d: d.event(
        "infusion_staff", plan, "complete_lymphodepletion", {"end_date": ld_end.isoformat()}))


# Lymphodepletion days and the infusion window after it (first, last day), per the catalog.
LD_RULES: dict[str, tuple[int, int, int]] = {
    "yescarta": (3, 3, 3), "tecartus": (3, 3, 3), "breyanzi": (3, 2, 7), "abecma": (3, 2, 7),
    "carvykti": (3, 2, 4), "kymriah": (3, 2, 14),
}


def _infuse_and_monitor(s: Steps, infusion: date) -> None:
    plan = s.plan
    thawed = s.at(infusion, "09:15", TREATMENT, lambda d: d.event(
        "infusion_staff", plan, "thaw", {"scan": d.bags(plan, "product")[0]}),
        plan.jitter_minutes)
    infused = thawed + timedelta(minutes=plan.thaw_minutes)
    s.out.append((infused - timedelta(minutes=3), _bedside_scans(plan)))
    s.out.append((infused, lambda d: d.event("infusion_staff", plan, "infuse", {
        "second_signer": {"username": "infusion_staff2", "password": d.password}}, signed=True)))
    for day in range(1, 8):
        s.at(infusion + timedelta(days=day), "09:30", TREATMENT, _monitoring(plan, day))
    s.at(infusion + timedelta(days=8), "11:00", TREATMENT,
         lambda d: d.event("coordinator", plan, "complete", {}))


def _bedside_scans(plan: CasePlan) -> Callable[[Driver], None]:
    """The wristband, then the thawed bag, scanned at the bedside (one step: nothing between)."""

    def run(d: Driver) -> None:
        nurse, case = d.people["infusion_staff"], d.case(plan)
        band = d.session.exec(select(Wristband).where(Wristband.case_id == case.id,
                                                      Wristband.active == True)).one()  # noqa: E712
        scans.scan(d.session, nurse, sign_wristband(key_ring(), band.wristband_id, case.coi),
                   action=scans.BEDSIDE.value)
        scans.scan(d.session, nurse, d.bags(plan, "product")[0], action=scans.BEDSIDE.value)

    return run


def _monitoring(plan: CasePlan, day: int) -> Callable[[Driver], None]:
    # Grades stay below 2 here: a grade of 2 or more raises a critical alert, and the demo does
    # not start with a year's alerts firing at once.
    grades = random.Random(plan.index * 31 + day)
    return lambda d: d.event("infusion_staff", plan, "record_monitoring_check", {
        "day": day, "crs_grade": grades.choice((0, 0, 0, 1)), "icans_grade": grades.choice((0, 0,
                                                                                            0, 0, 1))})


def _qa_event(plan: CasePlan, event: str, data: dict[str, Any], signed: bool = False
              ) -> Callable[[Driver], None]:
    return lambda d: d.event("qa", plan, event, data, signed=signed)


def _hold(plan: CasePlan, reason: str) -> Callable[[Driver], None]:
    return lambda d: d.event("coordinator", plan, "hold", {"reason": reason})


def _cancel(plan: CasePlan, reason: str) -> Callable[[Driver], None]:
    return lambda d: d.event("coordinator", plan, "cancel", {"reason": reason}, signed=True)


# ---- the run ---------------------------------------------------------------------------


def seed_history(session: Session, password: str, people: dict[str, Principal],
                 tz: dict[str, str], cryo_products: frozenset[str], now: datetime) -> int:
    """Plan and apply the year before ``now``; returns how many cases it made."""
    today = now.astimezone(ZoneInfo(tz[TREATMENT])).date()
    plans = make_plans(today, cryo_products)
    steps = sorted(
        ((at, plan.index, i, fn) for plan in plans
         for i, (at, fn) in enumerate([*build_steps(plan, tz), *plan.extra])),
        key=lambda step: step[:3])
    if steps[-1][0] >= now:
        raise ValueError(f"a history step falls after now: {steps[-1][0]}")
    frozen = clock.FrozenClock(steps[0][0])
    driver = Driver(session, people, password, frozen, tz, random.Random(SEED))
    with clock.using(frozen):
        for done, (at, _index, _seq, run) in enumerate(steps, start=1):
            frozen.current = at
            run(driver)
            if done % EXPUNGE_EVERY == 0:
                # Written rows need not stay in the session: a year of them slows every flush.
                session.flush()
                session.expunge_all()
    session.flush()
    return len(plans)

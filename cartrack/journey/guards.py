"""The journey's guards: named predicates the table lists per event (SENAITE's guards.py).

Their shape and registry are in ``journey.guard_registry``; the slot and cold-chain guards in
``journey.guards_logistics``, registered by the import below."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import DeadlineKind
from cartrack.alerts.raising import create_alert
from cartrack.journey import deadlines
from cartrack.journey.context import Ctx, Writer
from cartrack.journey.due import infusion_day
from cartrack.journey.events import (
    CompleteLdData,
    InfuseData,
    MonitoringData,
    OutOfSpecDecisionData,
    ProcessStepData,
    QcResultData,
    ReceiveTreatmentData,
    RecordCollectionData,
    ScheduleCollectionData,
    StartLdData,
)
from cartrack.journey.guard_registry import (
    GUARDS,
    CaseView,
    Failure,
    Guard,
    Override,
    data_guard,
    state_guard,
)

# Importing it registers the slot and cold-chain guards, which the table names like any other.
from cartrack.journey.guards_logistics import dispatch_check
from cartrack.journey.models import MonitoringCheck, QcResult
from cartrack.journey.transitions import SiteScope
from cartrack.protocols.models import PROCESS_STEPS
from cartrack.scheduling import service as slots
from cartrack.security import Principal, load_principal
from cartrack.users import service as users
from cartrack.users.models import Role

__all__ = ["GUARDS", "CaseView", "Failure", "Guard", "Override", "data_guard", "dispatch_check",
           "state_guard"]


# ---- scheduling and collection ---------------------------------------------------------


def scheduled(ctx: Ctx, d: ScheduleCollectionData, key: str) -> Any:
    """The value given, else the confirmed slot's plan's."""
    given = getattr(d, key)
    return given if given is not None else slots.collection_defaults(
        ctx.session, ctx.case.id or 0).get(key)


@data_guard("the collection date is today or later at the collection site")
def collection_date_not_past(ctx: Ctx, d: ScheduleCollectionData) -> Failure | None:
    today = clock.local_today(ctx.tz(SiteScope.collection))
    if d.collection_date < today:
        return Failure(f"the collection date {d.collection_date} is in the past at the "
                       f"collection site (today is {today}).")
    return None


@data_guard("a planned infusion date (given, else the confirmed slot's) is after the "
            "collection date")
def planned_infusion_after_collection(ctx: Ctx, d: ScheduleCollectionData) -> Failure | None:
    infusion = scheduled(ctx, d, "planned_infusion_date")
    if infusion and infusion <= d.collection_date:
        return Failure("the planned infusion date must be after the collection date.")
    return None


@data_guard("the collection end time is not in the future")
def collection_end_not_future(ctx: Ctx, d: RecordCollectionData) -> Failure | None:
    if d.collection_end > ctx.now + timedelta(minutes=5):
        return Failure("the collection end time is in the future.")
    return None


# ---- manufacturing and QC --------------------------------------------------------------


@state_guard("a process step is left to record")
def process_steps_remaining(v: CaseView) -> Failure | None:
    if v.case.next_process_step >= len(PROCESS_STEPS):
        return Failure("every process step is already recorded.")
    return None


@data_guard("steps in protocol order: " + ", ".join(PROCESS_STEPS))
def step_in_protocol_order(ctx: Ctx, d: ProcessStepData) -> Failure | None:
    expected = PROCESS_STEPS[ctx.case.next_process_step]
    if d.step != expected:
        return Failure(f"the next step is {expected}, not {d.step}.", {"next_step": expected})
    return None


@state_guard("every process step is recorded")
def every_process_step_recorded(v: CaseView) -> Failure | None:
    if v.case.next_process_step < len(PROCESS_STEPS):
        missing = ", ".join(PROCESS_STEPS[v.case.next_process_step:])
        return Failure(f"steps still to record: {missing}.")
    return None


@data_guard("the test is one the protocol lists")
def qc_test_in_protocol(ctx: Ctx, d: QcResultData) -> Failure | None:
    codes = [t.code for t in ctx.rules.qc_tests]
    if d.test not in codes:
        return Failure(f"{d.test!r} is not a QC test of this protocol; expected one of "
                       + ", ".join(codes) + ".")
    return None


def latest_qc(session: Session, case_id: int) -> dict[str, QcResult]:
    rows = session.exec(select(QcResult).where(QcResult.case_id == case_id)
                        .order_by(col(QcResult.id))).all()
    return {r.test: r for r in rows}


@state_guard("every QC test the protocol requires is present and passing")
def every_required_qc_test_passing(v: CaseView) -> Failure | None:
    latest = latest_qc(v.session, v.case.id or 0)
    missing = [t.code for t in v.rules.qc_tests if t.code not in latest]
    failing = [t.code for t in v.rules.qc_tests if t.code in latest and not latest[t.code].passed]
    parts = (["results missing for " + ", ".join(missing)] if missing else []) + (
        ["failing: " + ", ".join(failing)] if failing else [])
    return Failure("; ".join(parts) + ".") if parts else None


@state_guard("at least one QC result is failing")
def a_qc_result_failing(v: CaseView) -> Failure | None:
    if not any(not r.passed for r in latest_qc(v.session, v.case.id or 0).values()):
        return Failure("no QC result is failing; record the failing result first.")
    return None


@data_guard("an exceptional release has the treating physician's acknowledgement")
def physician_acknowledges_exceptional_release(ctx: Ctx, d: OutOfSpecDecisionData
                                               ) -> Failure | None:
    if d.decision == "exceptional_release" and not d.physician_acknowledgement:
        return Failure("exceptional release needs the treating physician's acknowledgement.")
    return None


@data_guard("a recollection has a collection date, today or later at the collection site")
def recollection_date_given(ctx: Ctx, d: OutOfSpecDecisionData) -> Failure | None:
    if d.decision != "recollect":
        return None
    if d.collection_date is None:
        return Failure("a recollection needs a collection date.")
    today = clock.local_today(ctx.tz(SiteScope.collection))
    if d.collection_date < today:
        return Failure(f"the collection date {d.collection_date} is in the past at the "
                       f"collection site (today is {today}).")
    return None


# ---- treatment center ------------------------------------------------------------------


def _temperature_alert(ctx: Ctx, message: str) -> Writer:
    case_id, coi, site = ctx.case.id, ctx.case.coi, ctx.case.treatment_site_id

    def write(session: Session) -> None:
        create_alert(session, case_id, kind="mismatch", severity="critical",
                     title="Product refused on receipt: shipper too warm",
                     message=f"Case {coi}: {message}",
                     targets={(Role.infusion_staff.value, site), (Role.coordinator.value, site)},
                     data={"reason": "temperature", "event": ctx.t.event})
    return write


@data_guard("the shipper temperature is in range")
def shipper_temperature_in_range(ctx: Ctx, d: ReceiveTreatmentData) -> Failure | None:
    limit = ctx.rules.product_ship_temp_max_c
    if d.shipper_temperature_c > limit:
        message = (f"the shipper reads {d.shipper_temperature_c} °C, warmer than {limit} °C: "
                   "do not accept the product; quarantine it and call manufacturing.")
        return Failure(message, also_record=[_temperature_alert(ctx, message)])
    return None


@state_guard("lymphodepletion has not started yet")
def ld_not_started(v: CaseView) -> Failure | None:
    if v.case.ld_started_on is not None:
        return Failure(f"lymphodepletion already started on {v.case.ld_started_on}.")
    return None


@data_guard("the start date is within 7 days of today")
def ld_start_near_today(ctx: Ctx, d: StartLdData) -> Failure | None:
    today = clock.local_today(ctx.tz(SiteScope.treatment))
    if abs((d.start_date - today).days) > 7:
        return Failure(f"the start date {d.start_date} is more than 7 days from today.")
    return None


@state_guard("lymphodepletion has started and is not complete")
def ld_started_not_complete(v: CaseView) -> Failure | None:
    if v.case.ld_started_on is None:
        return Failure("lymphodepletion has not started.")
    if v.case.ld_completed_on is not None:
        return Failure(f"lymphodepletion was completed on {v.case.ld_completed_on}.")
    return None


@data_guard("the end date is between the start and today")
def ld_end_between_start_and_today(ctx: Ctx, d: CompleteLdData) -> Failure | None:
    start = ctx.case.ld_started_on
    if start is None or d.end_date < start or d.end_date > clock.local_today(ctx.tz()):
        return Failure(f"the end date must be between {start} and today.")
    return None


@state_guard("lymphodepletion is complete")
def ld_complete(v: CaseView) -> Failure | None:
    if v.case.ld_completed_on is None:
        return Failure("lymphodepletion is not recorded as complete; do not thaw.")
    return None


def _window_text(v: CaseView) -> str:
    window = deadlines.open_deadline_of(v.session, v.case.id or 0, DeadlineKind.infusion_window)
    if window is None:
        return "No infusion window is open."
    tz = v.tz(SiteScope.treatment)
    first = clock.fmt_local(clock.as_utc(window.earliest_at), tz) if window.earliest_at else "now"
    return (f"Today is outside the infusion window ({first} to "
            f"{clock.fmt_local(clock.as_utc(window.due_at), tz)}).")


@state_guard("today is inside the infusion window", code="outside_infusion_window",
             override=Override("override", "override_reason",
                               "Thawing outside the window needs an override with a reason and "
                               "your e-signature."))
def inside_infusion_window(v: CaseView) -> Failure | None:
    window = deadlines.open_deadline_of(v.session, v.case.id or 0, DeadlineKind.infusion_window)
    if deadlines.inside(window, v.now):
        return None
    text = _window_text(v)
    return Failure(text, timeline={"window": text})


@state_guard("the thawed product is inside its thaw-to-infusion limit")
def inside_thaw_window(v: CaseView) -> Failure | None:
    thaw = deadlines.open_deadline_of(v.session, v.case.id or 0, DeadlineKind.thaw_to_infusion)
    if thaw is None or clock.as_utc(thaw.due_at) <= v.now:
        return Failure("the thawed product is past its thaw-to-infusion limit; do not infuse. "
                       "Call the coordinator.")
    return None


def second_signer(ctx: Ctx, d: InfuseData) -> Principal | Failure:
    """The second person of the bedside check: another user, infusion staff at this center."""
    other = users.user_by_username(ctx.session, d.second_signer.username)
    if other is None or other.id == ctx.actor.id:
        return Failure("the two-person check needs a second, different user.")
    principal = load_principal(ctx.session, other, "signature")
    if not principal.holds(Role.infusion_staff.value, ctx.case.treatment_site_id):
        return Failure(f"{other.full_name} is not infusion staff at this treatment center.")
    return principal


@data_guard("a second user, infusion staff at this treatment center, signs",
            code="second_signer_invalid")
def second_signer_is_infusion_staff(ctx: Ctx, d: InfuseData) -> Failure | None:
    found = second_signer(ctx, d)
    return found if isinstance(found, Failure) else None


# ---- monitoring and completion ---------------------------------------------------------


@data_guard("the day is within the product's monitoring period",
            code="monitoring_day_out_of_range")
def monitoring_day_in_period(ctx: Ctx, d: MonitoringData) -> Failure | None:
    period = ctx.rules.monitoring_days
    if d.day > period:
        return Failure(f"day {d.day} is outside the monitoring period of this product (days 1 to "
                       f"{period}).")
    return None


@data_guard("that day has begun at the treatment center (day 1 is the day after infusion)",
            code="monitoring_day_not_begun")
def monitoring_day_begun(ctx: Ctx, d: MonitoringData) -> Failure | None:
    tz = ctx.tz(SiteScope.treatment)
    day = infusion_day(ctx.case, tz) + timedelta(days=d.day)
    begins = clock.start_of_local_day(day, tz)
    if ctx.now < begins:
        return Failure(f"day {d.day} is {day} at the treatment center; its check can be "
                       f"recorded from {clock.fmt_local(begins, tz)}.",
                       {"possible_from": begins.isoformat()})
    return None


def recorded_days(session: Session, case_id: int) -> set[int]:
    return set(session.exec(select(MonitoringCheck.day)
                            .where(MonitoringCheck.case_id == case_id)).all())


def begun_unrecorded_days(v: CaseView) -> tuple[list[int], datetime | None]:
    """The monitoring days with no check yet that have begun at the treatment center, and
    when the next unrecorded one begins (None when every day is recorded)."""
    tz = v.tz(SiteScope.treatment)
    recorded = recorded_days(v.session, v.case.id or 0)
    first = infusion_day(v.case, tz)
    begun: list[int] = []
    for n in range(1, v.rules.monitoring_days + 1):
        if n in recorded:
            continue
        begins = clock.start_of_local_day(first + timedelta(days=n), tz)
        if v.now < begins:
            return begun, begins
        begun.append(n)
    return begun, None


@state_guard("a monitoring day without its check has begun (day 1 is the day after infusion)",
             code="monitoring_day_not_begun")
def an_unrecorded_day_has_begun(v: CaseView) -> Failure | None:
    begun, next_begins = begun_unrecorded_days(v)
    if begun:
        return None
    if next_begins is None:
        return Failure("every day of the monitoring period is recorded.")
    tz = v.tz(SiteScope.treatment)
    return Failure(f"the next monitoring check can be recorded from "
                   f"{clock.fmt_local(next_begins, tz)}.",
                   {"possible_from": next_begins.isoformat()})


@data_guard("one check per day")
def one_check_per_day(ctx: Ctx, d: MonitoringData) -> Failure | None:
    if d.day in recorded_days(ctx.session, ctx.case.id or 0):
        return Failure(f"day {d.day} is already recorded.")
    return None


@state_guard("the monitoring period is over")
def monitoring_period_over(v: CaseView) -> Failure | None:
    tz = v.tz(SiteScope.treatment)
    over = clock.end_of_local_day(
        infusion_day(v.case, tz) + timedelta(days=v.rules.monitoring_days), tz)
    if v.now < over:
        return Failure(f"the monitoring period runs until {clock.fmt_local(over, tz)}.",
                       {"possible_from": over.isoformat()})
    return None


@state_guard("every daily monitoring check is recorded", code="monitoring_checks_missing",
             override=Override("missing_checks", "reason",
                               "Completing without them needs a reason and your e-signature."))
def every_monitoring_check_recorded(v: CaseView) -> Failure | None:
    recorded = recorded_days(v.session, v.case.id or 0)
    missing = [n for n in range(1, v.rules.monitoring_days + 1) if n not in recorded]
    if not missing:
        return None
    days = ", ".join(f"day {n}" for n in missing)
    return Failure(f"monitoring checks are missing for {days}.", {"missing_days": missing},
                   timeline={"missing_days": missing})

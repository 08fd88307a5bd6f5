"""Deadline rows, opened and closed by journey events in the event's transaction.

Rows are the truth: opening a deadline writes it with one pending alert per warning lead time
and one for the breach; closing it cancels what has not fired. The scheduler only delivers
alerts whose time has come. Which event opens and closes what is the journey table's say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import Alert, Deadline, DeadlineKind, DeadlineStatus
from cartrack.alerts.raising import AlertSpec, create_alerts
from cartrack.journey.access import site_of
from cartrack.journey.due import Due
from cartrack.journey.models import Case
from cartrack.journey.transitions import SiteScope
from cartrack.protocols.models import ProtocolData
from cartrack.users.models import Role


@dataclass(frozen=True)
class Route:
    label: str
    breach_severity: str
    roles: tuple[tuple[Role, SiteScope], ...]  # who is told: a role at one of the case's sites


_COORD = ((Role.coordinator, SiteScope.treatment), (Role.coordinator, SiteScope.collection))
K, X = DeadlineKind, SiteScope
ROUTES: dict[DeadlineKind, Route] = {
    K.collection_due: Route("Apheresis collection due", "warning",
                            ((Role.collection_staff, X.collection), *_COORD)),
    K.apheresis_transit: Route("Fresh apheresis in transit", "critical",
                               ((Role.lab_tech, X.manufacturing), *_COORD)),
    K.manufacturing_start: Route("Manufacturing start", "warning",
                                 ((Role.lab_tech, X.manufacturing), *_COORD)),
    K.qc_release_target: Route("QC release target", "warning",
                               ((Role.qa, X.manufacturing), *_COORD)),
    K.storage_expiry: Route("Product storage expiry", "critical",
                            ((Role.lab_tech, X.manufacturing), (Role.infusion_staff, X.treatment),
                             *_COORD)),
    K.shipment_arrival: Route("Product shipment arrival", "critical",
                              ((Role.infusion_staff, X.treatment), *_COORD)),
    K.infusion_window: Route("Infusion window after lymphodepletion", "critical",
                             ((Role.infusion_staff, X.treatment), *_COORD)),
    K.thaw_to_infusion: Route("Thawed product must be infused", "critical",
                              ((Role.infusion_staff, X.treatment), *_COORD)),
    K.monitoring_check: Route("Daily monitoring check", "warning",
                              ((Role.infusion_staff, X.treatment), *_COORD)),
    K.proximity_period: Route("Proximity period ends", "info", _COORD),
}


def targets_for(case: Case, kind: DeadlineKind) -> set[tuple[str, int]]:
    return {(role.value, site_of(case, scope)) for role, scope in ROUTES[kind].roles}


def humanize(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def open_deadline(session: Session, case: Case, kind: DeadlineKind, due: Due, rules: ProtocolData,
                  tz: str) -> Deadline:
    route = ROUTES[kind]
    now = clock.now()
    deadline = Deadline(case_id=case.id or 0, kind=kind, label=due.label or route.label,
                        opened_at=now, earliest_at=due.earliest_at, due_at=due.due_at,
                        ordinal=due.ordinal)
    session.add(deadline)
    session.flush()
    span = due.due_at - now
    specs = [AlertSpec(
        "warning", "warning", f"{deadline.label}: {humanize(due.due_at - fire_at)} left",
        f"Case {case.coi}: {deadline.label.lower()} is due {clock.fmt_local(due.due_at, tz)} "
        f"({humanize(due.due_at - fire_at)} left).", fire_at,
        {"deadline_kind": kind.value, "fraction": fraction})
        for fraction in (rules.warning_fractions if span > timedelta(0) else [])
        for fire_at in [now + span * fraction]]
    specs.append(AlertSpec(
        "breach", route.breach_severity, f"{deadline.label}: limit reached",
        f"Case {case.coi}: {deadline.label.lower()} limit reached at "
        f"{clock.fmt_local(due.due_at, tz)}. Act now.", due.due_at,
        {"deadline_kind": kind.value}))
    create_alerts(session, case.id, specs, targets_for(case, kind), deadline_id=deadline.id)
    return deadline


def close_deadlines(session: Session, case_id: int, kinds: tuple[DeadlineKind, ...], event: str,
                    status: DeadlineStatus = DeadlineStatus.met,
                    which: Callable[[Deadline], bool] | None = None) -> list[Deadline]:
    """Close the open deadlines of these kinds; "met" after the limit is recorded as met late."""
    rows = session.exec(select(Deadline).where(Deadline.case_id == case_id,
                                               Deadline.status == DeadlineStatus.open,
                                               col(Deadline.kind).in_(kinds))).all()
    closed = [d for d in rows if which is None or which(d)]
    now = clock.now()
    for d in closed:
        late = status == DeadlineStatus.met and clock.as_utc(d.due_at) <= now
        d.status = DeadlineStatus.met_late if late else status
        d.closed_at = now
        d.closed_by_event = event
        session.add(d)
    if closed:
        session.execute(
            update(Alert).where(col(Alert.deadline_id).in_([d.id for d in closed]),
                                col(Alert.status) == "pending").values(status="cancelled")
        )
    return closed


def open_deadlines(session: Session, case_id: int) -> list[Deadline]:
    return list(session.exec(select(Deadline).where(Deadline.case_id == case_id,
                                                    Deadline.status == DeadlineStatus.open)
                             .order_by(col(Deadline.due_at))).all())


def open_deadline_of(session: Session, case_id: int, kind: DeadlineKind) -> Deadline | None:
    return next((d for d in open_deadlines(session, case_id) if d.kind == kind), None)


def inside(deadline: Deadline | None, now: datetime) -> bool:
    """Now lies within the deadline's window: after its earliest time, before its limit."""
    if deadline is None:
        return False
    opened = deadline.earliest_at is None or clock.as_utc(deadline.earliest_at) <= now
    return opened and now < clock.as_utc(deadline.due_at)

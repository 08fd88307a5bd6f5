"""Deadlines of a case, computed from its protocol version; each with its scheduled alerts.

Rows are the truth: opening a deadline writes the deadline and one pending alert per warning
lead time and one for the breach, all in the event's transaction. Closing it cancels what has
not fired. The scheduler only delivers pending alerts whose time has come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import Alert, AlertTarget, Deadline
from cartrack.journey.models import Case
from cartrack.journey.transitions import Deadline as Kind
from cartrack.protocols.models import ProtocolData
from cartrack.users.models import Role, Site


@dataclass(frozen=True)
class Route:
    label: str
    breach_severity: str
    roles: tuple[tuple[Role, str], ...]  # (role, which site of the case)


_COORD = ((Role.coordinator, "treatment"), (Role.coordinator, "collection"))
ROUTES: dict[str, Route] = {
    Kind.collection_due: Route("Apheresis collection due", "warning",
                               ((Role.collection_staff, "collection"), *_COORD)),
    Kind.apheresis_transit: Route("Fresh apheresis in transit", "critical",
                                  ((Role.lab_tech, "manufacturing"), *_COORD)),
    Kind.manufacturing_start: Route("Manufacturing start", "warning",
                                    ((Role.lab_tech, "manufacturing"), *_COORD)),
    Kind.qc_release_target: Route("QC release target", "warning",
                                  ((Role.qa, "manufacturing"), *_COORD)),
    Kind.storage_expiry: Route("Product storage expiry", "critical",
                               ((Role.lab_tech, "manufacturing"), (Role.infusion_staff, "treatment"),
                                *_COORD)),
    Kind.shipment_arrival: Route("Product shipment arrival", "critical",
                                 ((Role.infusion_staff, "treatment"), *_COORD)),
    Kind.infusion_window: Route("Infusion window after lymphodepletion", "critical",
                                ((Role.infusion_staff, "treatment"), *_COORD)),
    Kind.thaw_to_infusion: Route("Thawed product must be infused", "critical",
                                 ((Role.infusion_staff, "treatment"), *_COORD)),
    Kind.monitoring_check: Route("Daily monitoring check", "warning",
                                 ((Role.infusion_staff, "treatment"), *_COORD)),
    Kind.proximity_period: Route("Proximity period ends", "info", _COORD),
}


def site_of(case: Case, which: str) -> int:
    return int(getattr(case, f"{which}_site_id"))


def targets_for(case: Case, roles: tuple[tuple[Role, str], ...]) -> set[tuple[str, int]]:
    return {(role.value, site_of(case, which)) for role, which in roles}


def end_of_local_day(day: date, tz: str) -> datetime:
    """The instant a site-local calendar day ends, in UTC."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return clock.as_utc(local)


def start_of_local_day(day: date, tz: str) -> datetime:
    return clock.as_utc(datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)))


def local_today(tz: str) -> date:
    return clock.now().astimezone(ZoneInfo(tz)).date()


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                           31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)


def create_alert(session: Session, case: Case | None, *, kind: str, severity: str, title: str,
                 message: str, targets: set[tuple[str, int]], fire_at: datetime | None = None,
                 deadline_id: int | None = None, data: dict | None = None) -> Alert:
    alert = Alert(case_id=case.id if case else None, deadline_id=deadline_id, kind=kind,
                  severity=severity, title=title, message=message,
                  fire_at=fire_at or clock.now(), data=data or {})
    session.add(alert)
    session.flush()
    for role, site_id in sorted(targets):
        session.add(AlertTarget(alert_id=alert.id or 0, role=role, site_id=site_id))
    return alert


def fmt_local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def open_deadline(session: Session, case: Case, kind: Kind, due_at: datetime, rules: ProtocolData,
                  tz: str, *, earliest_at: datetime | None = None, label: str | None = None,
                  ordinal: int | None = None) -> Deadline:
    route = ROUTES[kind]
    now = clock.now()
    deadline = Deadline(case_id=case.id or 0, kind=kind.value, label=label or route.label,
                        opened_at=now, earliest_at=earliest_at, due_at=due_at, ordinal=ordinal)
    session.add(deadline)
    session.flush()
    targets = targets_for(case, route.roles)
    span = due_at - now
    if span > timedelta(0):
        for fraction in rules.warning_fractions:
            fire_at = now + span * fraction
            left = due_at - fire_at
            create_alert(
                session, case, kind="warning", severity="warning",
                title=f"{deadline.label}: {_humanize(left)} left",
                message=(f"Case {case.coi}: {deadline.label.lower()} is due "
                         f"{fmt_local(due_at, tz)} ({_humanize(left)} left)."),
                targets=targets, fire_at=fire_at, deadline_id=deadline.id,
                data={"deadline_kind": kind.value, "fraction": fraction})
    create_alert(
        session, case, kind="breach", severity=route.breach_severity,
        title=f"{deadline.label}: limit reached",
        message=f"Case {case.coi}: {deadline.label.lower()} limit reached at "
                f"{fmt_local(due_at, tz)}. Act now.",
        targets=targets, fire_at=due_at, deadline_id=deadline.id,
        data={"deadline_kind": kind.value})
    return deadline


def _humanize(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def close_deadlines(session: Session, case: Case, kinds: tuple[str, ...], event: str,
                    status: str = "met", only_id: int | None = None) -> list[Deadline]:
    query = select(Deadline).where(Deadline.case_id == case.id, Deadline.status == "open",
                                   col(Deadline.kind).in_(kinds))
    if only_id is not None:
        query = query.where(Deadline.id == only_id)
    closed = list(session.exec(query).all())
    now = clock.now()
    for d in closed:
        d.status = status if clock.as_utc(d.due_at) > now or status != "met" else "met_late"
        d.closed_at = now
        d.closed_by_event = event
        session.add(d)
    if closed:
        session.execute(
            update(Alert).where(col(Alert.deadline_id).in_([d.id for d in closed]),
                                Alert.status == "pending").values(status="cancelled")
        )
    return closed


def open_deadlines(session: Session, case_id: int) -> list[Deadline]:
    return list(session.exec(select(Deadline).where(Deadline.case_id == case_id,
                                                    Deadline.status == "open")
                             .order_by(col(Deadline.due_at))).all())


def site_tz(session: Session, site_id: int) -> str:
    site = session.get(Site, site_id)
    return site.timezone if site else "UTC"

"""The in-app read side of alerts: what each user may see, the badge, the live feed after a
position, acknowledgement, and the outbound delivery log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.models import Alert, AlertDelivery, AlertTarget
from cartrack.alerts.service import VISIBLE, Memberships, assign_seq, rowcount, targets_of
from cartrack.audit import service as audit
from cartrack.errors import Conflict, NotFound
from cartrack.journey.models import Case
from cartrack.security import Principal
from cartrack.users.models import User


class TargetOut(BaseModel):
    role: str
    site_id: int


class AlertOut(BaseModel):
    id: int
    fire_seq: int | None
    case_id: int | None
    coi: str | None
    deadline_id: int | None
    kind: str
    severity: str
    title: str
    message: str
    status: str
    fire_at: datetime
    fired_at: datetime | None
    tier: int
    escalated_at: datetime | None
    acked_at: datetime | None
    acked_by: int | None
    acked_by_name: str | None
    ack_note: str | None
    targets: list[TargetOut]


class SummaryOut(BaseModel):
    unacknowledged_critical: int
    unacknowledged: int


class DeliveryOut(BaseModel):
    id: int
    alert_id: int
    tier: int
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    severity: str | None = None
    case_id: int | None = None
    unacknowledged: bool = False


def visible_to(memberships: Memberships) -> ColumnElement[bool]:
    """Alerts targeted at a (role, site) the user holds; a role held with no site holds it
    everywhere. Only fired or acknowledged ones: a pending alert is not news yet."""
    at_sites: dict[str, list[int]] = {}
    everywhere: list[str] = []
    for role, site_id in memberships:
        if site_id is None:
            everywhere.append(role)
        else:
            at_sites.setdefault(role, []).append(site_id)
    conds = [and_(col(AlertTarget.role) == r, col(AlertTarget.site_id).in_(s))
             for r, s in at_sites.items()]
    if everywhere:
        conds.append(col(AlertTarget.role).in_(everywhere))
    if not conds:
        return false()
    held = exists().where(col(AlertTarget.alert_id) == col(Alert.id), or_(*conds))
    return and_(col(Alert.status).in_(VISIBLE), held)


def _lookup(session: Session, key: Any, value: Any, keys: set[int | None]) -> dict[int, str]:
    wanted = {k for k in keys if k is not None}
    if not wanted:
        return {}
    rows = session.execute(sa_select(key, value).where(key.in_(wanted))).all()
    return {int(k): str(v) for k, v in rows}


def to_out(session: Session, alerts: Sequence[Alert]) -> list[AlertOut]:
    ids = [a.id or 0 for a in alerts]
    targets = targets_of(session, ids)
    cois = _lookup(session, col(Case.id), col(Case.coi), {a.case_id for a in alerts})
    names = _lookup(session, col(User.id), col(User.full_name), {a.acked_by for a in alerts})
    return [AlertOut(
        **a.model_dump(include={"id", "fire_seq", "case_id", "deadline_id", "kind", "severity",
                                "title", "message", "status", "fire_at", "fired_at", "tier",
                                "escalated_at", "acked_at", "acked_by", "ack_note"}),
        coi=cois.get(a.case_id) if a.case_id is not None else None,
        acked_by_name=names.get(a.acked_by) if a.acked_by is not None else None,
        targets=[TargetOut(role=r, site_id=s) for r, s in targets[a.id or 0]]) for a in alerts]


def _filtered(principal: Principal, f: AlertFilter) -> list[ColumnElement[bool]]:
    where = [visible_to(principal.memberships)]
    if f.status:
        where.append(col(Alert.status) == f.status)
    if f.unacknowledged:
        where.append(col(Alert.status) == "fired")
    if f.severity:
        where.append(col(Alert.severity) == f.severity)
    if f.case_id is not None:
        where.append(col(Alert.case_id) == f.case_id)
    return where


def list_alerts(session: Session, principal: Principal, f: AlertFilter, limit: int,
                offset: int) -> tuple[list[AlertOut], int]:
    where = _filtered(principal, f)
    total = session.execute(sa_select(func.count()).select_from(Alert).where(*where)).scalar_one()
    rows = session.exec(select(Alert).where(*where)
                        .order_by(col(Alert.fire_seq).desc(), col(Alert.id).desc())
                        .limit(limit).offset(offset)).all()
    return to_out(session, rows), int(total)


def summary(session: Session, principal: Principal) -> SummaryOut:
    where = [visible_to(principal.memberships), col(Alert.status) == "fired"]
    critical = func.sum(case((col(Alert.severity) == "critical", 1), else_=0))
    count, crit = session.execute(
        sa_select(func.count(), critical).select_from(Alert).where(*where)).one()
    return SummaryOut(unacknowledged_critical=int(crit or 0), unacknowledged=int(count or 0))


def get_visible(session: Session, principal: Principal, alert_id: int) -> Alert:
    alert = session.exec(select(Alert).where(col(Alert.id) == alert_id,
                                             visible_to(principal.memberships))).first()
    if alert is None:
        # Not targeted at you (or not fired yet) answers as if it did not exist.
        raise NotFound(f"No alert {alert_id}.", code="alert_not_found")
    return alert


def acknowledge(session: Session, principal: Principal, alert_id: int,
                note: str | None) -> Alert:
    alert = get_visible(session, principal, alert_id)
    now = clock.now()
    result = session.execute(
        update(Alert).where(col(Alert.id) == alert_id, col(Alert.status) == "fired")
        .values(status="acknowledged", acked_by=principal.id, acked_at=now, ack_note=note)
        .execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        session.refresh(alert)
        raise Conflict(f"Alert {alert_id} was already acknowledged"
                       + (f" at {clock.as_utc(alert.acked_at).isoformat()}."
                          if alert.acked_at else "."), code="already_acknowledged")
    session.refresh(alert)
    audit.record(session, user_id=principal.id, printed_name=principal.name,
                 action="acknowledge_alert", entity="alert", entity_id=alert_id,
                 case_id=alert.case_id, old={"status": "fired", "tier": alert.tier},
                 new={"status": "acknowledged", "acked_at": now, "note": note}, reason=note)
    assign_seq(session, [alert_id])  # the counter last (see the lock order above)
    session.refresh(alert)
    return alert


def feed_head(session: Session) -> int:
    return int(session.execute(sa_select(func.max(col(Alert.fire_seq)))).scalar() or 0)


def feed_after(session: Session, memberships: Memberships, after: int,
               limit: int = 200) -> list[AlertOut]:
    """Visible alerts whose feed position is past `after`, oldest first."""
    rows = session.exec(select(Alert).where(col(Alert.fire_seq) > after,
                                            visible_to(memberships))
                        .order_by(col(Alert.fire_seq)).limit(limit)).all()
    return to_out(session, rows)


def list_deliveries(session: Session, *, status: str | None, channel: str | None,
                    alert_id: int | None, limit: int, offset: int
                    ) -> tuple[list[DeliveryOut], int]:
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(col(AlertDelivery.status) == status)
    if channel:
        where.append(col(AlertDelivery.channel) == channel)
    if alert_id is not None:
        where.append(col(AlertDelivery.alert_id) == alert_id)
    total = session.execute(sa_select(func.count()).select_from(AlertDelivery)
                            .where(*where)).scalar_one()
    rows = session.exec(select(AlertDelivery).where(*where)
                        .order_by(col(AlertDelivery.id).desc()).limit(limit).offset(offset)).all()
    return [DeliveryOut(**r.model_dump()) for r in rows], int(total)

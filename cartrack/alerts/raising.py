"""The write side of alerts: raise one now or schedule it, with its targets (role at a site).

Every domain that raises an alert (deadlines, scan mismatches, deviations, clinical grades)
calls this; delivery and escalation live in ``alerts.service``, the feed in ``alerts.inbox``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from cartrack import clock
from cartrack.alerts.models import Alert, AlertTarget


@dataclass(frozen=True)
class AlertSpec:
    """One alert to raise now (fire_at None) or at a time."""

    kind: str
    severity: str
    title: str
    message: str
    fire_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)


def create_alert(session: Session, case_id: int | None, *, kind: str, severity: str, title: str,
                 message: str, targets: set[tuple[str, int]], fire_at: datetime | None = None,
                 deadline_id: int | None = None, data: dict[str, Any] | None = None) -> Alert:
    spec = AlertSpec(kind, severity, title, message, fire_at, data or {})
    return create_alerts(session, case_id, [spec], targets, deadline_id=deadline_id)[0]


def create_alerts(session: Session, case_id: int | None, specs: list[AlertSpec],
                  targets: set[tuple[str, int]], *, deadline_id: int | None = None
                  ) -> list[Alert]:
    """Several alerts with the same targets, written in one flush (a deadline's warnings and
    breach)."""
    now = clock.now()
    alerts = [Alert(case_id=case_id, deadline_id=deadline_id, kind=s.kind, severity=s.severity,
                    title=s.title, message=s.message, fire_at=s.fire_at or now, data=s.data)
              for s in specs]
    session.add_all(alerts)
    session.flush()
    session.add_all([AlertTarget(alert_id=a.id or 0, role=role, site_id=site_id)
                     for a in alerts for role, site_id in sorted(targets)])
    return alerts

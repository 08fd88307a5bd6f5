"""The write side of alerts: raise one now or schedule it, with its targets (role at a site).

Every domain that raises an alert (deadlines, scan mismatches, deviations, clinical grades)
calls this; delivery and escalation live in ``alerts.service``, the feed in ``alerts.inbox``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from cartrack import clock
from cartrack.alerts.models import Alert, AlertTarget


def create_alert(session: Session, case_id: int | None, *, kind: str, severity: str, title: str,
                 message: str, targets: set[tuple[str, int]], fire_at: datetime | None = None,
                 deadline_id: int | None = None, data: dict[str, Any] | None = None) -> Alert:
    alert = Alert(case_id=case_id, deadline_id=deadline_id, kind=kind, severity=severity,
                  title=title, message=message, fire_at=fire_at or clock.now(), data=data or {})
    session.add(alert)
    session.flush()
    for role, site_id in sorted(targets):
        session.add(AlertTarget(alert_id=alert.id or 0, role=role, site_id=site_id))
    return alert

"""`cartrack demo`: a year of history made by the journey itself (about 150 cases, most
completed, a few out of specification, cancelled or on hold), then today's cases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from cartrack import clock
from cartrack.alerts.models import Alert
from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.demo import PATIENTS
from cartrack.journey.models import Case, CaseEvent
from cartrack.units.models import Unit
from cartrack.users.models import User

pytestmark = pytest.mark.xdist_group("demo")


def test_the_demo_holds_a_year_of_history_and_todays_cases(demo_url: str, demo_builds: Any,
                                                           backend: str) -> None:
    assert "demo database ready in" in demo_builds(backend).output
    with new_session(read_only=True) as s:
        cases = list(s.exec(select(Case).order_by(col(Case.id))).all())
        users = {u.username for u in s.exec(select(User)).all()}
    states = Counter(c.state for c in cases)
    assert len(cases) == 150 + len(PATIENTS)
    assert states["completed"] >= 130
    assert states["cancelled"] >= 3 and states["on_hold"] >= 3
    assert states["out_of_specification"] >= 1
    assert len(states) >= 10, states
    oldest = min(clock.as_utc(c.created_at) for c in cases)
    assert clock.now() - oldest > timedelta(days=330)
    assert {"coordinator", "lab_tech", "qa", "infusion_staff", "infusion_staff2"} <= users


def test_history_is_in_time_order_and_the_audit_chain_holds(demo_url: str) -> None:
    with new_session(read_only=True) as s:
        moments = [clock.as_utc(a) for a in s.exec(select(AuditEntry.at)
                                                   .order_by(col(AuditEntry.id))).all()]
        events = [clock.as_utc(a) for a in s.exec(select(CaseEvent.at)
                                                  .order_by(col(CaseEvent.id))).all()]
    assert moments == sorted(moments) and events == sorted(events)
    assert max(events) <= clock.now()
    out = subprocess.run([sys.executable, "-m", "cartrack.cli", "audit", "verify"],
                         env={**os.environ, "CARTRACK_DATABASE_URL": demo_url},
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"{len(moments)} rows" in out.stdout


def test_history_leaves_no_alert_due_before_today_and_no_discarded_bag_infused(
        demo_url: str) -> None:
    with new_session(read_only=True) as s:
        today_started = min(clock.as_utc(c.created_at) for c in s.exec(
            select(Case).order_by(col(Case.id).desc()).limit(len(PATIENTS))).all())
        stale = s.exec(select(Alert).where(Alert.status == "pending",
                                           col(Alert.fire_at) < today_started)).all()
        recollected = {e.case_id for e in s.exec(select(CaseEvent).where(
            CaseEvent.event == "decide_out_of_spec")).all()
            if e.data.get("decision") == "recollect"}
        bags = s.exec(select(Unit).where(col(Unit.case_id).in_(recollected),
                                         Unit.kind == "product")).all()
    assert not stale, [(a.title, a.fire_at) for a in stale]
    assert len(recollected) == 2
    by_case = Counter((b.case_id, b.status) for b in bags)
    for case_id in recollected:
        assert by_case[(case_id, "discarded")] == 1 and by_case[(case_id, "infused")] == 1


def test_intervals_lie_near_the_published_medians(demo_client: Any, demo_auth: Any) -> None:
    """Vein to vein about 27 days for axi-cel (US real world), 43 for tisa-cel, 36 for
    liso-cel; axi-cel's turnaround (collection to release) about 14 days."""
    def medians(metric: str) -> dict[str, float]:
        body = demo_client.get("/api/analytics/intervals", params={"metric": metric},
                               headers=demo_auth["coordinator"]).json()
        return {g["group"]["product"]: g["value"]["median"] for g in body["groups"]}

    v2v = medians("v2v")
    assert 24 <= v2v["yescarta"] <= 30.4
    assert 40 <= v2v["kymriah"] <= 48.4
    assert 33 <= v2v["breyanzi"] <= 38
    assert v2v["kymriah"] > v2v["breyanzi"] > v2v["yescarta"]
    assert 12 <= medians("mfg_turnaround")["yescarta"] <= 16
    rates = {r["id"]: r for r in demo_client.get(
        "/api/analytics/rates", params={"group_by": ""},
        headers=demo_auth["coordinator"]).json()["groups"][0]["rates"]}
    assert 0.02 <= rates["manufacturing_failure"]["rate"] <= 0.08
    assert 0.85 <= rates["on_time_delivery"]["rate"] < 1

"""The scan station and the journey apply one rule: for every step that expects bags, every bag
kind and every bag status, and a bag of another patient, the station's verdict for a scan with
that step is "match" exactly when the event itself accepts the same scan.

Each pair is judged in-process on the real database, in transactions rolled back afterwards,
so the case stays where it is while every combination is tried."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import update
from sqlmodel import Session, col, select

from cartrack.db import new_session
from cartrack.errors import DomainError
from cartrack.identity.identifiers import printed_unit
from cartrack.journey.engine import apply_event
from cartrack.journey.events import EventIn
from cartrack.journey.transitions import TRANSITIONS, ExpectKind, Transition
from cartrack.scans import service as station
from cartrack.scans.models import Verdict
from cartrack.security import Principal, load_principal
from cartrack.units.models import Unit, UnitKind, UnitStatus
from cartrack.users.models import User
from tests.helpers.journey import Journey

BAG_STEPS = [t for t in TRANSITIONS if t.expects and t.expects.kind != ExpectKind.bedside]
DATA: dict[str, dict[str, Any]] = {
    "ship_to_manufacturing": {"shipper_type": "2-8 C shipper"},
    "receive_at_manufacturing": {"shipper_temperature_c": 5.0},
    "ship_to_treatment_center": {"shipper_type": "LN2 dry shipper"},
    "receive_at_treatment_center": {"shipper_temperature_c": -180, "storage_location": "tank"},
    "record_process_step": {"step": "activation"},
    "complete_manufacturing": {"bags": [{"volume_ml": 50}],
                               "cryopreserved_at": "2026-06-01T14:00:00Z"},
}
EVENTS = TypeAdapter(EventIn)


@contextmanager
def rolled_back() -> Iterator[Session]:
    session = new_session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def principal(session: Session, t: Transition) -> Principal:
    username = t.roles[0].value
    user = session.exec(select(User).where(User.username == username)).one()
    return load_principal(session, user, "bearer")


def typed(unit_id: str) -> str:
    p = printed_unit(unit_id)
    return p.value + p.check


def set_bags(session: Session, case_id: int, kind: UnitKind, status: UnitStatus) -> list[str]:
    session.execute(update(Unit).where(col(Unit.case_id) == case_id)
                    .values(kind=kind.value, status=status.value, quarantined=False))
    session.flush()
    units = session.exec(select(Unit).where(Unit.case_id == case_id)
                         .order_by(col(Unit.id))).all()
    return [typed(u.unit_id) for u in units]


def event_accepts_scans(case_id: int, t: Transition, kind: UnitKind, status: UnitStatus,
                        scans_of: int | None = None) -> bool:
    """Whether the event gets past its expected-scans step (later guards are not the scan's)."""
    with rolled_back() as session:
        bags = set_bags(session, case_id, kind, status)
        if scans_of is not None:
            bags = set_bags(session, scans_of, kind, status)
        field = t.expects.field if t.expects else "scan"
        data = {**DATA.get(t.event, {}), field: bags if field == "scans" else bags[0]}
        request = EVENTS.validate_python({"event": t.event.value, "data": data})
        try:
            apply_event(session, principal(session, t), case_id, request)
        except DomainError as exc:
            return not exc.code.startswith("scan_")
        return True


def station_matches(case_id: int, t: Transition, kind: UnitKind, status: UnitStatus,
                    scans_of: int | None = None) -> bool:
    with rolled_back() as session:
        bags = set_bags(session, case_id, kind, status)
        if scans_of is not None:
            bags = set_bags(session, scans_of, kind, status)
        actor = principal(session, t)
        verdicts = {station.scan(session, actor, raw, action=t.event.value,
                                 for_case=case_id).judgement.verdict for raw in bags}
        assert len(verdicts) == 1, "bags alike in every way get the same verdict"
        return verdicts == {Verdict.match}


def test_station_and_event_agree_on_every_bag_for_every_step(client: Any, auth: Any,
                                                             frozen: Any) -> None:
    j = Journey(client, auth)
    other = j.enroll(mrn="MRN-OTHER")["id"]
    j.to(other, "collected")
    case_id = j.enroll(mrn="MRN-SELF")["id"]
    tried = 0
    for state in ("collected", "shipped_to_manufacturing", "received_at_manufacturing",
                  "manufacturing", "released", "shipped_to_treatment_center",
                  "received_at_treatment_center"):
        j.to(case_id, state)
        for t in (t for t in BAG_STEPS if state in t.sources):
            for kind in UnitKind:
                for status in UnitStatus:
                    accepted = event_accepts_scans(case_id, t, kind, status)
                    matched = station_matches(case_id, t, kind, status)
                    assert accepted == matched, (t.event, kind, status, accepted, matched)
                    tried += 1
                    assert t.expects is not None
                    fits = kind == t.expects.unit_kind and status in t.expects.statuses
                    assert matched == fits, (t.event, kind, status)
            # Another patient's bag, of the kind and status the step wants: refused by both.
            assert t.expects is not None and t.expects.unit_kind is not None
            wanted = (t.expects.unit_kind, t.expects.statuses[0])
            assert not event_accepts_scans(case_id, t, *wanted, scans_of=other)
            assert not station_matches(case_id, t, *wanted, scans_of=other)
    assert {t.event for t in BAG_STEPS} <= {t.event for t in TRANSITIONS}
    assert tried == len(BAG_STEPS) * len(UnitKind) * len(UnitStatus)

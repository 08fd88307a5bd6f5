"""Demo data: sites, one user per role, the protocol catalog, a year of history and a dozen
cases along the journey today."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack import demo_history_steps as history
from cartrack import demo_shipments as cold_chain
from cartrack.audit.models import AuditEntry
from cartrack.demo_history import HISTORY_DAYS
from cartrack.demo_slots import seed_capacity
from cartrack.identity.identifiers import printed_unit
from cartrack.journey import events as sc
from cartrack.journey import service as journey
from cartrack.journey.models import Case
from cartrack.labels import versions as label_templates
from cartrack.protocols import service as protocols
from cartrack.security import Principal, load_principal
from cartrack.shipments import catalog as shipping_catalog
from cartrack.shipments.models import Direction
from cartrack.units.models import Unit
from cartrack.users import service as users
from cartrack.users.models import MembershipIn, Role, Site, SiteIn, SiteKind, User, UserIn

SITES = [
    SiteIn(code="TC-CITY", name="City Hospital Cell Therapy Unit", timezone="America/New_York",
           kinds=[SiteKind.treatment_center, SiteKind.collection_center],
           mrn_system="https://city-hospital.example/fhir/sid/mrn"),
    SiteIn(code="CC-NORTH", name="North Apheresis Center", timezone="America/Chicago",
           kinds=[SiteKind.collection_center],
           mrn_system="https://north-apheresis.example/fhir/sid/mrn"),
    SiteIn(code="MF-EAST", name="East Cell Manufacturing Facility", timezone="America/New_York",
           kinds=[SiteKind.manufacturing_facility]),
]

USERS: list[tuple[str, str, list[tuple[Role, str | None]]]] = [
    ("admin", "Ada Admin", [(Role.admin, None)]),
    ("coordinator", "Cora Coordinator", [(Role.coordinator, "TC-CITY"),
                                         (Role.coordinator, "CC-NORTH")]),
    ("collection_staff", "Colin Collector", [(Role.collection_staff, "TC-CITY"),
                                             (Role.collection_staff, "CC-NORTH")]),
    ("lab_tech", "Lara Labtech", [(Role.lab_tech, "MF-EAST")]),
    ("qa", "Quinn Quality", [(Role.qa, "MF-EAST")]),
    ("infusion_staff", "Iris Infusion", [(Role.infusion_staff, "TC-CITY")]),
    ("infusion_staff2", "Ivan Infusion", [(Role.infusion_staff, "TC-CITY")]),
]

PATIENTS = [
    ("Maria", "Gonzalez", date(1961, 3, 14), "MRN-100231", "yescarta"),
    ("James", "Okafor", date(1958, 11, 2), "MRN-100232", "breyanzi"),
    ("Li", "Chen", date(1975, 6, 21), "MRN-100233", "kymriah"),
    ("Anna", "Kowalski", date(1949, 1, 30), "MRN-100234", "abecma"),
    ("Samuel", "Reed", date(1966, 9, 9), "MRN-100235", "carvykti"),
    ("Fatima", "Haddad", date(1980, 12, 12), "MRN-100236", "tecartus"),
    ("Peter", "Lindqvist", date(1955, 4, 4), "MRN-100237", "yescarta"),
    ("Grace", "Mensah", date(1970, 7, 17), "MRN-100238", "breyanzi"),
    ("Tomas", "Silva", date(1963, 2, 25), "MRN-100239", "abecma"),
    ("Hana", "Sato", date(1972, 8, 8), "MRN-100240", "kymriah"),
    ("Omar", "Farouk", date(1959, 10, 1), "MRN-100241", "carvykti"),
    ("Ruth", "Abrams", date(1968, 5, 5), "MRN-100242", "yescarta"),
]

# How far along the journey each demo case goes (index into STEPS).
PROGRESS = [0, 1, 2, 3, 4, 6, 7, 8, 10, 11, 13, 3]

_EVENT = TypeAdapter(sc.EventIn)
TODAY_STARTED = timedelta(hours=6)
_BUILT_AT: ContextVar[datetime] = ContextVar("demo_built_at")


def seed(session: Session, password: str) -> int:
    """The whole demo; returns how many cases it holds. The sites, users and catalog are set
    up before the year of history begins, so the audit trail reads in time order."""
    now = clock.now()
    _BUILT_AT.set(now)
    with clock.using(lambda: now - timedelta(days=HISTORY_DAYS + 30)):
        seed_reference(session, password)
    history_cases = seed_history(session, password, now)
    # Today's cases start a few hours ago (after the history's last entry), so the shipments
    # in transit have logger data up to now.
    last = session.exec(select(func.max(AuditEntry.at))).one()
    start = max(now - TODAY_STARTED, clock.as_utc(last) if last else now - TODAY_STARTED)
    with clock.using(lambda: start):
        seed_cases(session, password)
    lab_tech = session.exec(select(User).where(User.username == "lab_tech")).one()
    cold_chain.add_logger_data(session, load_principal(session, lab_tech, "demo"), start)
    seed_capacity(session, {u.username: load_principal(session, u, "demo")
                            for u in session.exec(select(User)).all()}, password)
    return history_cases + len(PATIENTS)


def seed_history(session: Session, password: str, now: datetime) -> int:
    """A year of history before today's cases (``cartrack.demo_history``)."""
    people = {u.username: load_principal(session, u, "demo")
              for u in session.exec(select(User)).all()}
    cryo = frozenset(p.product for p in protocols.list_protocols(session)
                     if not p.rules().apheresis_fresh)
    return history.seed_history(session, password, people, {s.code: s.timezone for s in SITES},
                                cryo, now)


def seed_reference(session: Session, password: str) -> None:
    """Sites, one user per role, the protocol catalog, and the shipped label templates
    approved by the demo QA user's e-signature."""
    for site in SITES:
        users.create_site(session, None, site)
    for username, name, memberships in USERS:
        users.create_user(session, None, UserIn(
            username=username, full_name=name, email=f"{username}@cartrack.example",
            password=password,
            memberships=[MembershipIn(role=r, site_code=s) for r, s in memberships]),
            password_rules=False, published_password=True)  # the published demo password
    protocols.load_shipped_catalog(session)
    shipping_catalog.load_shipped_profiles(session)
    qa = users.user_by_username(session, "qa")
    assert qa is not None
    for template in label_templates.load_shipped(session):
        label_templates.approve(session, load_principal(session, qa, "demo"), template.id or 0,
                                password)
    session.flush()


def seed_cases(session: Session, password: str) -> None:
    people = {u.username: load_principal(session, u, "demo")
              for u in session.exec(select(User)).all()}
    cold_chain.seed_catalog(session, people["lab_tech"])
    for i, (given, family, dob, mrn, product) in enumerate(PATIENTS):
        case = journey.enroll(session, people["coordinator"], sc.EnrollIn(
            patient=sc.PatientIn(given_name=given, family_name=family, date_of_birth=dob, mrn=mrn),
            product=product, collection_site="TC-CITY" if i % 3 else "CC-NORTH",
            manufacturing_site="MF-EAST", treatment_site="TC-CITY"))
        session.flush()
        for step in STEPS[: PROGRESS[i]]:
            step(session, people, case, password)
            session.flush()
        if i == len(PATIENTS) - 1:
            _event(session, people["coordinator"], case, "hold",
                   {"reason": "Patient admitted with infection; re-evaluate next week"})


def _event(session: Session, who: Principal, case: Case, event: str, data: dict[str, Any],
           password: str | None = None) -> None:
    body: dict[str, Any] = {"event": event, "data": data}
    if password:
        body["signature"] = {"password": password}
    journey.apply_event(session, who, case.id or 0, _EVENT.validate_python(body))


def _scans(session: Session, case: Case, kind: str) -> list[str]:
    # In id order: PostgreSQL returns unordered rows in whatever order its pages hold them.
    rows = session.exec(select(Unit).where(Unit.case_id == case.id, Unit.kind == kind)
                        .order_by(col(Unit.id))).all()
    return [printed_unit(u.unit_id).value + printed_unit(u.unit_id).check for u in rows]


def _schedule(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["coordinator"], c, "schedule_collection", {
        "collection_date": (clock.now() + timedelta(days=1)).date().isoformat(),
        "manufacturing_slot": "MF-EAST slot 14"})


def _collect(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["collection_staff"], c, "record_collection", {
        "collection_end": (clock.now() - timedelta(hours=2)).isoformat(),
        "units": [{"volume_ml": 210.0, "anticoagulant": "ACD-A"},
                  {"volume_ml": 190.0, "anticoagulant": "ACD-A"}]})


def _ship(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["collection_staff"], c, "ship_to_manufacturing", {
        "scans": _scans(s, c, "apheresis"), "shipper_type": "2-8 °C validated shipper",
        "courier": "MedCourier", "tracking_number": f"MC{c.id:06d}",
        **cold_chain.cold_chain(s, c, Direction.apheresis_to_manufacturing)})


def _receive(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["lab_tech"], c, "receive_at_manufacturing", {
        "scans": _scans(s, c, "apheresis"), "shipper_temperature_c": 4.5,
        "storage_location": "Receiving fridge 2"})


def _start(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["lab_tech"], c, "start_manufacturing", {"scan": _scans(s, c, "apheresis")[0]})


def _steps(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    for step in ("activation", "transduction", "expansion", "harvest", "formulation"):
        _event(s, p["lab_tech"], c, "record_process_step",
               {"step": step, "scan": _scans(s, c, "apheresis")[0]})


def _complete_mfg(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["lab_tech"], c, "complete_manufacturing", {
        "scan": _scans(s, c, "apheresis")[0], "bags": [{"volume_ml": 68.0, "cell_dose": 2.0e8}],
        "cryopreserved_at": clock.now().isoformat()})


def _qc(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    for test, value in [("sterility", "No growth"), ("mycoplasma", "Not detected"),
                        ("endotoxin", "< 0.5 EU/mL"), ("viability", "91 %"),
                        ("car_expression", "47 %"), ("vcn", "1.8")]:
        _event(s, p["lab_tech"], c, "record_qc_result", {"test": test, "value": value,
                                                          "passed": True})


def _release(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["qa"], c, "release", {}, password=pw)


def _ship_tc(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["lab_tech"], c, "ship_to_treatment_center", {
        "scans": _scans(s, c, "product"), "shipper_type": "LN2 dry shipper",
        "courier": "World Courier", "tracking_number": f"176-{c.id:08d}",
        **cold_chain.cold_chain(s, c, Direction.product_to_treatment_center)})


def _receive_tc(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["infusion_staff"], c, "receive_at_treatment_center", {
        "scans": _scans(s, c, "product"), "shipper_temperature_c": -180.0,
        "storage_location": "LN2 tank B, rack 3"})


def _treatment_today(s: Session, c: Case) -> date:
    """Today on the treatment center's calendar, at the moment the demo is built (today's
    cases are recorded a few hours earlier, which may still be yesterday there)."""
    site = s.get(Site, c.treatment_site_id)
    assert site is not None
    return clock.local_date(_BUILT_AT.get(clock.now()), site.timezone)


def _start_ld(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    _event(s, p["infusion_staff"], c, "start_lymphodepletion",
           {"start_date": (_treatment_today(s, c) - timedelta(days=3)).isoformat()})


def _complete_ld(s: Session, p: dict[str, Principal], c: Case, pw: str) -> None:
    """Ended yesterday at the treatment center: the infusion window opens later (day 2 for
    some products), so the demo can show a refused thaw and its signed override."""
    _event(s, p["infusion_staff"], c, "complete_lymphodepletion",
           {"end_date": (_treatment_today(s, c) - timedelta(days=1)).isoformat()})


STEPS = [_schedule, _collect, _ship, _receive, _start, _steps, _complete_mfg, _qc, _release,
         _ship_tc, _receive_tc, _start_ld, _complete_ld]

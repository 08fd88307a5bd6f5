"""Enrolment: a patient and a new case, whose COI is issued here. The one event without a case
yet, so it is applied here rather than by the engine, under the same table row."""

from __future__ import annotations

from sqlmodel import Session

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict
from cartrack.fhir import patients
from cartrack.identity.service import allocate_coi
from cartrack.journey.access import check_actor
from cartrack.journey.events import EnrollIn
from cartrack.journey.models import Case, CaseEvent, State
from cartrack.journey.transitions import BY_EVENT
from cartrack.protocols import service as protocols
from cartrack.security import Principal
from cartrack.units import service as units
from cartrack.users import service as users
from cartrack.users.models import Site


def _site_of_kind(session: Session, code: str, kind: str) -> Site:
    site = users.site_by_code(session, code)
    if kind not in site.kind_list():
        raise Conflict(f"Site {code} is not a {kind.replace('_', ' ')}.", code="wrong_site_kind")
    return site


def enroll(session: Session, actor: Principal, data: EnrollIn) -> Case:
    t = BY_EVENT["enroll"]
    sites = {
        "collection": _site_of_kind(session, data.collection_site, "collection_center"),
        "manufacturing": _site_of_kind(session, data.manufacturing_site, "manufacturing_facility"),
        "treatment": _site_of_kind(session, data.treatment_site, "treatment_center"),
    }
    # The row's site scope is "clinical": a coordinator of the collection or treatment site.
    check_actor(actor, t, {sites["collection"].id or 0, sites["treatment"].id or 0})
    protocol = protocols.find(session, data.product, data.protocol_version)
    now = clock.now()
    intake = patients.intake(session, data, sites["treatment"], now)
    patient = intake.patient
    case = Case(coi=allocate_coi(session, sites["treatment"].fin), patient_id=patient.id or 0,
                protocol_id=protocol.id or 0, collection_site_id=sites["collection"].id or 0,
                manufacturing_site_id=sites["manufacturing"].id or 0,
                treatment_site_id=sites["treatment"].id or 0, state=State.enrolled,
                created_at=now, updated_at=now, milestones={"enrolled_at": now.isoformat()})
    session.add(case)
    session.flush()
    units.ensure_wristband(session, actor, case)
    timeline = {"product": protocol.product, "protocol_version": protocol.version,
                "sites": {k: v.code for k, v in sites.items()}}
    session.add(CaseEvent(case_id=case.id or 0, event=t.event, from_state=None,
                          to_state=case.state, actor_id=actor.id, actor_name=actor.name,
                          site_id=sites["treatment"].id, at=now, data=timeline))
    intake.audit(session, actor, case)
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="enroll",
                 entity="case", entity_id=case.id or 0, case_id=case.id,
                 new={"coi": case.coi, "state": case.state, "version": case.version, **timeline})
    return case

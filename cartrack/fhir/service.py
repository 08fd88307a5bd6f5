"""The read-only FHIR R5 export: a case's resources and bundle, one resource by type and id,
and the CapabilityStatement; every read follows the case's visibility rules."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from cartrack import __version__, clock
from cartrack.audit.models import Signature
from cartrack.errors import Forbidden, NotFound
from cartrack.fhir import models as fm
from cartrack.fhir import resources as res
from cartrack.journey import access as case_access
from cartrack.journey.models import Case, CaseEvent, Patient
from cartrack.protocols.models import Protocol
from cartrack.security import Principal
from cartrack.settings import get_settings
from cartrack.shipments.models import Shipment
from cartrack.units.models import Unit
from cartrack.users.models import Site


def record(session: Session, case: Case) -> res.CaseRecord:
    patient = session.get(Patient, case.patient_id)
    protocol = session.get(Protocol, case.protocol_id)
    assert patient is not None and protocol is not None
    ids = {"collection": case.collection_site_id, "manufacturing": case.manufacturing_site_id,
           "treatment": case.treatment_site_id}
    rows = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(ids.values())))}
    return res.CaseRecord(
        case=case, patient=patient, protocol=protocol,
        sites={which: rows[i] for which, i in ids.items()},
        units=list(session.exec(select(Unit).where(Unit.case_id == case.id)
                                .order_by(col(Unit.id))).all()),
        events=list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(col(CaseEvent.id))).all()),
        signatures=list(session.exec(select(Signature).where(Signature.case_id == case.id)
                                     .order_by(col(Signature.id))).all()),
        coi_system=get_settings().fhir_coi_system,
        shipments=list(session.exec(select(Shipment).where(Shipment.case_id == case.id)
                                    .order_by(col(Shipment.id))).all()))


def case_resources(r: res.CaseRecord, with_patient: bool) -> list[dict[str, Any]]:
    """Every resource of the case, in a reading order: who, what was ordered, the products, the
    procedures, the bedside, the signatures, the sites."""
    out: list[dict[str, Any]] = []
    if with_patient:
        out.append(res.patient(r.patient, r.sites["treatment"]))
    out.append(res.service_request(r))
    out += [res.product(r, u) for u in r.units]
    out += [res.procedure(r, e) for e in r.events if e.event in fm.PROCEDURES]
    out += [res.dispense(r, e) for e in r.events if e.event == "thaw"]
    out += [res.transport(r, s) for s in r.shipments]
    signed = _signed_events(r)
    out += [res.provenance(r, s, signed.get(s.id or 0)) for s in r.signatures]
    seen: set[int] = set()
    for site in r.sites.values():
        if site.id not in seen:
            seen.add(site.id or 0)
            out += [res.organization(site), res.location(site)]
    return out


def _signed_events(r: res.CaseRecord) -> dict[int, CaseEvent]:
    return {sid: e for e in r.events for sid in (e.signature_id, e.second_signature_id) if sid}


def bundle(session: Session, principal: Principal, case_id: int, base: str) -> dict[str, Any]:
    case = case_access.visible_case(session, principal, case_id)
    r = record(session, case)
    entries = case_resources(r, case_access.can_see_phi(principal, case))
    return {
        "resourceType": "Bundle", "id": f"case-{case.id}", "type": "collection",
        "identifier": res.coi_identifier(r), "timestamp": res.instant(clock.now()),
        "meta": {"lastUpdated": res.instant(case.updated_at)},
        "entry": [{"fullUrl": f"{base}{e['resourceType']}/{e['id']}", "resource": e}
                  for e in entries],
    }


def _missing(kind: str, rid: str) -> NotFound:
    return NotFound(f"No {kind} {rid}.", code="fhir_resource_not_found")


def _visible_case(session: Session, principal: Principal, case_id: int | None, kind: str,
                  rid: str) -> Case:
    case = session.get(Case, case_id) if case_id else None
    if case is None or not case_access.can_see(principal, case):
        # Another site's record answers as if it did not exist.
        raise _missing(kind, rid)
    return case


def read(session: Session, principal: Principal, kind: fm.ResourceType, rid: str
         ) -> dict[str, Any]:
    reader = READERS[kind]
    return reader(session, principal, rid)


def _int(kind: str, rid: str) -> int:
    if not rid.isdigit() or len(rid) > 9:
        raise _missing(kind, rid)
    return int(rid)


def _patient(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    patient = session.get(Patient, _int("Patient", rid))
    if patient is None:
        raise _missing("Patient", rid)
    cases = session.exec(select(Case).where(Case.patient_id == patient.id)).all()
    visible = [c for c in cases if case_access.can_see(principal, c)]
    if not visible:
        raise _missing("Patient", rid)
    if not any(case_access.can_see_phi(principal, c) for c in visible):
        raise Forbidden("Patient details are for the case's collection and treatment sites; "
                        "your sites work by COI only.", code="patient_details_forbidden")
    site = session.get(Site, patient.treatment_site_id)
    assert site is not None
    return res.patient(patient, site)


def _service_request(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    case = _visible_case(session, principal, _int("ServiceRequest", rid), "ServiceRequest", rid)
    return res.service_request(record(session, case))


def _unit_case(session: Session, principal: Principal, kind: str, rid: str
               ) -> tuple[res.CaseRecord, Unit]:
    unit = session.exec(select(Unit).where(Unit.unit_id == rid)).first()
    case = _visible_case(session, principal, unit.case_id if unit else None, kind, rid)
    r = record(session, case)
    found = r.unit(rid)
    assert found is not None
    return r, found


def _product(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    r, unit = _unit_case(session, principal, "BiologicallyDerivedProduct", rid)
    return res.product(r, unit)


def _dispense(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    r, unit = _unit_case(session, principal, "BiologicallyDerivedProductDispense", rid)
    thaw = next((e for e in r.events if e.event == "thaw" and e.data.get("unit") == unit.unit_id),
                None)
    if thaw is None:
        raise _missing("BiologicallyDerivedProductDispense", rid)
    return res.dispense(r, thaw)


def _procedure(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    event = session.get(CaseEvent, _int("Procedure", rid))
    case = _visible_case(session, principal, event.case_id if event else None, "Procedure", rid)
    if event is None or event.event not in fm.PROCEDURES:
        raise _missing("Procedure", rid)
    return res.procedure(record(session, case), event)


def _provenance(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    sig = session.get(Signature, _int("Provenance", rid))
    case = _visible_case(session, principal, sig.case_id if sig else None, "Provenance", rid)
    assert sig is not None
    r = record(session, case)
    return res.provenance(r, sig, _signed_events(r).get(sig.id or 0))


def _transport(session: Session, principal: Principal, rid: str) -> dict[str, Any]:
    shipment = session.get(Shipment, _int("Transport", rid))
    case = _visible_case(session, principal, shipment.case_id if shipment else None, "Transport",
                         rid)
    assert shipment is not None
    return res.transport(record(session, case), shipment)


def _site(session: Session, kind: str, rid: str) -> Site:
    site = session.get(Site, _int(kind, rid))
    if site is None:
        raise _missing(kind, rid)
    return site


READERS = {
    fm.ResourceType.Patient: _patient,
    fm.ResourceType.ServiceRequest: _service_request,
    fm.ResourceType.BiologicallyDerivedProduct: _product,
    fm.ResourceType.BiologicallyDerivedProductDispense: _dispense,
    fm.ResourceType.Procedure: _procedure,
    fm.ResourceType.Provenance: _provenance,
    fm.ResourceType.Organization: lambda s, _p, rid: res.organization(_site(s, "Organization",
                                                                           rid)),
    fm.ResourceType.Location: lambda s, _p, rid: res.location(_site(s, "Location", rid)),
    fm.ResourceType.Transport: _transport,
}


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
        "date": "2026-11-28", "publisher": "cartrack",
        "software": {"name": "cartrack", "version": __version__},
        "implementation": {"description": "cartrack FHIR R5 export (read-only)",
                           "url": base.rstrip("/")},
        "fhirVersion": fm.FHIR_VERSION, "format": [fm.FHIR_JSON],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only, generated from cartrack's own records under the case's "
                             "access rules. GET [base]/Case/{case id}/$bundle answers a "
                             "collection Bundle of a case. Patient is answered only to users "
                             "at the case's collection or treatment site. Transport is a "
                             "shipment of the case's bags.",
            "security": {"description": "Bearer token (POST /api/auth/token) or the web "
                                        "session cookie; another site's records answer 404."},
            "resource": [{"type": t.value, "interaction": [{"code": "read"}]}
                         for t in fm.ResourceType],
        }],
    }

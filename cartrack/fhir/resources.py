"""Our rows as FHIR R5 resources (plain JSON): one pure function per resource type.

Patient details (name, date of birth, MRN) appear in Patient and nowhere else; every other
resource points at the patient by a numeric id only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cartrack.audit.models import Signature
from cartrack.clock import as_utc
from cartrack.fhir import models as fm
from cartrack.journey.models import Case, CaseEvent, Patient
from cartrack.journey.transitions import State
from cartrack.protocols.models import Protocol
from cartrack.shipments.models import Direction, Shipment
from cartrack.units.models import Unit
from cartrack.users.models import Site

AVAILABLE_BAG = frozenset({"released", "in_transit", "stored", "thawed"})


@dataclass
class CaseRecord:
    """Everything the resources of one case are made from."""

    case: Case
    patient: Patient
    protocol: Protocol
    sites: dict[str, Site]  # collection, manufacturing, treatment
    units: list[Unit]
    events: list[CaseEvent]
    signatures: list[Signature]
    coi_system: str
    shipments: list[Shipment]

    def first(self, event: str) -> CaseEvent | None:
        return next((e for e in self.events if e.event == event), None)

    def last(self, event: str) -> CaseEvent | None:
        return next((e for e in reversed(self.events) if e.event == event), None)

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.unit_id == unit_id), None)


def ref(kind: str, rid: int | str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"{kind}/{rid}"}
    if display:
        out["display"] = display
    return out


def instant(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    return {**out, "display": display} if display else out


def coi_identifier(r: CaseRecord) -> dict[str, Any]:
    return {"system": r.coi_system, "value": r.case.coi,
            "type": {"text": "Chain of Identity Identifier"}}


def patient(p: Patient, site: Site) -> dict[str, Any]:
    identifier: dict[str, Any] = {
        "use": "usual", "type": {"coding": [coding(fm.IDENTIFIER_TYPE_SYSTEM, "MR",
                                                   "Medical record number")]},
        "value": p.mrn}
    if site.mrn_system:
        identifier["system"] = site.mrn_system
    return {"resourceType": "Patient", "id": str(p.id), "identifier": [identifier],
            "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
            "birthDate": p.date_of_birth.isoformat(),
            "managingOrganization": ref("Organization", site.id or 0, site.name)}


SERVICE_REQUEST_STATUS = {State.completed.value: "completed", State.cancelled.value: "revoked",
                          State.on_hold.value: "on-hold"}


def service_request(r: CaseRecord) -> dict[str, Any]:
    c = r.case
    out: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": str(c.id), "identifier": [coi_identifier(r)],
        "status": SERVICE_REQUEST_STATUS.get(c.state, "active"), "intent": "order",
        "code": {"concept": {"text": f"{r.protocol.name}, protocol version {r.protocol.version}"}},
        "subject": ref("Patient", c.patient_id), "authoredOn": instant(c.created_at),
        "requester": ref("Organization", c.treatment_site_id, r.sites["treatment"].name),
        "performer": [ref("Organization", c.manufacturing_site_id,
                          r.sites["manufacturing"].name)],
        "location": [{"reference": ref("Location", c.collection_site_id,
                                       r.sites["collection"].name)}]}
    if c.planned_infusion_date:
        out["occurrenceDateTime"] = c.planned_infusion_date.isoformat()
    return out


def product(r: CaseRecord, u: Unit) -> dict[str, Any]:
    """An apheresis unit or a final product bag: MPHO unique identifier and COI, the DIN as the
    biological source event, the apheresis unit as the parent of a product bag."""
    rules = r.protocol.rules()
    out: dict[str, Any] = {
        "resourceType": "BiologicallyDerivedProduct", "id": u.unit_id,
        "productCategory": coding(fm.PRODUCT_CATEGORY_SYSTEM, "cells", "Cells"),
        "identifier": [{"system": fm.MPHO_SYSTEM, "value": u.unit_id}, coi_identifier(r)],
        "biologicalSourceEvent": {"system": fm.DIN_SYSTEM, "value": u.unit_id[:13]},
        "request": [ref("ServiceRequest", r.case.id or 0)],
        "productStatus": coding(fm.PRODUCT_STATUS_SYSTEM, product_status(u)),
    }
    if u.kind == "apheresis":
        out["productCode"] = {"text": f"Autologous leukapheresis product for {r.protocol.name}"}
        out["collection"] = _collection(r, u)
        low, high = rules.apheresis_temp_min_c, rules.apheresis_temp_max_c
        out["storageTempRequirements"] = {"low": _celsius(low), "high": _celsius(high)}
    else:
        out["productCode"] = {"text": r.protocol.name}
        parent = next((p for p in r.units if p.id == u.parent_id), None)
        if parent is not None:
            out["parent"] = [ref("BiologicallyDerivedProduct", parent.unit_id)]
        out["processingFacility"] = [ref("Organization", r.case.manufacturing_site_id,
                                         r.sites["manufacturing"].name)]
        out["storageTempRequirements"] = {"high": _celsius(rules.storage_max_celsius)}
    if u.expires_at:
        out["expirationDate"] = instant(u.expires_at)
    return out


def product_status(u: Unit) -> str:
    """Available once QA has released the bag (until it is infused or discarded)."""
    if u.kind == "product" and u.status in AVAILABLE_BAG and not u.quarantined:
        return "available"
    return "unavailable"


def _collection(r: CaseRecord, u: Unit) -> dict[str, Any]:
    made = next((e for e in r.events if e.event == "record_collection"
                 and u.unit_id in e.data.get("units", [])), None)
    out: dict[str, Any] = {"source": ref("Patient", r.case.patient_id)}
    if made is not None:
        out["collector"] = {"display": made.actor_name}
    if u.collected_at:
        out["collectedDateTime"] = instant(u.collected_at)
    return out


def _celsius(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "°C", "system": "http://unitsofmeasure.org", "code": "Cel"}


def procedure(r: CaseRecord, e: CaseEvent) -> dict[str, Any]:
    name = fm.PROCEDURES[e.event]
    step = e.data.get("step")
    site = r.sites[_site_of(e.event)]
    when = e.data.get("collection_end") if e.event == "record_collection" else None
    out: dict[str, Any] = {
        "resourceType": "Procedure", "id": str(e.id), "status": "completed",
        "code": {"text": f"{name}: {step}" if step else name},
        "subject": ref("Patient", r.case.patient_id),
        "basedOn": [ref("ServiceRequest", r.case.id or 0)],
        "occurrenceDateTime": when or instant(e.at), "recorded": instant(e.at),
        "performer": [{"actor": {"display": e.actor_name},
                       "onBehalfOf": ref("Organization", site.id or 0, site.name)}],
        "location": ref("Location", site.id or 0, site.name),
    }
    used = [u for u in _units_named(e) if r.unit(u) is not None]
    if used:
        out["used"] = [{"reference": ref("BiologicallyDerivedProduct", u)} for u in used]
    start = _latest_before(r, "start_manufacturing", e)
    if e.event in ("record_process_step", "complete_manufacturing") and start is not None:
        out["partOf"] = [ref("Procedure", start.id or 0)]
    return out


def _site_of(event: str) -> str:
    if event == "record_collection":
        return "collection"
    return "treatment" if event in ("thaw", "infuse") else "manufacturing"


def _units_named(e: CaseEvent) -> list[str]:
    if e.event == "record_collection":
        return []
    names = [e.data.get("unit"), e.data.get("parent")]
    return [n for n in names if isinstance(n, str)] + [
        b for b in e.data.get("bags", []) if isinstance(b, str)]


def _latest_before(r: CaseRecord, event: str, e: CaseEvent) -> CaseEvent | None:
    earlier = [x for x in r.events if x.event == event and (x.id or 0) < (e.id or 0)]
    return earlier[-1] if earlier else None


def dispense(r: CaseRecord, thaw: CaseEvent) -> dict[str, Any]:
    """The bedside: the thawed bag prepared, checked by two people against the wristband, and
    handed over for infusion."""
    unit_id = str(thaw.data.get("unit"))
    infused = next((e for e in r.events if e.event == "infuse" and (e.id or 0) > (thaw.id or 0)),
                   None)
    status = "issued" if infused else ("unfulfilled" if r.case.state == State.cancelled.value
                                       else "allocated")
    site = r.sites["treatment"]
    out: dict[str, Any] = {
        "resourceType": "BiologicallyDerivedProductDispense", "id": unit_id, "status": status,
        "originRelationshipType": {"coding": [coding(fm.ORIGIN_SYSTEM, "autologous",
                                                     "Autologous")]},
        "product": ref("BiologicallyDerivedProduct", unit_id),
        "patient": ref("Patient", r.case.patient_id),
        "basedOn": [ref("ServiceRequest", r.case.id or 0)],
        "location": ref("Location", site.id or 0, site.name),
        "destination": ref("Location", site.id or 0, site.name),
        "preparedDate": instant(thaw.at),
        "performer": [{"actor": {"display": thaw.actor_name}, "function": {"text": "thawed"}}],
    }
    if infused is not None:
        out["whenHandedOver"] = instant(infused.at)
        out["performer"] = [
            {"actor": {"display": infused.actor_name}, "function": {"text": "administered"}},
            {"actor": {"display": str(infused.data.get("second_signer", ""))},
             "function": {"text": "verifier (two-person check)"}}]
        if infused.data.get("bedside_scans"):
            out["matchStatus"] = {"text": "Wristband and bag scanned at the bedside; both "
                                          "resolve to this chain of identity"}
    return out


def provenance(r: CaseRecord, sig: Signature, event: CaseEvent | None) -> dict[str, Any]:
    """An e-signature: who signed what, when, with which meaning, bound to the signed record's
    hash (the signature's data)."""
    code, display = fm.SIGNATURE_TYPES.get(sig.meaning, fm.AUTHOR)
    role = "verifier" if code == fm.VERIFICATION[0] else "author"
    return {
        "resourceType": "Provenance", "id": str(sig.id), "target": _targets(r, event),
        "occurredDateTime": instant(sig.signed_at), "recorded": instant(sig.signed_at),
        "activity": {"text": f"{event.event.replace('_', ' ') if event else sig.record_type}: "
                             f"{sig.meaning}"},
        "agent": [{"type": {"coding": [coding(fm.PARTICIPANT_TYPE_SYSTEM, role)]},
                   "who": {"display": sig.printed_name}}],
        "signature": [{"type": [coding(fm.SIGNATURE_TYPE_SYSTEM, code, display)],
                       "when": instant(sig.signed_at), "who": {"display": sig.printed_name},
                       "targetFormat": "application/json", "sigFormat": "application/octet-stream",
                       "data": base64.b64encode(bytes.fromhex(sig.record_hash)).decode()}],
    }


def _targets(r: CaseRecord, event: CaseEvent | None) -> list[dict[str, Any]]:
    name = event.event if event else ""
    if name in ("release", "decide_out_of_spec", "report_out_of_spec"):
        bags = [ref("BiologicallyDerivedProduct", u.unit_id) for u in r.units
                if u.kind == "product"]
        if bags:
            return bags
    if event is not None and name in fm.PROCEDURES:
        return [ref("Procedure", event.id or 0)]
    return [ref("ServiceRequest", r.case.id or 0)]


def organization(site: Site) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": str(site.id), "active": True,
            "identifier": [{"system": fm.FIN_SYSTEM, "value": site.fin},
                           {"system": fm.SITE_CODE_SYSTEM, "value": site.code}],
            "type": [{"text": k.replace("_", " ")} for k in site.kind_list()],
            "name": site.name}


def location(site: Site) -> dict[str, Any]:
    return {"resourceType": "Location", "id": str(site.id), "status": "active",
            "name": site.name, "description": ", ".join(k.replace("_", " ")
                                                       for k in site.kind_list()),
            "managingOrganization": ref("Organization", site.id or 0, site.name),
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/timezone",
                           "valueCode": site.timezone}]}


def transport(r: CaseRecord, s: Shipment) -> dict[str, Any]:
    """A shipment of the case's bags between two of its sites (where it is now is known only
    at its ends: the origin until received, then the destination)."""
    to_manufacturing = s.direction == Direction.apheresis_to_manufacturing
    origin = r.sites["collection" if to_manufacturing else "manufacturing"]
    destination = r.sites["manufacturing" if to_manufacturing else "treatment"]
    out: dict[str, Any] = {
        "resourceType": "Transport", "id": str(s.id),
        "status": "completed" if s.received_at else "in-progress", "intent": "order",
        "basedOn": [ref("ServiceRequest", r.case.id or 0)],
        "description": ("Apheresis to manufacturing" if to_manufacturing
                        else "Product to the treatment center")
                       + (f" by {s.courier}" if s.courier else ""),
        "authoredOn": instant(s.handed_over_at),
        "requestedLocation": ref("Location", destination.id or 0, destination.name),
        "currentLocation": ref("Location", (destination if s.received_at else origin).id or 0,
                               (destination if s.received_at else origin).name),
        "input": [{"type": {"text": "unit"},
                   "valueReference": ref("BiologicallyDerivedProduct", unit)}
                  for unit in s.units],
    }
    if s.received_at:
        out["completionTime"] = instant(s.received_at)
    if s.units:
        out["focus"] = ref("BiologicallyDerivedProduct", s.units[0])
    if s.air_waybill:
        out["identifier"] = [{"system": fm.AIR_WAYBILL_SYSTEM, "value": s.air_waybill}]
    return out

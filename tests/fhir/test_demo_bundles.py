"""Every case of the demo (a year of history and today's cases) as a FHIR R5 Bundle: it
validates with fhir.resources, our own coded-value checks pass (the library accepts invalid
codes), the identifiers are right, and no patient detail leaves Patient."""

from __future__ import annotations

import base64
import json
from typing import Any

import fhir.resources
import pytest
from fhir.resources import get_fhir_model_class
from fhir.resources.bundle import Bundle
from sqlmodel import col, select

from cartrack.audit.models import Signature
from cartrack.db import new_session
from cartrack.fhir import models as fm
from cartrack.journey.models import Case, Patient
from cartrack.settings import get_settings
from cartrack.units.models import Unit

pytestmark = pytest.mark.xdist_group("demo")


def test_the_library_validates_r5() -> None:
    assert fhir.resources.__fhir_version__ == "5.0.0"


def _bundles(client: Any, headers: dict[str, str]) -> dict[int, dict[str, Any]]:
    with new_session(read_only=True) as s:
        ids = [c.id for c in s.exec(select(Case).order_by(col(Case.id))).all()]
    out = {}
    for cid in ids:
        r = client.get(f"/fhir/R5/Case/{cid}/$bundle", headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/fhir+json"
        out[cid or 0] = r.json()
    return out


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_every_demo_bundle_validates_and_its_codes_are_allowed(demo_client: Any,
                                                                demo_auth: Any) -> None:
    bundles = _bundles(demo_client, demo_auth["coordinator"])
    assert len(bundles) >= 150
    kinds: set[str] = set()
    for bundle in bundles.values():
        Bundle.model_validate(bundle)
        assert bundle["type"] in fm.BUNDLE_TYPES and bundle["type"] == "collection"
        for entry in bundle["entry"]:
            resource = entry["resource"]
            kinds.add(resource["resourceType"])
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            assert entry["fullUrl"].endswith(f"/fhir/R5/{resource['resourceType']}/"
                                             f"{resource['id']}")
        for product in _of(bundle, "BiologicallyDerivedProduct"):
            status = product["productStatus"]
            assert status["system"] == fm.PRODUCT_STATUS_SYSTEM
            assert status["code"] in fm.PRODUCT_STATUS, status
        for dispense in _of(bundle, "BiologicallyDerivedProductDispense"):
            assert dispense["status"] in fm.DISPENSE_STATUS, dispense["status"]
        for request in _of(bundle, "ServiceRequest"):
            assert request["status"] in fm.SERVICE_REQUEST_STATUS
        for procedure in _of(bundle, "Procedure"):
            assert procedure["status"] in fm.PROCEDURE_STATUS
        bags = {p["id"] for p in _of(bundle, "BiologicallyDerivedProduct")}
        locations = {loc["id"] for loc in _of(bundle, "Location")}
        for transport in _of(bundle, "Transport"):
            assert transport["status"] in fm.TRANSPORT_STATUS
            assert transport["requestedLocation"]["reference"].split("/")[1] in locations
            assert {i["valueReference"]["reference"].split("/")[1]
                    for i in transport["input"]} <= bags
            done = transport["status"] == "completed"
            assert done == ("completionTime" in transport)
            if done:
                assert transport["currentLocation"] == transport["requestedLocation"]
    assert kinds == {t.value for t in fm.ResourceType}


def test_bags_carry_one_mpho_and_one_coi_identifier_and_their_din(demo_client: Any,
                                                                    demo_auth: Any) -> None:
    coi_system = get_settings().fhir_coi_system
    bundles = _bundles(demo_client, demo_auth["qa"])
    with new_session(read_only=True) as s:
        units = {u.unit_id: u for u in s.exec(select(Unit)).all()}
        cois = {c.id: c.coi for c in s.exec(select(Case)).all()}
    released = 0
    for cid, bundle in bundles.items():
        products = {p["id"]: p for p in _of(bundle, "BiologicallyDerivedProduct")}
        assert set(products) == {u for u, row in units.items() if row.case_id == cid}
        for pid, p in products.items():
            systems = [i["system"] for i in p["identifier"]]
            assert systems.count(fm.MPHO_SYSTEM) == 1 and systems.count(coi_system) == 1, pid
            by_system = {i["system"]: i["value"] for i in p["identifier"]}
            assert by_system[fm.MPHO_SYSTEM] == pid and by_system[coi_system] == cois[cid]
            din = units[pid].unit_id[:13]
            assert p["biologicalSourceEvent"] == {"system": fm.DIN_SYSTEM, "value": din}
            if units[pid].kind == "product":
                [parent] = p["parent"]
                parent_id = parent["reference"].split("/")[1]
                assert units[parent_id].kind == "apheresis" and parent_id in products
                assert products[parent_id]["identifier"][1]["value"] == cois[cid]
                available = p["productStatus"]["code"] == "available"
                assert available == (units[pid].status in ("released", "in_transit", "stored",
                                                          "thawed"))
                released += available
            else:
                assert p["productStatus"]["code"] == "unavailable" and "parent" not in p
    assert released >= 3, "today's demo cases hold released bags"


def test_no_patient_detail_outside_patient(demo_client: Any, demo_auth: Any) -> None:
    bundles = _bundles(demo_client, demo_auth["coordinator"])
    with new_session(read_only=True) as s:
        patients = {c.id: s.get(Patient, c.patient_id) for c in s.exec(select(Case)).all()}
    for cid, bundle in bundles.items():
        p = patients[cid]
        assert p is not None
        [fhir_patient] = _of(bundle, "Patient")
        assert fhir_patient["name"][0]["family"] == p.family_name
        assert fhir_patient["identifier"][0]["value"] == p.mrn
        secrets = (p.family_name, p.given_name, p.mrn, p.date_of_birth.isoformat())
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                continue
            text = json.dumps(entry["resource"])
            leaked = [v for v in secrets if v in text]
            assert not leaked, (entry["resource"]["resourceType"], leaked)


def test_release_provenance_is_bound_to_the_qa_signature(demo_client: Any,
                                                         demo_auth: Any) -> None:
    bundles = _bundles(demo_client, demo_auth["qa"])
    with new_session(read_only=True) as s:
        signatures = {str(sig.id): sig for sig in s.exec(select(Signature)).all()}
    checked = 0
    for bundle in bundles.values():
        bags = {f"BiologicallyDerivedProduct/{p['id']}" for p in
                _of(bundle, "BiologicallyDerivedProduct") if "parent" in p}
        for prov in _of(bundle, "Provenance"):
            sig = signatures[prov["id"]]
            [signed] = prov["signature"]
            assert signed["who"]["display"] == sig.printed_name
            assert signed["when"] == sig.signed_at.isoformat()
            assert base64.b64decode(signed["data"]).hex() == sig.record_hash
            if sig.meaning == "Approved for release":
                assert sig.printed_name == "Quinn Quality"
                assert signed["type"][0]["code"] == "1.2.840.10065.1.12.1.5"
                assert {t["reference"] for t in prov["target"]} <= bags and prov["target"]
                checked += 1
    assert checked >= 130

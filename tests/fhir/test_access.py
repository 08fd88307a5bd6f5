"""The FHIR export follows the case's rules: another site's case is 404, no credentials 401,
patient details only for the clinical sites; the CapabilityStatement is public."""

from __future__ import annotations

from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement

from cartrack.db import new_session
from cartrack.users.models import MembershipIn, UserIn
from cartrack.users.service import create_user
from tests.helpers.analytics import BERLIN, add_berlin_site, collected
from tests.helpers.auth import bearer_for
from tests.helpers.journey import SignedJourney


def _paths(bundle: dict[str, Any]) -> list[str]:
    return [e["fullUrl"].split("/fhir/R5/", 1)[1] for e in bundle["entry"]]


def test_another_sites_records_answer_404_and_no_credentials_401(client: Any, auth: Any,
                                                                 frozen: Any) -> None:
    add_berlin_site(extra_users=())
    with new_session() as s:
        create_user(s, None, UserIn(username="berlin_coord", full_name="Berta Berlin",
                                    password="a-long-password-1",
                                    memberships=[MembershipIn(role="coordinator",
                                                              site_code=BERLIN)]))
        s.commit()
    berlin = bearer_for("berlin_coord")
    j = SignedJourney(client, auth)
    cid = collected(j, "yescarta", "FHIR-1")
    j.to(cid, "released")
    bundle = client.get(f"/fhir/R5/Case/{cid}/$bundle", headers=auth["coordinator"]).json()
    paths = _paths(bundle)
    assert any(p.startswith("Patient/") for p in paths)
    assert any(p.startswith("Transport/") for p in paths), "the apheresis shipment"
    for path in [f"Case/{cid}/$bundle", *paths]:
        if path.startswith(("Organization/", "Location/")):
            continue  # sites are not case records: any signed-in case user reads them
        url = path
        r = client.get(f"/fhir/R5/{url}", headers=berlin)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.json()["code"] in ("case_not_found", "fhir_resource_not_found")
        assert client.get(f"/fhir/R5/{url}").status_code == 401
        own = client.get(f"/fhir/R5/{url}", headers=auth["coordinator"])
        assert own.status_code == 200 and own.headers["content-type"] == "application/fhir+json"
    missing = client.get("/fhir/R5/Case/999999/$bundle", headers=auth["coordinator"])
    assert missing.status_code == 404
    assert client.get("/fhir/R5/Procedure/abc", headers=auth["coordinator"]).status_code == 404
    unknown = client.get("/fhir/R5/Observation/1", headers=auth["coordinator"])
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_input"
    assert client.get("/fhir/R5/Case/1/$bundle", headers=auth["admin"]).status_code == 403


def test_patient_details_only_for_the_clinical_sites(client: Any, auth: Any) -> None:
    j = SignedJourney(client, auth)
    cid = collected(j, "yescarta", "FHIR-2")
    j.to(cid, "qc_pending")
    lab = client.get(f"/fhir/R5/Case/{cid}/$bundle", headers=auth["lab_tech"])
    assert lab.status_code == 200
    Bundle.model_validate(lab.json())
    assert not any(p.startswith("Patient/") for p in _paths(lab.json()))
    assert "FHIR-2" not in lab.text and "Vector" not in lab.text
    request = next(e["resource"] for e in lab.json()["entry"]
                   if e["resource"]["resourceType"] == "ServiceRequest")
    patient_path = request["subject"]["reference"]
    refused = client.get(f"/fhir/R5/{patient_path}", headers=auth["lab_tech"])
    assert refused.status_code == 403 and refused.json()["code"] == "patient_details_forbidden"
    seen = client.get(f"/fhir/R5/{patient_path}", headers=auth["collection_staff"]).json()
    assert seen["identifier"][0]["value"] == "FHIR-2"
    assert seen["identifier"][0]["system"] == "https://city-hospital.example/fhir/sid/mrn"


def test_the_capability_statement_is_public_and_valid(client: Any) -> None:
    r = client.get("/fhir/R5/metadata")
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    statement = CapabilityStatement.model_validate(r.json())
    assert statement.fhirVersion == "5.0.0"
    types = {res.type for res in statement.rest[0].resource}
    assert {"Patient", "BiologicallyDerivedProduct", "Provenance"} <= types
    assert "Transport" in types  # a shipment of the case's bags

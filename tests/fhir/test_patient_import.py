"""Enrollment from a FHIR R5 Patient: the MRN is the identifier of the treatment center's
system; a Patient that does not validate, or lacks that identifier, is refused naming the
field; importing the same MRN again links to the patient already there."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from cartrack.audit.models import AuditEntry
from cartrack.db import new_session
from cartrack.journey.models import Patient

CITY_MRN = "https://city-hospital.example/fhir/sid/mrn"


def fhir_patient(mrn: str = "MRN-F1", *, system: str = CITY_MRN, birth: str = "1971-04-05",
                 given: str = "Olga", family: str = "Fhirova") -> dict[str, Any]:
    return {"resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "999-00-1234"},
                           {"system": system, "value": mrn}],
            "name": [{"use": "nickname", "given": ["Olly"], "family": family},
                     {"use": "official", "given": [given, "Maria"], "family": family}],
            "gender": "female", "birthDate": birth}


def enroll(client: Any, auth: Any, resource: Any, **extra: Any) -> Any:
    return client.post("/api/cases", headers=auth["coordinator"], json={
        "fhir_patient": resource, "product": "yescarta", "collection_site": "TC-CITY",
        "manufacturing_site": "MF-EAST", "treatment_site": "TC-CITY", **extra})


def patients() -> list[Patient]:
    with new_session(read_only=True) as s:
        return list(s.exec(select(Patient)).all())


def test_a_valid_patient_enrolls_with_the_sites_mrn(client: Any, auth: Any) -> None:
    r = enroll(client, auth, fhir_patient())
    assert r.status_code == 201, r.text
    assert r.json()["patient"] == {"given_name": "Olga", "family_name": "Fhirova",
                                   "date_of_birth": "1971-04-05", "mrn": "MRN-F1"}
    # What comes back out as FHIR is the same patient.
    back = client.get(f"/fhir/R5/Case/{r.json()['id']}/$bundle",
                      headers=auth["coordinator"]).json()
    [exported] = [e["resource"] for e in back["entry"]
                  if e["resource"]["resourceType"] == "Patient"]
    assert exported["identifier"][0] | {"type": None} == {"use": "usual", "system": CITY_MRN,
                                                        "value": "MRN-F1", "type": None}
    assert exported["birthDate"] == "1971-04-05"


def test_an_invalid_patient_is_refused_naming_the_field(client: Any, auth: Any) -> None:
    bad_date = enroll(client, auth, fhir_patient(birth="05/04/1971"))
    assert bad_date.status_code == 422
    body = bad_date.json()
    assert body["code"] == "fhir_patient_invalid"
    assert body["fields"][0]["field"] == "fhir_patient.birthDate"
    assert "fhir_patient.birthDate" in body["detail"]
    no_mrn = enroll(client, auth, fhir_patient(system="https://elsewhere.example/mrn"))
    assert no_mrn.status_code == 422 and no_mrn.json()["fields"][0]["field"] == \
        "fhir_patient.identifier"
    assert CITY_MRN in no_mrn.json()["detail"]
    unknown_element = enroll(client, auth, {**fhir_patient(), "shoeSize": 42})
    assert unknown_element.status_code == 422
    assert unknown_element.json()["fields"][0]["field"] == "fhir_patient.shoeSize"
    other_type = enroll(client, auth, {"resourceType": "Observation", "status": "final"})
    assert other_type.status_code == 422
    assert other_type.json()["fields"][0]["field"] == "fhir_patient.resourceType"
    nameless = {k: v for k, v in fhir_patient().items() if k != "name"}
    assert enroll(client, auth, nameless).json()["fields"][0]["field"] == "fhir_patient.name"
    both = enroll(client, auth, fhir_patient(), patient={
        "given_name": "A", "family_name": "B", "date_of_birth": "1970-01-01", "mrn": "X"})
    assert both.status_code == 422 and both.json()["code"] == "invalid_input"
    # The treatment center must say which identifier is its MRN; MF-EAST has no MRN system.
    assert patients() == []
    assert client.get("/api/cases", headers=auth["coordinator"]).json()["total"] == 0


def test_reimporting_the_same_mrn_links_to_the_existing_patient(client: Any, auth: Any) -> None:
    first = enroll(client, auth, fhir_patient())
    assert first.status_code == 201
    again = enroll(client, auth, fhir_patient(family="Fhirova-Berg"))
    assert again.status_code == 201, again.text
    [patient] = patients()
    assert patient.family_name == "Fhirova-Berg"
    cases = client.get("/api/cases", headers=auth["coordinator"]).json()["items"]
    assert len(cases) == 2 and cases[0]["coi"] != cases[1]["coi"]
    with new_session(read_only=True) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.entity == "patient")
                      .order_by(col(AuditEntry.id))).all()
    assert [r.action for r in rows] == ["create", "link"]
    assert rows[1].old == {"family_name": "Fhirova"}
    assert (rows[1].new or {}).get("family_name") == "Fhirova-Berg"
    # Same MRN, another date of birth: not the same person, or a typo; refused, nothing made.
    clash = enroll(client, auth, fhir_patient(birth="1972-04-05"))
    assert clash.status_code == 409 and clash.json()["code"] == "patient_mismatch"
    assert len(patients()) == 1
    # Typed fields are not an import: they make a patient record of their own, as before.
    typed = client.post("/api/cases", headers=auth["coordinator"], json={
        "patient": {"given_name": "Olga", "family_name": "Fhirova", "date_of_birth":
                    "1971-04-05", "mrn": "MRN-F1"}, "product": "yescarta",
        "collection_site": "TC-CITY", "manufacturing_site": "MF-EAST",
        "treatment_site": "TC-CITY"})
    assert typed.status_code == 201 and len(patients()) == 2

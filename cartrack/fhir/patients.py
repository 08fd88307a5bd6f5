"""The patient of an enrollment: typed, or imported from a FHIR R5 Patient resource.

An imported Patient is validated with fhir.resources (R5); its MRN is the value of the
identifier whose system the treatment center configures (``Site.mrn_system``). Importing the
same MRN at the same treatment center again links the new case to the patient already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.patient import Patient as FhirPatient
from pydantic import ValidationError
from sqlmodel import Session, col, select

from cartrack.audit import service as audit
from cartrack.errors import Conflict, FieldProblem, Invalid
from cartrack.journey.events import EnrollIn, PatientIn
from cartrack.journey.models import Case, Patient
from cartrack.security import Principal
from cartrack.users.models import Site

FIELD = "fhir_patient"


class PatientResourceInvalid(Invalid):
    """422 naming the fields of the Patient resource that are wrong or missing."""

    code = "fhir_patient_invalid"

    def __init__(self, detail: str, fields: list[FieldProblem]) -> None:
        super().__init__(detail, fields=fields)


def _refuse(field: str, message: str, kind: str = "value_error") -> PatientResourceInvalid:
    name = f"{FIELD}.{field}" if field else FIELD
    return PatientResourceInvalid(f"The FHIR Patient is not usable ({name}): {message}",
                                  [FieldProblem(field=name, message=message, type=kind)])


def _validated(resource: dict[str, Any]) -> FhirPatient:
    if resource.get("resourceType") != "Patient":
        raise _refuse("resourceType", "expected a FHIR R5 Patient resource (resourceType "
                      "\"Patient\").")
    try:
        return FhirPatient.model_validate(resource)
    except ValidationError as exc:
        fields = [FieldProblem(field=".".join([FIELD, *(str(p) for p in e["loc"])]),
                               message=e["msg"], type=e["type"]) for e in exc.errors()]
        raise PatientResourceInvalid(
            f"The FHIR Patient does not validate as R5 ({fields[0]['field']}): "
            f"{fields[0]['message']}", fields) from exc
    except (ValueError, TypeError) as exc:
        raise _refuse("", f"not a FHIR Patient resource ({exc}).") from exc


def from_fhir(resource: dict[str, Any], site: Site) -> PatientIn:
    """The typed fields of a FHIR Patient, the MRN taken from the site's identifier system."""
    if not site.mrn_system:
        raise _refuse("identifier", f"{site.code} has no MRN identifier system configured, so "
                      "no identifier can be read as its MRN; an admin sets the site's MRN system.")
    fhir = _validated(resource)
    mrns = [i.value for i in fhir.identifier or [] if i.system == site.mrn_system and i.value]
    if len(mrns) != 1:
        found = "no identifier" if not mrns else "more than one identifier"
        raise _refuse("identifier", f"{found} with the system {site.mrn_system} (the MRN system "
                      f"of {site.code}).")
    names = sorted(fhir.name or [], key=lambda n: 0 if n.use in ("official", "usual") else 1)
    name = next((n for n in names if n.family and n.given), None)
    if name is None:
        raise _refuse("name", "a name with a family name and a given name is needed.")
    if fhir.birthDate is None:
        raise _refuse("birthDate", "the date of birth is needed.")
    try:
        return PatientIn(given_name=(name.given or [""])[0] or "", family_name=name.family,
                         date_of_birth=fhir.birthDate, mrn=mrns[0])
    except ValidationError as exc:
        where = {"given_name": "name.given", "family_name": "name.family", "mrn": "identifier"}
        first = exc.errors()[0]
        raise _refuse(where.get(str(first["loc"][0]), ""), first["msg"]) from exc


@dataclass
class Intake:
    """The enrollment's patient, and how to record it once the case exists."""

    patient: Patient
    created: bool
    details: dict[str, Any]
    changed: dict[str, Any]

    def audit(self, session: Session, actor: Principal, case: Case) -> None:
        if self.created:
            audit.record(session, user_id=actor.id, printed_name=actor.name, action="create",
                         entity="patient", entity_id=self.patient.id or 0, case_id=case.id,
                         new=self.details)
            return
        audit.record(session, user_id=actor.id, printed_name=actor.name, action="link",
                     entity="patient", entity_id=self.patient.id or 0, case_id=case.id,
                     old={k: v[0] for k, v in self.changed.items()} or None,
                     new={"source": "FHIR Patient import", "mrn": self.patient.mrn,
                          **{k: v[1] for k, v in self.changed.items()}})


def intake(session: Session, data: EnrollIn, site: Site, now: datetime) -> Intake:
    """A new patient from typed fields; from a FHIR Patient, the patient with the same MRN at
    the treatment center if there is one (same date of birth, else 409), or a new one."""
    if data.fhir_patient is None:
        assert data.patient is not None
        return _create(session, data.patient, site, now)
    typed = from_fhir(data.fhir_patient, site)
    known = session.exec(select(Patient).where(Patient.mrn == typed.mrn,
                                               Patient.treatment_site_id == site.id)
                         .order_by(col(Patient.id))).first()
    if known is None:
        return _create(session, typed, site, now)
    if known.date_of_birth != typed.date_of_birth:
        raise Conflict(f"{site.code} already has a patient with this MRN and another date of "
                       "birth; check the patient's identity before enrolling.",
                       code="patient_mismatch", context={"field": f"{FIELD}.birthDate"})
    changed = {k: (getattr(known, k), getattr(typed, k)) for k in ("given_name", "family_name")
               if getattr(known, k) != getattr(typed, k)}
    for key, (_old, new) in changed.items():
        setattr(known, key, new)
    session.add(known)
    return Intake(known, False, typed.model_dump(), changed)


def _create(session: Session, typed: PatientIn, site: Site, now: datetime) -> Intake:
    patient = Patient(**typed.model_dump(), treatment_site_id=site.id or 0, created_at=now)
    session.add(patient)
    session.flush()
    return Intake(patient, True, typed.model_dump(), {})

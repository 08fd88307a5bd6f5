"""FHIR R5, read-only: GET [base]/{type}/{id}, GET [base]/Case/{case id}/$bundle and
GET [base]/metadata, answered as application/fhir+json."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from cartrack.db import SessionDep
from cartrack.fhir import models as fm
from cartrack.fhir import service
from cartrack.journey import access as case_access
from cartrack.security import PUBLIC, Access, Principal

BASE = "/fhir/R5"
router = APIRouter(prefix=BASE, tags=["fhir"])
FHIR_ACCESS = Access(*case_access.CASE_ROLES)


class FhirResponse(JSONResponse):
    media_type = fm.FHIR_JSON


FHIR_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {fm.FHIR_JSON: {"schema": {"type": "object"}}},
          "description": "A FHIR R5 resource"}}


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{BASE}/"


@router.get("/metadata", response_class=Response, responses=FHIR_OK,
            dependencies=[Depends(PUBLIC)])
def metadata(request: Request) -> FhirResponse:
    """The CapabilityStatement: what this server answers (read-only)."""
    return FhirResponse(service.capability_statement(_base(request)))


@router.get("/Case/{case_id}/$bundle", response_class=Response, responses=FHIR_OK)
def case_bundle(request: Request, session: SessionDep, case_id: int = Path(ge=1, le=2**31 - 1),
                principal: Principal = Depends(FHIR_ACCESS)) -> FhirResponse:
    """A collection Bundle of one case: Patient (for the clinical sites only), ServiceRequest,
    BiologicallyDerivedProduct per bag, Procedure, BiologicallyDerivedProductDispense,
    Provenance per e-signature, Organization and Location per site."""
    return FhirResponse(service.bundle(session, principal, case_id, _base(request)))


@router.get("/{resource_type}/{resource_id}", response_class=Response, responses=FHIR_OK)
def read(session: SessionDep, resource_type: fm.ResourceType,
         resource_id: str = Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$"),
         principal: Principal = Depends(FHIR_ACCESS)) -> FhirResponse:
    """One resource by type and logical id; another site's record answers 404."""
    return FhirResponse(service.read(session, principal, resource_type, resource_id))

"""Case visibility for the read-only domains (FHIR export, analytics): one adapter over the
journey's rules, so those domains follow every change to who may see which case."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from cartrack.journey import service as journey
from cartrack.journey.models import Case
from cartrack.security import Principal

CASE_ROLES = journey.CASE_ROLES


def can_see(principal: Principal, case: Case) -> bool:
    return journey.can_see(principal, case)


def can_see_phi(principal: Principal, case: Case) -> bool:
    """Patient details: only users at the case's clinical sites (or admins)."""
    return journey.can_see_phi(principal, case)


def visible_site_filter(principal: Principal) -> Any:
    """A WHERE clause on Case: the cases this user may see."""
    return journey.visible_site_filter(principal)


def get_case(session: Session, principal: Principal, case_id: int) -> Case:
    """The case, or 404 (a case of another site answers as if it did not exist)."""
    return journey.get_case(session, principal, case_id)

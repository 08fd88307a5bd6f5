"""The read side of the journey: case lists and case pages, in a fixed number of queries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from cartrack.alerts.models import Deadline, DeadlineStatus
from cartrack.audit.models import Signature
from cartrack.errors import Invalid
from cartrack.identity.identifiers import (
    IdentifierError,
    printed_coi,
    printed_unit,
    validate_printed,
)
from cartrack.journey import schemas as sc
from cartrack.journey.access import can_see_phi, phi_site_filter, visible_site_filter
from cartrack.journey.actions import available_actions
from cartrack.journey.guards import latest_qc
from cartrack.journey.models import Case, CaseEvent, MonitoringCheck, Patient, QcResult, State
from cartrack.pagination import Page
from cartrack.protocols.models import Protocol
from cartrack.security import Principal
from cartrack.units.models import Unit
from cartrack.users.models import Site


def deadline_out(d: Deadline) -> sc.DeadlineOut:
    return sc.DeadlineOut(id=d.id or 0, kind=d.kind, label=d.label, ordinal=d.ordinal,
                          opened_at=d.opened_at, earliest_at=d.earliest_at, due_at=d.due_at,
                          status=d.status, closed_at=d.closed_at)


def _sites(session: Session) -> dict[int, Site]:
    return {s.id or 0: s for s in session.exec(select(Site)).all()}


def _protocols(session: Session, ids: set[int]) -> dict[int, Protocol]:
    if not ids:
        return {}
    return {p.id or 0: p for p in session.exec(select(Protocol).where(col(Protocol.id).in_(ids)))}


def _next_deadlines(session: Session, case_ids: list[int]) -> dict[int, Deadline]:
    if not case_ids:
        return {}
    rows = session.exec(select(Deadline).where(col(Deadline.case_id).in_(case_ids),
                                               Deadline.status == DeadlineStatus.open)
                        .order_by(col(Deadline.due_at))).all()
    out: dict[int, Deadline] = {}
    for d in rows:
        out.setdefault(d.case_id, d)
    return out


def summary(case: Case, protocol: Protocol, sites: dict[int, Site],
            next_deadline: Deadline | None, patient: Patient | None = None) -> sc.CaseSummary:
    return sc.CaseSummary(
        id=case.id or 0, coi=case.coi, coi_check=printed_coi(case.coi).check, state=case.state,
        held_from=case.held_from, version=case.version, product=protocol.product,
        protocol_version=protocol.version, collection_site=sites[case.collection_site_id].code,
        manufacturing_site=sites[case.manufacturing_site_id].code,
        treatment_site=sites[case.treatment_site_id].code,
        next_deadline=deadline_out(next_deadline) if next_deadline else None,
        updated_at=case.updated_at,
        patient=sc.PatientOut.model_validate(patient, from_attributes=True) if patient else None,
    )


def list_cases(session: Session, principal: Principal, *, states: list[State], q: str | None,
               limit: int, offset: int) -> Page[sc.CaseSummary]:
    where: list[Any] = [visible_site_filter(principal)]
    if states:
        where.append(col(Case.state).in_(states))
    if q:
        where.append(_search_filter(q, principal))
    total = session.exec(select(func.count()).select_from(Case).where(*where)).one()
    cases = list(session.exec(select(Case).where(*where)
                              .order_by(col(Case.updated_at).desc(), col(Case.id).desc())
                              .limit(limit).offset(offset)).all())
    protocols = _protocols(session, {c.protocol_id for c in cases})
    sites = _sites(session)
    nexts = _next_deadlines(session, [c.id or 0 for c in cases])
    patients = _patients(session, [c.patient_id for c in cases if can_see_phi(principal, c)])
    items = [summary(c, protocols[c.protocol_id], sites, nexts.get(c.id or 0),
                     patients.get(c.patient_id)) for c in cases]
    return Page[sc.CaseSummary](items=items, total=int(total), limit=limit, offset=offset)


def _patients(session: Session, ids: list[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    return {p.id or 0: p for p in session.exec(select(Patient).where(col(Patient.id).in_(ids)))}


def _search_filter(q: str, principal: Principal) -> ColumnElement[bool]:
    """COI or unit ID, typed with or without the check character (a typed check character that
    does not match is refused rather than silently ignored); for users who may see patient
    details, also the patient's name, MRN or date of birth, among those cases only."""
    return or_(_identifier_filter(q), and_(phi_site_filter(principal), _patient_filter(q)))


def _identifier_filter(q: str) -> ColumnElement[bool]:
    text = q.strip().upper().replace(" ", "")
    if len(text) == 16 and text.isalnum() and any(c.isdigit() for c in text):
        try:
            _, value = validate_printed(text)
        except IdentifierError as exc:
            raise Invalid(f"{exc}.", code="bad_check_character") from exc
        text = value
    if text.startswith("CH"):
        return col(Case.coi).startswith(text[:15])
    sub = select(Unit.case_id).where(col(Unit.unit_id).startswith(text[:15]))
    return col(Case.id).in_(sub)


def _patient_filter(q: str) -> ColumnElement[bool]:
    words = q.strip().lower()
    full = func.lower(col(Patient.given_name) + " " + col(Patient.family_name))
    matches = [full.contains(words, autoescape=True),
               func.lower(col(Patient.family_name) + " " + col(Patient.given_name)).contains(
                   words, autoescape=True),
               func.lower(col(Patient.mrn)) == words]
    born = _as_date(q.strip())
    if born is not None:
        matches.append(col(Patient.date_of_birth) == born)
    return col(Case.patient_id).in_(select(Patient.id).where(or_(*matches)))


def _as_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def detail(session: Session, principal: Principal, case: Case) -> sc.CaseDetail:
    protocol = session.get(Protocol, case.protocol_id)
    if protocol is None:
        raise Invalid(f"Case {case.id} names no known protocol.", code="protocol_not_found")
    sites = _sites(session)
    deadlines = list(session.exec(select(Deadline).where(Deadline.case_id == case.id)
                                  .order_by(col(Deadline.due_at), col(Deadline.id))).all())
    open_ones = [d for d in deadlines if d.status == DeadlineStatus.open]
    patient = session.get(Patient, case.patient_id) if can_see_phi(principal, case) else None
    base = summary(case, protocol, sites, open_ones[0] if open_ones else None, patient)
    bags = list(session.exec(select(Unit).where(Unit.case_id == case.id)
                             .order_by(col(Unit.id))).all())
    by_pk = {u.id: u.unit_id for u in bags}
    qc = latest_qc(session, case.id or 0)
    all_qc = session.exec(select(QcResult).where(QcResult.case_id == case.id)
                          .order_by(col(QcResult.id))).all()
    checks = session.exec(select(MonitoringCheck).where(MonitoringCheck.case_id == case.id)
                          .order_by(col(MonitoringCheck.day))).all()
    return sc.CaseDetail(
        **dict(base),
        collection_date=case.collection_date, manufacturing_slot=case.manufacturing_slot,
        planned_infusion_date=case.planned_infusion_date, ld_started_on=case.ld_started_on,
        ld_completed_on=case.ld_completed_on, ld_regimen=case.ld_regimen,
        milestones=sc.Milestones.model_validate(case.milestones),
        deadlines=[deadline_out(d) for d in deadlines],
        units=[unit_out(u, by_pk, sites) for u in bags],
        qc_results=[sc.QcResultOut(test=r.test, value=r.value, spec=r.spec, passed=r.passed,
                                   recorded_at=r.recorded_at) for r in all_qc],
        qc_required=[sc.QcRequirementOut(code=t.code, name=t.name, spec=t.spec,
                                         latest=qc[t.code].passed if t.code in qc else None)
                     for t in protocol.rules().qc_tests],
        monitoring=[sc.MonitoringOut(day=m.day, crs_grade=m.crs_grade, icans_grade=m.icans_grade,
                                     notes=m.notes, recorded_at=m.recorded_at) for m in checks],
        actions=available_actions(session, principal, case, sites),
    )


def unit_out(u: Unit, by_pk: dict[int | None, str], sites: dict[int, Site]) -> sc.UnitOut:
    site = sites.get(u.site_id or 0)
    return sc.UnitOut(id=u.id or 0, unit_id=u.unit_id, unit_id_check=printed_unit(u.unit_id).check,
                      kind=u.kind, parent_unit_id=by_pk.get(u.parent_id) if u.parent_id else None,
                      status=u.status, site_code=site.code if site else None, location=u.location,
                      volume_ml=u.volume_ml, collected_at=u.collected_at, expires_at=u.expires_at,
                      quarantined=u.quarantined)


def timeline(session: Session, case: Case) -> list[sc.EventOut]:
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                          .order_by(col(CaseEvent.id))).all()
    sigs = {s.id: s for s in session.exec(select(Signature).where(Signature.case_id == case.id))}
    out = []
    for e in events:
        signed = [sigs[i] for i in (e.signature_id, e.second_signature_id) if i in sigs]
        out.append(sc.EventOut(
            id=e.id or 0, event=e.event, from_state=e.from_state, to_state=e.to_state,
            actor_name=e.actor_name, at=e.at, data=e.data, reason=e.reason,
            signatures=[sc.SignatureOut(printed_name=s.printed_name, meaning=s.meaning,
                                        signed_at=s.signed_at, record_hash=s.record_hash)
                        for s in signed]))
    return out

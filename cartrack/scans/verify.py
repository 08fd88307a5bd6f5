"""What a journey step expects to be scanned, checked: the one rule the scan station and the
events both apply (``bag_problem``), and the event-side checks of one bag, of every bag of a
shipment, and of the bedside pair. Each returns custody rows and the problem found; the
journey decides whether to refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from cartrack.journey.models import Case
from cartrack.journey.transitions import Expect
from cartrack.scans.models import CustodyEvent, CustodyKind, ScanReason, Verdict
from cartrack.scans.resolve import (
    MESSAGES,
    custody_event,
    custody_record,
    resolve,
    severity_rank,
    unit_problem,
)
from cartrack.security import Principal
from cartrack.units.models import Unit

Problem = tuple[ScanReason, str]


def words(code: str) -> str:
    return code.replace("_", " ")


def bag_problem(unit: Unit, expect: Expect, action: str) -> Problem | None:
    """A bag fit for the step: not quarantined or expired, of the kind the step expects, in a
    status it accepts."""
    problem = unit_problem(unit)
    if problem is not None:
        return problem, MESSAGES[problem]
    if expect.unit_kind is not None and unit.kind != expect.unit_kind:
        return (ScanReason.wrong_step, f"Wrong bag for this step: this is an {words(unit.kind)} "
                f"bag, and {words(action)} needs a {words(expect.unit_kind)} bag.")
    if unit.status not in expect.statuses:
        return (ScanReason.wrong_step, f"Wrong step for this bag: it is {words(unit.status)}, so "
                f"it cannot be used to {words(action)}.")
    return None


def other_case_reason(scanned: Case, case: Case) -> ScanReason:
    return ScanReason.other_patient if scanned.patient_id != case.patient_id else ScanReason.other_case


@dataclass
class ScanCheck:
    rows: list[CustodyEvent] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def gravest(self) -> Problem | None:
        return min(self.problems, key=lambda p: severity_rank(p[0])) if self.problems else None

    @property
    def detail(self) -> str:
        return " ".join(message for _, message in self.problems)


def check_one(session: Session, actor: Principal, case: Case, expect: Expect, raw: str,
              action: str, site_id: int) -> ScanCheck:
    """One bag scanned inside a step: a bag of this case, fit for the step."""
    res = resolve(session, raw)
    problem: Problem | None
    if res.reason is not None:
        problem = res.reason, res.message or MESSAGES.get(res.reason, "")
    elif res.unit is None:
        problem = ScanReason.wrong_step, MESSAGES["wristband_for_bag"]
    elif res.case is not None and res.case.id != case.id:
        reason = other_case_reason(res.case, case)
        problem = reason, MESSAGES[reason]
    else:
        problem = bag_problem(res.unit, expect, action)
    message = problem[1] if problem else "Bag matches this case."
    row = custody_event(custody_record(
        actor, site_id=site_id, reason=problem[0] if problem else None, message=message,
        unit=res.unit, band=res.wristband, case_id=case.id, action=action,
        kind=CustodyKind.process))
    return ScanCheck([row], [res.unit] if res.unit and not problem else [],
                     [problem] if problem else [])


def expected_units(session: Session, case_id: int, expect: Expect) -> list[Unit]:
    """The bags a handoff must carry: every bag of the case of this kind in these statuses."""
    return list(session.exec(select(Unit).where(Unit.case_id == case_id,
                                                Unit.kind == expect.unit_kind,
                                                col(Unit.status).in_(expect.statuses))
                             .order_by(col(Unit.id))).all())


def check_handoff(session: Session, actor: Principal, case: Case, expect: Expect,
                  raw_scans: list[str], action: str, site_id: int,
                  location: str | None = None) -> ScanCheck:
    """Every expected bag scanned once, nothing else."""
    expected = expected_units(session, case.id or 0, expect)
    expected_ids = {u.id for u in expected}
    seen: set[int | None] = set()
    out = ScanCheck(units=expected)
    for raw in raw_scans:
        res = resolve(session, raw)
        problem = _handoff_problem(res.reason, res.message, res.unit, res.case, case, seen,
                                   expected_ids, res.ident)
        if res.unit is not None:
            seen.add(res.unit.id)
        out.rows.append(custody_event(custody_record(
            actor, site_id=site_id, reason=problem[0] if problem else None,
            message=problem[1] if problem else "Bag belongs to this shipment.", unit=res.unit,
            band=res.wristband, case_id=case.id, action=action, location=location,
            kind=CustodyKind.handoff)))
        if problem:
            out.problems.append(problem)
    for unit in (u for u in expected if u.id not in seen):
        message = f"{unit.unit_id}: " + MESSAGES["missing_unit"]
        out.problems.append((ScanReason.missing_unit, message))
        out.rows.append(custody_event(custody_record(
            actor, site_id=site_id, reason=ScanReason.missing_unit, message=message, unit=unit,
            case_id=case.id, action=action, location=location, kind=CustodyKind.handoff)))
    if out.problems:
        for row in out.rows:
            if row.verdict == Verdict.match:
                row.message = "Bag belongs to this shipment, but the handoff was refused."
    return out


def _handoff_problem(reason: ScanReason | None, message: str | None, unit: Unit | None,
                     scanned: Case | None, case: Case, seen: set[int | None],
                     expected_ids: set[int | None], ident: str) -> Problem | None:
    if reason is not None:
        return reason, message or ""
    if unit is None:
        return ScanReason.wrong_step, MESSAGES["wristband_for_bag"]
    if scanned is not None and scanned.id != case.id:
        other = other_case_reason(scanned, case)
        return other, f"{ident}: " + MESSAGES[other]
    if unit.id in seen:
        return ScanReason.duplicate_scan, f"{ident}: " + MESSAGES["duplicate_scan"]
    if unit.id not in expected_ids:
        return ScanReason.extra_unit, f"{ident}: " + MESSAGES["extra_unit"]
    problem = unit_problem(unit)
    return (problem, f"{ident}: " + MESSAGES[problem]) if problem else None


# ---- the bedside pair ------------------------------------------------------------------


@dataclass
class BedsideCheck:
    code: str | None  # bedside_mismatch | bedside_scans_missing; None when the pair holds
    message: str = ""
    wristband_scan: int | None = None
    bag_scan: int | None = None
    bag: Unit | None = None


def check_bedside(session: Session, case: Case, thawed_unit_id: str | None, minutes: int,
                  now: datetime) -> BedsideCheck:
    """Within N minutes at the bedside: the patient's wristband scanned, then the thawed bag,
    both matching this case; the latest bedside scan of the case must be a match (a wrong bag
    scanned after the right one blocks until both are scanned again)."""
    rows = session.exec(
        select(CustodyEvent).where(CustodyEvent.case_id == case.id, CustodyEvent.action == "infuse",
                                   col(CustodyEvent.at) >= now - timedelta(minutes=minutes))
        .order_by(col(CustodyEvent.id).desc())
    ).all()
    if rows and rows[0].verdict != Verdict.match:
        return BedsideCheck("bedside_mismatch", f"the last bedside scan was a mismatch "
                            f"({rows[0].reason}): do not infuse. Scan the wristband and the "
                            "thawed bag again.")
    band = next((r for r in rows if r.wristband_pk is not None and r.unit_pk is None), None)
    if band is None or band.verdict != Verdict.match:
        return BedsideCheck("bedside_scans_missing", "scan the patient's wristband at the "
                            f"bedside first (within {minutes} minutes).")
    bag = next((r for r in rows if r.unit_pk is not None and (r.id or 0) > (band.id or 0)), None)
    unit = session.get(Unit, bag.unit_pk) if bag is not None and bag.unit_pk else None
    if bag is None or bag.verdict != Verdict.match or unit is None or unit.unit_id != thawed_unit_id:
        return BedsideCheck("bedside_scans_missing", "after the wristband, scan the thawed bag at "
                            f"the bedside (within {minutes} minutes).")
    return BedsideCheck(None, wristband_scan=band.id, bag_scan=bag.id, bag=unit)

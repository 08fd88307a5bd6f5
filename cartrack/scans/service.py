"""The scan station: a scan judged against the step it is for, recorded as a custody event
(passed or failed) and in the audit trail; at the bedside a mismatch raises the critical alert.

The verdict comes from the same rules the events apply: the bag the journey table ``expects``
for the step (``scans.verify.bag_problem``), the state and the user's role at the right site
(``journey.access``), and the step's guards, whose failure the answer names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts.raising import create_alert
from cartrack.audit import service as audit
from cartrack.errors import Invalid
from cartrack.identity.identifiers import printed_coi, printed_unit
from cartrack.journey.access import can_see, case_site_ids, sites_in_scope, visible_case
from cartrack.journey.actions import StepCheck, step_checks
from cartrack.journey.models import Case
from cartrack.journey.transitions import BY_EVENT, EventName, ExpectKind, Transition
from cartrack.protocols.service import bedside_minutes, rules_of
from cartrack.scans.models import CustodyEvent, CustodyKind, ScanReason, Verdict
from cartrack.scans.resolve import (
    MESSAGES,
    CustodyRecord,
    Resolved,
    clean_scan,
    custody_record,
    resolve,
    unit_problem,
)
from cartrack.scans.verify import bag_problem, other_case_reason, words
from cartrack.security import Principal
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Role

BEDSIDE = EventName.infuse


@dataclass
class Bedside:
    """The context a wristband scan sets for the bag scans that follow it."""

    case: Case
    band: Wristband


@dataclass
class Judgement:
    reason: ScanReason | None
    message: str
    record_case: Case | None = None  # the case whose custody the scan belongs to
    band: Wristband | None = None
    alert: bool = False  # raise a mismatch alert for record_case

    @property
    def verdict(self) -> Verdict:
        return Verdict.match if self.reason is None else Verdict.mismatch


@dataclass
class ScanResult:
    event: CustodyRecord
    resolved: Resolved
    case: Case | None  # the scanned item's case, when the user may see it
    context: Case | None  # bedside: the case of the wristband scanned before
    judgement: Judgement
    actions: list[StepCheck] = field(default_factory=list)
    alert_id: int | None = None

    @property
    def allowed(self) -> list[str]:
        return [a.event.value for a in self.actions if a.available]


def check_action(action: str | None) -> Transition | None:
    if action is None:
        return None
    t = BY_EVENT.get(action)
    if t is None or t.event == EventName.enroll:
        raise Invalid(f"{action!r} is not a journey step a scan can be for.",
                      code="unknown_action")
    return t


def scan_site(principal: Principal, case: Case | None, t: Transition | None) -> int | None:
    """Where the scan happened: the user's site for this step (else any of theirs)."""
    if case is not None:
        everywhere = case_site_ids(case)
        wanted = sites_in_scope(case, t.site) if t is not None else everywhere
        for scope in (wanted, everywhere):
            site = next((s for _, s in principal.memberships if s in scope), None)
            if site is not None:
                return site
    return next((s for _, s in principal.memberships if s is not None), None)


def scan(session: Session, actor: Principal, raw: str, *, action: str | None = None,
         location: str | None = None, for_case: int | None = None) -> ScanResult:
    """Judge one scan, record it as a custody event and in the audit trail, whatever the
    verdict; at the bedside a mismatch also raises a critical alert for the patient's case.

    ``for_case``: the case the user is working on; a bag of any other case is then a mismatch,
    as the event itself would refuse it."""
    t = check_action(action)
    working = visible_case(session, actor, for_case) if for_case is not None else None
    text = clean_scan(raw)
    res = resolve(session, text)
    case = res.case if res.case is not None and can_see(actor, res.case) else None
    context = _bedside_context(session, actor) if _needs_context(res, t) else None
    actions = _actions(session, actor, case)
    judgement = _other_case(res, working, t) or judge(actor, res, case, t, context, actions)
    kind = CustodyKind.typed if res.typed else CustodyKind.scan
    row = custody_record(actor, site_id=scan_site(actor, judgement.record_case or case, t),
                         reason=judgement.reason, message=judgement.message, unit=res.unit,
                         band=judgement.band, case_id=_id(judgement.record_case),
                         action=action, location=location, kind=kind)
    _insert_custody(session, row)
    result = ScanResult(row, res, case, context.case if context else None, judgement, actions)
    if judgement.alert and judgement.record_case is not None:
        result.alert_id = _mismatch_alert(session, judgement, row, res)
    _audit(session, actor, result, text)
    return result


# The statements every scan runs, built once: on SQLite, building a statement and its cache
# key costs more than running it.
_CUSTODY = CustodyEvent.metadata.tables["custody_event"]
_INSERT_CUSTODY = insert(_CUSTODY).returning(_CUSTODY.c.id)


def _insert_custody(session: Session, row: CustodyRecord) -> None:
    """Written now with a statement built once: the row is answered, never changed."""
    values = vars(row).copy()
    del values["id"]
    row.id = session.execute(_INSERT_CUSTODY, values).scalar_one()


def _id(case: Case | None) -> int | None:
    return case.id if case is not None else None


def _actions(session: Session, actor: Principal, case: Case | None) -> list[StepCheck]:
    if case is None:
        return []
    return step_checks(session, actor, case)


def _needs_context(res: Resolved, t: Transition | None) -> bool:
    """At the bedside every scan but a readable wristband is judged against the wristband
    scanned before it."""
    return t is not None and t.event == BEDSIDE and not (
        res.reason is None and res.kind == "wristband")


def _other_case(res: Resolved, working: Case | None, t: Transition | None) -> Judgement | None:
    """A readable label of another case than the one being worked on; at the bedside, a
    wristband or bag of anyone but the patient on screen raises the critical alert."""
    if working is None or res.reason is not None or res.case is None or res.case.id == working.id:
        return None
    reason = other_case_reason(res.case, working)
    if t is None or t.event != BEDSIDE:
        return Judgement(reason, MESSAGES[reason], working)
    what = "wristband" if res.kind == "wristband" else "bag"
    return Judgement(reason, MESSAGES[f"bedside_{what}_{reason.value}"], working, alert=True)


def judge(actor: Principal, res: Resolved, case: Case | None, t: Transition | None,
          context: Bedside | None, actions: list[StepCheck]) -> Judgement:
    if res.reason is not None:
        return _refused_label(res, case, context)
    if case is None:  # a case of a site this user does not work at: say nothing about it
        if context is not None:
            return Judgement(ScanReason.other_patient, MESSAGES["bedside_other_patient"],
                             context.case, alert=True)
        return Judgement(ScanReason.unknown_unit, MESSAGES[
            "unknown_wristband" if res.kind == "wristband" else "unknown_unit"])
    if res.wristband is not None:
        return _judge_wristband(res.wristband, case, t, actions)
    if res.unit is None:
        return Judgement(ScanReason.malformed, MESSAGES["malformed"])
    if t is not None and t.event == BEDSIDE:
        return _judge_bedside_bag(res.unit, case, t, context, actions)
    return _judge_unit(res.unit, case, t, actions)


def _refused_label(res: Resolved, case: Case | None, context: Bedside | None) -> Judgement:
    message = res.message or MESSAGES.get(res.reason or "", "This label is refused.")
    if context is not None:
        return Judgement(res.reason, f"{MESSAGES['bedside_bad_label']} {message}", context.case,
                         alert=True)
    # A signed label whose COI contradicts its bag is recorded against the bag's case.
    return Judgement(res.reason, message, case)


def _step_problem(case: Case, t: Transition, actions: list[StepCheck]
                  ) -> tuple[ScanReason, str] | None:
    """The state and the user's role at the right site: what the event checks before scans."""
    if any(a.event == t.event for a in actions):
        return None
    if case.state not in t.sources:
        ready = [words(a.event) for a in actions if a.available]
        then = f" Next: {', '.join(ready)}." if ready else ""
        return (ScanReason.wrong_step, f"Not now: the case is {words(case.state)}, so you cannot "
                f"{words(t.event)}.{then}")
    roles = " or ".join(words(r.value) for r in t.roles)
    return (ScanReason.wrong_role, f"Your role may not {words(t.event)} for this case here; it "
            f"needs {roles} at the case's {t.site.value} site.")


def _blocked(t: Transition, actions: list[StepCheck]) -> str:
    """ " but ..." when a guard blocks the step now: the scan matches, the step must wait."""
    action = next((a for a in actions if a.event == t.event), None)
    if action is None or action.blocked_by is None:
        return ""
    return f" But you cannot {words(t.event)} yet: {action.blocked_by.message}"


def _judge_wristband(band: Wristband, case: Case, t: Transition | None,
                     actions: list[StepCheck]) -> Judgement:
    coi = printed_coi(case.coi).text
    if not band.active:
        return Judgement(ScanReason.inactive_wristband, MESSAGES["inactive_wristband"], case, band)
    if t is None:
        return Judgement(None, f"Wristband of case {coi}; the case is {words(case.state)}.",
                         case, band)
    if t.expects is not None and t.expects.kind != ExpectKind.bedside:
        return Judgement(ScanReason.wrong_step, MESSAGES["wristband_for_bag"], case, band)
    problem = _step_problem(case, t, actions)
    if problem is not None:
        return Judgement(problem[0], problem[1], case, band)
    if t.event == BEDSIDE:
        return Judgement(None, f"Wristband confirmed for case {coi}: now scan the thawed bag."
                         + _blocked(t, actions), case, band)
    return Judgement(None, f"Wristband of case {coi}: you may {words(t.event)}."
                     + _blocked(t, actions), case, band)


def _judge_bedside_bag(unit: Unit, case: Case, t: Transition, context: Bedside | None,
                       actions: list[StepCheck]) -> Judgement:
    if context is None:
        return Judgement(ScanReason.wristband_first, MESSAGES["wristband_first"], case)
    ward = context.case
    if case.id != ward.id:
        reason = other_case_reason(case, ward)
        return Judgement(reason, MESSAGES[f"bedside_{reason.value}"], ward, alert=True)
    problem = unit_problem(unit)
    if problem is not None:
        return Judgement(problem, MESSAGES[problem], case, alert=True)
    step = _step_problem(case, t, actions)
    if step is not None:
        return Judgement(step[0], step[1], case)
    if unit.unit_id != case.milestones.get("thawed_unit"):
        return Judgement(ScanReason.wrong_step, MESSAGES["bedside_not_thawed"], case, alert=True)
    return Judgement(None, f"Correct bag: {printed_unit(unit.unit_id).text} is the bag thawed for "
                     f"this patient (case {printed_coi(case.coi).text}); proceed to the "
                     "two-person check." + _blocked(t, actions), case)


def _judge_unit(unit: Unit, case: Case, t: Transition | None, actions: list[StepCheck]
                ) -> Judgement:
    problem = unit_problem(unit)
    if problem is not None:
        return Judgement(problem, MESSAGES[problem], case)
    where = f"Bag {printed_unit(unit.unit_id).text} of case {printed_coi(case.coi).text}"
    if t is None:
        return Judgement(None, f"{where}: {words(unit.kind)} bag, {words(unit.status)}.", case)
    step = _step_problem(case, t, actions)
    if step is not None:
        return Judgement(step[0], step[1], case)
    if t.expects is not None:
        fit = bag_problem(unit, t.expects, t.event)
        if fit is not None:
            return Judgement(fit[0], fit[1], case)
    return Judgement(None, f"{where}: matches; you may {words(t.event)}." + _blocked(t, actions),
                     case)


# ---- bedside context -------------------------------------------------------------------


def _bedside_context(session: Session, actor: Principal) -> Bedside | None:
    """The wristband this user scanned last at a bedside, if it matched and is recent."""
    row = session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.user_id == actor.id, CustodyEvent.action == BEDSIDE.value,
               col(CustodyEvent.wristband_pk).is_not(None))
        .order_by(col(CustodyEvent.id).desc()).limit(1)
    ).first()
    if row is None or row.verdict != Verdict.match or row.case_id is None:
        return None
    band = session.get(Wristband, row.wristband_pk)
    case = session.get(Case, row.case_id)
    if band is None or case is None or not band.active:
        return None
    minutes = bedside_minutes(rules_of(session, case.protocol_id))
    if clock.as_utc(row.at) < clock.now() - timedelta(minutes=minutes):
        return None
    return Bedside(case, band)


# ---- records ---------------------------------------------------------------------------


def _mismatch_alert(session: Session, judgement: Judgement, row: CustodyRecord, res: Resolved
                    ) -> int | None:
    case = judgement.record_case
    assert case is not None
    critical = judgement.reason != ScanReason.malformed  # a partial read warns; the rest: STOP
    alert = create_alert(
        session, case.id, kind="mismatch", severity="critical" if critical else "warning",
        title="Bedside scan mismatch: do not infuse",
        message=f"Case {printed_coi(case.coi).text}: {judgement.message} (scanned by "
                f"{row.holder_name}).",
        targets={(Role.infusion_staff.value, case.treatment_site_id),
                 (Role.coordinator.value, case.treatment_site_id)},
        data={"reason": judgement.reason, "event": BEDSIDE.value, "custody_event_id": row.id,
              "scanned": res.ident or None})
    return alert.id


def _audit(session: Session, actor: Principal, result: ScanResult, text: str) -> None:
    res, row = result.resolved, result.event
    visible = result.case is not None or result.context is not None
    entity = res.kind if res.kind in ("unit", "wristband") and visible and res.ident else "scan"
    entity_id = res.ident if entity != "scan" else str(row.id)
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="scan",
                 entity=entity, entity_id=entity_id, case_id=row.case_id,
                 new={"custody_event_id": row.id, "verdict": row.verdict, "reason": row.reason,
                      "action": row.action, "location": row.location, "site_id": row.site_id,
                      "typed": res.typed, "alert_id": result.alert_id,
                      "scanned": text[:120]})

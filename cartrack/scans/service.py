"""Scans: a raw scanned string becomes a unit or wristband of a case, and a verdict.

``resolve`` turns a scan into what it names (used by the journey's handoffs and bag scans);
``scan`` is the scan station: it judges a scan against an intended step, records it as a
custody event (passed or failed), audits it and, at the bedside, raises the critical alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Invalid
from cartrack.identity.identifiers import IdentifierError, parse_unit_id, printed_coi
from cartrack.journey.models import Case
from cartrack.journey.transitions import BY_EVENT, SiteScope, Transition, allowed_events
from cartrack.labels.payload import KeyRing, PayloadError, decode
from cartrack.protocols.models import Protocol
from cartrack.scans.models import CustodyEvent
from cartrack.security import Principal
from cartrack.settings import get_settings
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Role

MAX_SCAN_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

MESSAGES = {
    "malformed": "This is not a cartrack label: scan the QR code again, or type the ID "
                 "printed under it.",
    "forged": "This label's signature does not match: it may be altered or forged. Do not use "
              "this bag.",
    "unknown_unit": "This label is not known to cartrack. Do not use this bag.",
    "unknown_wristband": "This wristband is not known to cartrack; check the patient's "
                         "identity another way.",
    "inactive_wristband": "This wristband has been replaced: use the patient's current "
                          "wristband.",
    "other_patient": "STOP: this bag belongs to another patient.",
    "other_case": "This bag belongs to another therapy case of this patient.",
    "wrong_step": "This bag is not expected at this step.",
    "quarantined": "This bag is quarantined. Do not use it.",
    "expired": "This bag has expired. Do not use it.",
    "missing_unit": "A bag of this shipment was not scanned.",
    "extra_unit": "This bag is not part of this shipment.",
    "duplicate_scan": "This bag was scanned twice.",
    "wristband_first": "Scan the patient's wristband first, then the bag.",
    "bedside_other_patient": "STOP: this bag belongs to another patient, not to the patient "
                             "whose wristband you scanned. Do not infuse it.",
    "bedside_other_case": "STOP: this bag belongs to another therapy case of this patient. "
                          "Do not infuse it.",
    "bedside_not_thawed": "STOP: this is not the bag that was thawed for this patient. Do not "
                          "infuse it.",
    "bedside_bad_label": "STOP: this label cannot be trusted, so do not infuse; scan the "
                         "patient's wristband and the thawed bag again.",
}

# What each journey event expects to be scanned: a bag of this kind, in one of these states.
BAG_STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ship_to_manufacturing": ("apheresis", ("collected",)),
    "receive_at_manufacturing": ("apheresis", ("in_transit",)),
    "start_manufacturing": ("apheresis", ("received",)),
    "record_process_step": ("apheresis", ("in_process",)),
    "complete_manufacturing": ("apheresis", ("in_process",)),
    "ship_to_treatment_center": ("product", ("released",)),
    "receive_at_treatment_center": ("product", ("in_transit",)),
    "thaw": ("product", ("stored",)),
    "infuse": ("product", ("thawed",)),
}
BEDSIDE = "infuse"
# Scan problems that may mean another patient's cells, or a label that cannot be trusted:
# graver first.
CRITICAL_REASONS = ("other_patient", "other_case", "forged", "unknown_unit", "unknown_key",
                    "retired_key", "unsupported_version")
_PAYLOAD_KIND = re.compile(r"^CT\d+\.[A-Z0-9]{1,8}\.([UW])\.")


@lru_cache(maxsize=4)
def _ring(label_keys: str, retired: str, secret: str) -> KeyRing:
    return KeyRing.from_config(label_keys, retired, secret)


def key_ring() -> KeyRing:
    s = get_settings()
    return _ring(s.label_keys, s.retired_label_keys, s.secret_key)


def clean_scan(raw: str) -> str:
    """Keyboard-wedge scanners end with CR/LF and may add spaces: accepted. Other control
    characters, and anything over 1 KB, are refused (422) before anything is looked up."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_SCAN_BYTES:
        raise Invalid("The scanned text is longer than 1 KB; this is not a cartrack label.",
                      code="scan_too_long")
    text = raw.strip(" \t\r\n")
    if _CONTROL.search(text) or "\r" in text or "\n" in text or "\t" in text:
        raise Invalid("The scanned text holds control characters; scan the label again.",
                      code="scan_control_characters")
    if not text:
        raise Invalid("Nothing was scanned.", code="scan_empty")
    return text


# ---- resolving a scan ------------------------------------------------------------------


@dataclass
class Resolved:
    kind: str  # unit | wristband | unknown
    ident: str
    case: Case | None
    unit: Unit | None = None
    wristband: Wristband | None = None
    reason: str | None = None  # set when the scan cannot be trusted (forged, unknown, ...)
    message: str | None = None
    typed: bool = False  # a unit ID typed by hand (with its check character), not a QR payload


def resolve(session: Session, raw: str) -> Resolved:
    """Signed QR payloads and typed unit IDs with their check character are both accepted."""
    text = clean_scan(raw)
    if text.startswith("CT"):
        try:
            decoded = decode(key_ring(), text)
        except PayloadError as exc:
            return Resolved(_claimed_kind(text), "", None, reason=exc.reason,
                            message=exc.message)
        return _lookup(session, decoded.kind, decoded.ident, decoded.coi)
    try:
        unit_id = parse_unit_id(text)
    except IdentifierError as exc:
        return Resolved("unknown", "", None, reason="malformed",
                        message=f"This is not a valid label or unit ID: {exc}.")
    found = _lookup(session, "unit", unit_id, None)
    found.typed = True
    return found


def _claimed_kind(text: str) -> str:
    """What a refused payload says it is (not trusted; used for wording only)."""
    match = _PAYLOAD_KIND.match(text)
    if match is None:
        return "unknown"
    return "unit" if match.group(1) == "U" else "wristband"


def _lookup(session: Session, kind: str, ident: str, coi: str | None) -> Resolved:
    if kind == "wristband":
        band = session.exec(select(Wristband).where(Wristband.wristband_id == ident)).first()
        case = session.get(Case, band.case_id) if band else None
        if band is None or case is None:
            return Resolved(kind, ident, None, reason="unknown_unit",
                            message=MESSAGES["unknown_wristband"])
        if coi and case.coi != coi:
            return Resolved(kind, ident, case, wristband=band, reason="forged",
                            message="The wristband's COI does not match its case: do not use "
                                    "it; check the patient's identity another way.")
        return Resolved(kind, ident, case, wristband=band)
    unit = session.exec(select(Unit).where(Unit.unit_id == ident)).first()
    case = session.get(Case, unit.case_id) if unit else None
    if unit is None or case is None:
        return Resolved(kind, ident, None, reason="unknown_unit", message=MESSAGES["unknown_unit"])
    if coi and case.coi != coi:
        return Resolved(kind, ident, case, unit=unit, reason="forged",
                        message="The label's COI does not match this bag's case. Do not use this "
                                "bag.")
    return Resolved(kind, ident, case, unit=unit)


def severity_rank(reason: str) -> int:
    """Order of gravity of a scan problem (0 is the gravest), to name the worst of several."""
    if reason in CRITICAL_REASONS:
        return CRITICAL_REASONS.index(reason)
    return len(CRITICAL_REASONS)


def unit_problem(unit: Unit) -> str | None:
    if unit.quarantined:
        return "quarantined"
    if unit.expires_at is not None and clock.as_utc(unit.expires_at) <= clock.now():
        return "expired"
    return None


def custody(actor: Principal, *, site_id: int | None, verdict: str, message: str,
            reason: str | None = None, unit: Unit | None = None, band: Wristband | None = None,
            case_id: int | None = None, action: str | None = None, location: str | None = None,
            kind: str = "scan") -> CustodyEvent:
    return CustodyEvent(at=clock.now(), user_id=actor.id, holder_name=actor.name, site_id=site_id,
                        location=location, unit_pk=unit.id if unit else None,
                        wristband_pk=band.id if band else None, case_id=case_id, action=action,
                        verdict=verdict, reason=reason, message=message[:500], kind=kind)


# ---- who may do what, where ------------------------------------------------------------

CASE_ROLES = (Role.coordinator, Role.collection_staff, Role.lab_tech, Role.qa, Role.infusion_staff)


def case_sites(case: Case) -> set[int]:
    return {case.collection_site_id, case.manufacturing_site_id, case.treatment_site_id}


def can_see(principal: Principal, case: Case) -> bool:
    """The journey's visibility rule: a role at one of the case's sites."""
    sites = principal.site_ids(*CASE_ROLES)
    return None in sites or bool(sites & case_sites(case))


def _scope_sites(case: Case, t: Transition) -> set[int]:
    if t.site == SiteScope.any:
        return case_sites(case)
    return {int(getattr(case, f"{t.site.value}_site_id"))}


def may_do(principal: Principal, case: Case, t: Transition) -> bool:
    return any(principal.holds(r.value, s) for r in t.roles if r in principal.roles
               for s in _scope_sites(case, t))


def allowed_actions(principal: Principal, case: Case) -> list[str]:
    """Events the case's state allows and this user's role may do at the right site."""
    return [e for e in allowed_events(case.state) if may_do(principal, case, BY_EVENT[e])]


def scan_site(principal: Principal, case: Case | None, action: str | None) -> int | None:
    """Where the scan happened: the user's site for this step (else any of theirs)."""
    if case is not None:
        wanted = _scope_sites(case, BY_EVENT[action]) if action else case_sites(case)
        for scope in (wanted, case_sites(case)):
            site = next((s for _, s in principal.memberships if s in scope), None)
            if site is not None:
                return site
    return next((s for _, s in principal.memberships if s is not None), None)


# ---- the scan station ------------------------------------------------------------------


@dataclass
class Bedside:
    """The context a wristband scan sets for the bag scans that follow it."""

    case: Case
    band: Wristband


@dataclass
class Verdict:
    reason: str | None
    message: str
    record_case: Case | None = None  # the case whose custody the scan belongs to
    band: Wristband | None = None
    alert: bool = False  # raise a mismatch alert for record_case

    @property
    def verdict(self) -> str:
        return "match" if self.reason is None else "mismatch"


@dataclass
class ScanResult:
    event: CustodyEvent
    resolved: Resolved
    case: Case | None  # the scanned item's case, when the user may see it
    context: Case | None  # bedside: the case of the wristband scanned before
    verdict: Verdict
    allowed: list[str] = field(default_factory=list)
    alert_id: int | None = None


def check_action(action: str | None) -> Transition | None:
    if action is None:
        return None
    t = BY_EVENT.get(action)
    if t is None or action == "enroll":
        raise Invalid(f"{action!r} is not a journey step a scan can be for; use one of "
                      + ", ".join(e for e in BY_EVENT if e != "enroll") + ".",
                      code="unknown_action")
    return t


def scan(session: Session, actor: Principal, raw: str, *, action: str | None = None,
         location: str | None = None) -> ScanResult:
    """Judge one scan, record it as a custody event and in the audit trail, whatever the
    verdict; at the bedside a mismatch also raises a critical alert for the patient's case."""
    check_action(action)
    text = clean_scan(raw)
    res = resolve(session, text)
    case = res.case if res.case is not None and can_see(actor, res.case) else None
    context = _bedside_context(session, actor) if _needs_context(res, action) else None
    verdict = judge(actor, res, case, action, context)
    row = custody(actor, site_id=scan_site(actor, verdict.record_case or case, action),
                  verdict=verdict.verdict, reason=verdict.reason, message=verdict.message,
                  unit=res.unit, band=verdict.band, case_id=_id(verdict.record_case),
                  action=action, location=location, kind="typed" if res.typed else "scan")
    session.add(row)
    session.flush()
    result = ScanResult(row, res, case, context.case if context else None, verdict,
                        allowed_actions(actor, case) if case is not None else [])
    if verdict.alert and verdict.record_case is not None:
        result.alert_id = _mismatch_alert(session, verdict, row, res)
    _audit(session, actor, result, text)
    return result


def _id(case: Case | None) -> int | None:
    return case.id if case is not None else None


def _needs_context(res: Resolved, action: str | None) -> bool:
    """At the bedside every scan but a readable wristband is judged against the wristband
    scanned before it."""
    return action == BEDSIDE and not (res.reason is None and res.kind == "wristband")


def judge(actor: Principal, res: Resolved, case: Case | None, action: str | None,
          context: Bedside | None) -> Verdict:
    if res.reason is not None:
        return _refused_label(res, case, context)
    if case is None:  # a case of a site this user does not work at: say nothing about it
        reason = "unknown_unit"
        message = MESSAGES["unknown_wristband" if res.kind == "wristband" else "unknown_unit"]
        if context is not None:
            return Verdict(reason, MESSAGES["bedside_other_patient"], context.case,
                           alert=True)
        return Verdict(reason, message)
    if res.wristband is not None:
        return _judge_wristband(actor, res.wristband, case, action)
    assert res.unit is not None
    if action == BEDSIDE:
        return _judge_bedside_bag(actor, res.unit, case, context)
    return _judge_unit(actor, res.unit, case, action)


def _refused_label(res: Resolved, case: Case | None, context: Bedside | None) -> Verdict:
    message = res.message or MESSAGES.get(res.reason or "", "This label is refused.")
    if context is not None:
        return Verdict(res.reason, f"{MESSAGES['bedside_bad_label']} {message}", context.case,
                       alert=True)
    # A signed label whose COI contradicts its bag is recorded against the bag's case.
    return Verdict(res.reason, message, case)


def _judge_wristband(actor: Principal, band: Wristband, case: Case, action: str | None
                     ) -> Verdict:
    coi = printed_coi(case.coi).text
    if not band.active:
        return Verdict("inactive_wristband", MESSAGES["inactive_wristband"], case, band)
    if action is None:
        return Verdict(None, f"Wristband of case {coi}; the case is {_words(case.state)}.",
                       case, band)
    if action in BAG_STEPS and action != BEDSIDE:
        return Verdict("wrong_step", "A wristband was scanned where a bag was expected: scan "
                       "the bag's label.", case, band)
    problem = _step_problem(actor, case, action)
    if problem is not None:
        return Verdict(problem[0], problem[1], case, band)
    if action == BEDSIDE:
        return Verdict(None, f"Wristband confirmed for case {coi}: now scan the thawed bag.",
                       case, band)
    return Verdict(None, f"Wristband of case {coi}: you may {_words(action)}.", case, band)


def _judge_bedside_bag(actor: Principal, unit: Unit, case: Case, context: Bedside | None
                       ) -> Verdict:
    if context is None:
        return Verdict("wristband_first", MESSAGES["wristband_first"], case)
    ward = context.case
    if case.id != ward.id:
        reason = "other_patient" if case.patient_id != ward.patient_id else "other_case"
        return Verdict(reason, MESSAGES[f"bedside_{reason}"], ward, alert=True)
    problem = unit_problem(unit)
    if problem is not None:
        return Verdict(problem, MESSAGES[problem], case, alert=True)
    step = _step_problem(actor, case, BEDSIDE)
    if step is not None:
        return Verdict(step[0], step[1], case)
    if unit.unit_id != case.milestones.get("thawed_unit"):
        return Verdict("wrong_step", MESSAGES["bedside_not_thawed"], case, alert=True)
    return Verdict(None, f"Correct bag: {_unit_text(unit)} is the bag thawed for this patient "
                   f"(case {printed_coi(case.coi).text}); proceed to the two-person check.",
                   case)


def _judge_unit(actor: Principal, unit: Unit, case: Case, action: str | None) -> Verdict:
    problem = unit_problem(unit)
    if problem is not None:
        return Verdict(problem, MESSAGES[problem], case)
    where = f"Bag {_unit_text(unit)} of case {printed_coi(case.coi).text}"
    if action is None:
        return Verdict(None, f"{where}: {_words(unit.kind)} bag, {_words(unit.status)}.", case)
    step = _step_problem(actor, case, action)
    if step is not None:
        return Verdict(step[0], step[1], case)
    expected = BAG_STEPS.get(action)
    if expected is not None and unit.kind != expected[0]:
        return Verdict("wrong_step", f"Wrong bag for this step: this is an {_words(unit.kind)} "
                       f"bag, and {_words(action)} needs a {_words(expected[0])} bag.", case)
    if expected is not None and unit.status not in expected[1]:
        return Verdict("wrong_step", f"Wrong step for this bag: it is {_words(unit.status)}, so "
                       f"it cannot be used to {_words(action)}.", case)
    return Verdict(None, f"{where}: matches; you may {_words(action)}.", case)


def _step_problem(actor: Principal, case: Case, action: str) -> tuple[str, str] | None:
    t = BY_EVENT[action]
    if case.state not in t.sources:
        nxt = allowed_actions(actor, case)
        then = f" Next: {', '.join(_words(e) for e in nxt)}." if nxt else ""
        return ("wrong_step", f"Not now: the case is {_words(case.state)}, so you cannot "
                f"{_words(action)}.{then}")
    if not may_do(actor, case, t):
        roles = " or ".join(_words(r.value) for r in t.roles)
        return ("wrong_role", f"Your role may not {_words(action)} for this case here; it needs "
                f"{roles} at the case's {t.site.value} site.")
    return None


def _words(code: str) -> str:
    return code.replace("_", " ")


def _unit_text(unit: Unit) -> str:
    from cartrack.identity.identifiers import printed_unit

    return printed_unit(unit.unit_id).text


# ---- bedside context -------------------------------------------------------------------


def bedside_minutes(session: Session, case: Case) -> int:
    protocol = session.get(Protocol, case.protocol_id)
    minutes = protocol.rules().bedside_scan_minutes if protocol is not None else 0
    return minutes or get_settings().bedside_scan_minutes


def _bedside_context(session: Session, actor: Principal) -> Bedside | None:
    """The wristband this user scanned last at a bedside, if it matched and is recent."""
    row = session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.user_id == actor.id, CustodyEvent.action == BEDSIDE,
               col(CustodyEvent.wristband_pk).is_not(None))
        .order_by(col(CustodyEvent.id).desc()).limit(1)
    ).first()
    if row is None or row.verdict != "match" or row.case_id is None:
        return None
    band = session.get(Wristband, row.wristband_pk)
    case = session.get(Case, row.case_id)
    if band is None or case is None or not band.active:
        return None
    if clock.as_utc(row.at) < clock.now() - timedelta(minutes=bedside_minutes(session, case)):
        return None
    return Bedside(case, band)


# ---- records ---------------------------------------------------------------------------


def _mismatch_alert(session: Session, verdict: Verdict, row: CustodyEvent, res: Resolved
                    ) -> int | None:
    from cartrack.alerts.deadlines import create_alert

    case = verdict.record_case
    assert case is not None
    critical = verdict.reason != "malformed"  # a partial read is a warning; the rest: STOP
    alert = create_alert(
        session, case, kind="mismatch", severity="critical" if critical else "warning",
        title="Bedside scan mismatch: do not infuse",
        message=f"Case {printed_coi(case.coi).text}: {verdict.message} (scanned by "
                f"{row.holder_name}).",
        targets={(Role.infusion_staff.value, case.treatment_site_id),
                 (Role.coordinator.value, case.treatment_site_id)},
        data={"reason": verdict.reason, "event": BEDSIDE, "custody_event_id": row.id,
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

"""The engine: applies one row of the journey table to a case, in the caller's transaction.

A fixed order, the same for every event: access, version, state, expected scans, guards, the
event's own handler, the deadlines the row closes and opens, the e-signatures it takes, then
the timeline event and the audit row. A refusal at any step leaves nothing behind but the
records it names (failed scans, mismatch alerts), written after the rollback."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel
from sqlmodel import Session

from cartrack import clock
from cartrack.alerts.models import Deadline
from cartrack.alerts.raising import create_alert
from cartrack.audit import service as audit
from cartrack.errors import Conflict, NotFound
from cartrack.journey import deadlines, persist
from cartrack.journey.access import can_see, check_actor, site_of, sites_in_scope
from cartrack.journey.context import Ctx, Writer
from cartrack.journey.due import DUE_RULES, DueInput
from cartrack.journey.events import EventIn, InfuseData, MonitoringData, SignatureIn
from cartrack.journey.guards import GUARDS, Failure, second_signer
from cartrack.journey.handlers import HANDLERS
from cartrack.journey.models import Case, State
from cartrack.journey.transitions import BY_EVENT, Close, ExpectKind, Sign, allowed_events
from cartrack.protocols import service as protocols
from cartrack.scans import verify
from cartrack.scans.resolve import CRITICAL_REASONS
from cartrack.security import Principal
from cartrack.users import service as users
from cartrack.users.models import Role


class EventRequest(Protocol):
    @property
    def event(self) -> str: ...
    @property
    def data(self) -> BaseModel: ...
    @property
    def signature(self) -> SignatureIn | None: ...
    @property
    def expected_version(self) -> int | None: ...


def apply_event(session: Session, actor: Principal, case_id: int, request: EventIn) -> Case:
    req: EventRequest = request
    t = BY_EVENT[req.event]
    case = _claim_case(session, actor, case_id)
    check_actor(actor, t, sites_in_scope(case, t.site))
    _check_expected_version(case, req.expected_version)
    if case.state not in t.sources:
        raise Conflict(f"Refused: {t.event.replace('_', ' ')} is not allowed while the case is "
                       f"{case.state.replace('_', ' ')}.", code="wrong_state",
                       context={"state": case.state, "event": t.event, "guard": "state",
                                "allowed_events": allowed_events(case.state)})
    outcome = t.outcome_for(getattr(req.data, "decision", None))
    target = (case.held_from or State.enrolled) if outcome.to_previous else (
        outcome.target or case.state)
    ctx = Ctx(session=session, actor=actor, case=case, t=t, data=req.data,
              signature=req.signature, rules=protocols.rules_of(session, case.protocol_id),
              now=clock.now(), outcome=outcome, from_state=case.state, target=target)
    if t.needs_reason:
        ctx.reason = getattr(req.data, "reason", None)
    old = persist.snapshot(case)
    _check_expected_scans(ctx)
    _check_guards(ctx)
    handler = HANDLERS.get(t.event)
    if handler is not None:
        handler(ctx, req.data)
    _close_and_open_deadlines(ctx)
    _sign_all(ctx)
    _finish(ctx, old)
    return case


def _claim_case(session: Session, actor: Principal, case_id: int) -> Case:
    """Reads the case, locks its row and bumps its version in one round trip (UPDATE ...
    RETURNING). On PostgreSQL a concurrent writer of the same case waits here for the row and
    then sees the winner's state; on SQLite writers are serialised (BEGIN IMMEDIATE). A refused
    event rolls the bump back with everything else."""
    case = persist.claim(session, case_id)
    if case is None or not can_see(actor, case):
        raise NotFound(f"No case {case_id}.", code="case_not_found")
    return case


def _check_expected_version(case: Case, expected: int | None) -> None:
    loaded = case.version - 1
    if expected is not None and expected != loaded:
        raise Conflict(f"The case changed since you loaded it (version {loaded}, you had "
                       f"{expected}); reload and try again.", code="version_conflict",
                       context={"state": case.state, "version": loaded,
                                "allowed_events": allowed_events(case.state)})


# ---- expected scans ----------------------------------------------------------------------


def _check_expected_scans(ctx: Ctx) -> None:
    expect = ctx.t.expects
    if expect is None:
        return
    if expect.kind == ExpectKind.bedside:
        _check_bedside(ctx)
        return
    site = ctx.event_site_id
    if expect.every_unit:
        check = verify.check_handoff(ctx.session, ctx.actor, ctx.case, expect,
                                     list(getattr(ctx.data, "scans", [])), ctx.t.event, site,
                                     getattr(ctx.data, "storage_location", None))
    else:
        check = verify.check_one(ctx.session, ctx.actor, ctx.case, expect,
                                 str(getattr(ctx.data, "scan", "")), ctx.t.event, site)
    gravest = check.gravest
    if gravest is not None:
        reason, _ = gravest
        detail = check.detail or "the scan does not match"
        guard = "every unit scanned, no other unit" if expect.every_unit else "bag scan"
        raise ctx.refuse(guard, detail, code=f"scan_{reason.value}",
                         also_record=[_rows_writer(check.rows),
                                      _mismatch_alert(ctx, reason.value, detail)])
    ctx.custody.extend(check.rows)
    ctx.units = check.units
    if expect.every_unit:
        ctx.timeline["units"] = [u.unit_id for u in check.units]


def _check_bedside(ctx: Ctx) -> None:
    minutes = protocols.bedside_minutes(ctx.rules)
    check = verify.check_bedside(ctx.session, ctx.case, ctx.case.milestones.get("thawed_unit"),
                                 minutes, ctx.now)
    if check.code is not None or check.bag is None:
        raise ctx.refuse("wristband and bag scans match", check.message,
                         code=check.code or "bedside_scans_missing")
    ctx.units = [check.bag]
    ctx.timeline["bedside_scans"] = {"wristband_scan": check.wristband_scan,
                                     "bag_scan": check.bag_scan, "minutes": minutes}


def _rows_writer(rows: list[Any]) -> Writer:
    def write(session: Session) -> None:
        for row in rows:
            session.add(row)
    return write


def _mismatch_alert(ctx: Ctx, reason: str, message: str) -> Writer:
    case_id, coi, event = ctx.case.id, ctx.case.coi, ctx.t.event
    targets = {(Role.coordinator.value, ctx.case.treatment_site_id),
               *((r.value, ctx.event_site_id) for r in ctx.t.roles)}
    severity = "critical" if reason in CRITICAL_REASONS else "warning"

    def write(session: Session) -> None:
        create_alert(session, case_id, kind="mismatch", severity=severity,
                     title=f"Scan mismatch at {event.replace('_', ' ')}",
                     message=f"Case {coi}: {message}", targets=targets,
                     data={"reason": reason, "event": event})
    return write


# ---- guards --------------------------------------------------------------------------------


def _check_guards(ctx: Ctx) -> None:
    for name in ctx.t.guards:
        guard = GUARDS[name]
        failure: Failure | None
        if guard.state_check is not None:
            failure = guard.state_check(ctx)
        else:
            assert guard.data_check is not None
            failure = guard.data_check(ctx, ctx.data)
        if failure is None:
            continue
        override = guard.override
        asked = getattr(ctx.data, override.reason_field, None) if override else None
        if override is not None and asked:
            ctx.conditions.add(override.condition)
            ctx.reason = str(asked)
            ctx.timeline.update(failure.timeline)
            ctx.timeline["override"] = {"guard": guard.name, "reason": str(asked),
                                        "finding": failure.message}
            continue
        detail = f"{failure.message} {override.how}" if override else failure.message
        raise ctx.refuse(guard.name, detail, code=guard.code, also_record=failure.also_record,
                         guard_text=guard.text, **failure.context)


# ---- deadlines and signatures -------------------------------------------------------------


def _close_and_open_deadlines(ctx: Ctx) -> None:
    for close in ctx.outcome.closes:
        deadlines.close_deadlines(ctx.session, ctx.case.id or 0, close.kinds, ctx.t.event,
                                  close.status, _selector(ctx, close))
    for rule in ctx.outcome.opens:
        tz = ctx.tz(rule.calendar)
        for due in DUE_RULES[rule.due](DueInput(ctx.case, ctx.rules, ctx.now, tz)):
            deadlines.open_deadline(ctx.session, ctx.case, rule.kind, due, ctx.rules, tz)


def _selector(ctx: Ctx, close: Close) -> Any:
    """The named ``Close.which``: today only the monitoring day the event records."""
    if close.which is None:
        return None
    if close.which == "recorded_day" and isinstance(ctx.data, MonitoringData):
        day = ctx.data.day
        return lambda d: isinstance(d, Deadline) and d.ordinal == day
    raise ValueError(f"unknown deadline selector {close.which!r}")


def _sign_all(ctx: Ctx) -> None:
    for sign in ctx.outcome.signs:
        if sign.when is None or sign.when in ctx.conditions:
            _sign(ctx, sign)


def _sign(ctx: Ctx, sign: Sign) -> None:
    """Part 11: the signer enters their password again; the signature is bound to the hash of
    what is signed and recorded with the signer's printed name and the meaning."""
    if sign.second_signer:
        assert isinstance(ctx.data, InfuseData), "only the bedside check has a second signer"
        signer = second_signer(ctx, ctx.data)
        if isinstance(signer, Failure):
            raise ctx.refuse("a second user signs", signer.message, code="second_signer_invalid")
        password = ctx.data.second_signer.password
    else:
        if ctx.signature is None:
            raise ctx.refuse("e-signature", f"{ctx.t.event.replace('_', ' ')} needs your "
                             f"e-signature ({sign.meaning}): enter your password to sign.",
                             code="signature_required")
        signer, password = ctx.actor, ctx.signature.password
    users.verify_signer(ctx.session, signer.user, password)
    content = {"coi": ctx.case.coi, "event": ctx.t.event, "from": ctx.from_state,
               "to": ctx.target, "data": ctx.timeline, "version": ctx.case.version}
    ctx.signatures.append(audit.add_signature(
        ctx.session, user_id=signer.id, printed_name=signer.name, meaning=sign.meaning,
        record_type="case_event",
        record_ref=f"case:{ctx.case.id}:v{ctx.case.version}:{ctx.t.event}",
        content=content, case_id=ctx.case.id))


# ---- timeline and audit -------------------------------------------------------------------


def _finish(ctx: Ctx, old: dict[str, Any]) -> None:
    case, session, now = ctx.case, ctx.session, ctx.now
    case.state = ctx.target
    case.updated_at = now
    for row in ctx.custody:
        session.add(row)
    changed_old = persist.save_changes(session, case, old)
    sig_ids = [s.id for s in ctx.signatures]
    persist.add_timeline(
        session, case_id=case.id, event=ctx.t.event, from_state=ctx.from_state,
        to_state=case.state, actor_id=ctx.actor.id, actor_name=ctx.actor.name,
        site_id=site_of(case, ctx.t.site), at=now, data=audit.jsonable(ctx.timeline),
        reason=ctx.reason, signature_id=sig_ids[0] if sig_ids else None,
        second_signature_id=sig_ids[1] if len(sig_ids) > 1 else None)
    changed_new = {k: getattr(case, k) for k in changed_old}
    audit.record(session, user_id=ctx.actor.id, printed_name=ctx.actor.name, action=ctx.t.event,
                 entity="case", entity_id=case.id or 0, case_id=case.id, old=changed_old,
                 new={**changed_new, "event_data": ctx.timeline}, reason=ctx.reason)

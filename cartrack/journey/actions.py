"""The table as users see it: ``GET /api/journey``, and each case's available actions, the one
answer to "what may I do now" (for the case page, the scan station and refusals alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from cartrack import clock
from cartrack.journey.access import case_sites, may_do, site_of, sites_in_scope
from cartrack.journey.events import EVENT_DATA, EnrollIn
from cartrack.journey.guards import GUARDS, Failure, Guard, begun_unrecorded_days, latest_qc
from cartrack.journey.models import Case, State
from cartrack.journey.schemas import (
    ActionDefaults,
    ActionOut,
    BlockOut,
    CloseOut,
    ExpectOut,
    GuardOut,
    JourneyOut,
    OpenOut,
    OutcomeOut,
    SignOut,
    TransitionOut,
)
from cartrack.journey.transitions import (
    PRODUCT_TRACK,
    SIDE_STATES,
    TERMINAL,
    TRANSITIONS,
    EventName,
    Expect,
    SiteScope,
    Transition,
    target_states,
)
from cartrack.protocols.models import PROCESS_STEPS, ProtocolData
from cartrack.protocols.service import rules_of
from cartrack.security import Principal
from cartrack.users.models import Site


def expect_out(e: Expect | None) -> ExpectOut | None:
    if e is None:
        return None
    return ExpectOut(kind=e.kind, statuses=list(e.statuses), every_unit=e.every_unit,
                     field=None if e.unit_kind is None else ("scans" if e.every_unit else "scan"))


def guard_out(name: str) -> GuardOut:
    g = GUARDS[name]
    return GuardOut(name=g.name, text=g.text, needs_data=g.needs_data,
                    overridable=g.override is not None)


def sign_outs(t: Transition) -> list[SignOut]:
    return [SignOut(meaning=s.meaning, when=s.when, second_signer=s.second_signer,
                    decision=decision)
            for decision, outcome in t.outcomes() for s in outcome.signs]


@lru_cache(maxsize=64)
def data_schema(event: str) -> dict[str, Any]:
    model = EnrollIn if event == EventName.enroll else EVENT_DATA[event]
    return model.model_json_schema()


def transition_out(t: Transition) -> TransitionOut:
    return TransitionOut(
        event=t.event, summary=t.summary, from_states=sorted(t.sources, key=list(State).index),
        to_states=target_states(t), milestone=t.milestone,
        returns_to_previous=any(o.to_previous for _, o in t.outcomes()), roles=list(t.roles),
        site=t.site, calendar_site=t.calendar, expects=expect_out(t.expects),
        guards=[guard_out(g) for g in t.guards],
        outcomes=[OutcomeOut(decision=decision, to_state=o.target, returns_to_previous=o.to_previous,
                             opens=[OpenOut(kind=r.kind, due=r.due, calendar_site=r.calendar)
                                    for r in o.opens],
                             closes=[CloseOut(kinds=list(c.kinds), status=c.status, which=c.which)
                                     for c in o.closes])
                  for decision, o in t.outcomes()],
        signatures=sign_outs(t), needs_reason=t.needs_reason, data_schema=data_schema(t.event))


def journey_out() -> JourneyOut:
    return JourneyOut(states=list(State), product_track=list(PRODUCT_TRACK),
                      side_states=list(SIDE_STATES), terminal=sorted(TERMINAL),
                      transitions=[transition_out(t) for t in TRANSITIONS])


# ---- a case's actions ---------------------------------------------------------------------


@dataclass
class CaseState:
    """A read-only view of the case for its state guards (no event data)."""

    session: Session
    case: Case
    rules: ProtocolData
    now: datetime
    sites: dict[int, Site] | None  # None: read when a guard first asks for a site's today

    def tz(self, scope: SiteScope | None = None) -> str:
        if self.sites is None:
            self.sites = case_sites(self.session, self.case)
        return self.sites[site_of(self.case, scope or SiteScope.treatment)].timezone


def _block(guard: Guard, failure: Failure) -> BlockOut:
    how = f" {guard.override.how}" if guard.override else ""
    return BlockOut(guard=guard.name, text=guard.text, message=failure.message + how,
                    code=guard.code,
                    reason_field=guard.override.reason_field if guard.override else None)


def _defaults(view: CaseState, t: Transition) -> ActionDefaults:
    if t.event == EventName.record_process_step and view.case.next_process_step < len(PROCESS_STEPS):
        return ActionDefaults(step=PROCESS_STEPS[view.case.next_process_step])
    if t.event == EventName.record_monitoring_check:
        begun, _ = begun_unrecorded_days(view)
        return ActionDefaults(day=begun[0] if begun else None)
    if t.event == EventName.record_qc_result:
        recorded = latest_qc(view.session, view.case.id or 0)
        untested = [q.code for q in view.rules.qc_tests if q.code not in recorded]
        return ActionDefaults(test=untested[0] if untested else None)
    return ActionDefaults()


@dataclass(frozen=True)
class StepCheck:
    """What the state guards say of one event now: the scan station needs no more than this."""

    event: EventName
    blocked_by: BlockOut | None
    override: BlockOut | None
    conditions: frozenset[str]

    @property
    def available(self) -> bool:
        return self.blocked_by is None


def check_step(view: CaseState, t: Transition) -> StepCheck:
    override: BlockOut | None = None
    conditions: set[str] = set()
    for name in t.guards:
        guard = GUARDS[name]
        failure = guard.state_check(view) if guard.state_check is not None else None
        if failure is None:
            continue
        if guard.override is None:
            return StepCheck(t.event, _block(guard, failure), override, frozenset(conditions))
        override = override or _block(guard, failure)
        conditions.add(guard.override.condition)
    return StepCheck(t.event, None, override, frozenset(conditions))


def action_for(view: CaseState, t: Transition) -> ActionOut:
    check = check_step(view, t)
    signs = [s for s in sign_outs(t) if s.when is None or s.when in check.conditions]
    return ActionOut(
        event=t.event, summary=t.summary, available=check.available,
        blocked_by=check.blocked_by, override=check.override, expects=expect_out(t.expects),
        signatures=signs, needs_reason=t.needs_reason or check.override is not None,
        decisions=list(t.decisions), calendar_site=t.calendar,
        calendar_timezone=view.tz(t.calendar), data_schema=data_schema(t.event),
        defaults=_defaults(view, t))


def _case_view(session: Session, case: Case, sites: dict[int, Site] | None) -> CaseState:
    return CaseState(session, case, rules_of(session, case.protocol_id), clock.now(), sites)


def _steps_for(principal: Principal, case: Case) -> list[Transition]:
    """The events the case's state allows and this user's role may apply at the right site."""
    return [t for t in TRANSITIONS
            if case.state in t.sources and may_do(principal, sites_in_scope(case, t.site), t)]


def available_actions(session: Session, principal: Principal, case: Case,
                      sites: dict[int, Site]) -> list[ActionOut]:
    """Every event the case's state allows and this user's role may apply at the right site,
    each available now or blocked by the guard named."""
    view = _case_view(session, case, sites)
    return [action_for(view, t) for t in _steps_for(principal, case)]


def step_checks(session: Session, principal: Principal, case: Case,
                sites: dict[int, Site] | None = None) -> list[StepCheck]:
    """The same events as ``available_actions``, with only what their guards say now; the
    case's sites are read only if a guard needs one's local date."""
    view = _case_view(session, case, sites)
    return [check_step(view, t) for t in _steps_for(principal, case)]


def available_events(session: Session, principal: Principal, case: Case,
                     sites: dict[int, Site]) -> list[str]:
    return [a.event.value for a in available_actions(session, principal, case, sites)
            if a.available]

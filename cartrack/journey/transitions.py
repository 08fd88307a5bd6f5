"""DESIGN.md's journey table, as data: the one executable rule book.

Each row declares who may apply an event and where, from which states, what must be scanned,
which guards (named predicates in ``journey.guards``) must hold, which deadlines it closes and
opens (due times named in ``journey.due``), which e-signatures it takes, and whose calendar
decides "today". ``journey.engine`` applies a row in a fixed order; handlers in
``journey.handlers`` hold only what the table cannot say. ``GET /api/journey`` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cartrack.alerts.models import DeadlineKind, DeadlineStatus
from cartrack.journey.models import State
from cartrack.units.models import UnitKind, UnitStatus
from cartrack.users.models import Role

PRODUCT_TRACK = (
    State.enrolled, State.collection_scheduled, State.collected, State.shipped_to_manufacturing,
    State.received_at_manufacturing, State.manufacturing, State.qc_pending, State.released,
    State.shipped_to_treatment_center, State.received_at_treatment_center, State.thawed,
    State.infused, State.monitoring, State.completed,
)
SIDE_STATES = (State.on_hold, State.out_of_specification, State.cancelled)
TERMINAL = frozenset({State.completed, State.cancelled})
NON_TERMINAL = frozenset(s for s in State if s not in TERMINAL)


class EventName(StrEnum):
    """Every event of the table."""

    enroll = "enroll"
    schedule_collection = "schedule_collection"
    record_collection = "record_collection"
    ship_to_manufacturing = "ship_to_manufacturing"
    receive_at_manufacturing = "receive_at_manufacturing"
    start_manufacturing = "start_manufacturing"
    record_process_step = "record_process_step"
    complete_manufacturing = "complete_manufacturing"
    record_qc_result = "record_qc_result"
    release = "release"
    report_out_of_spec = "report_out_of_spec"
    decide_out_of_spec = "decide_out_of_spec"
    ship_to_treatment_center = "ship_to_treatment_center"
    receive_at_treatment_center = "receive_at_treatment_center"
    start_lymphodepletion = "start_lymphodepletion"
    complete_lymphodepletion = "complete_lymphodepletion"
    thaw = "thaw"
    infuse = "infuse"
    record_monitoring_check = "record_monitoring_check"
    complete = "complete"
    hold = "hold"
    resume = "resume"
    cancel = "cancel"


class SiteScope(StrEnum):
    """Which of the case's sites a role must be held at, or whose calendar applies."""

    collection = "collection"
    manufacturing = "manufacturing"
    treatment = "treatment"
    clinical = "clinical"  # the collection site or the treatment center
    any = "any"  # any of the case's three sites


class ExpectKind(StrEnum):
    apheresis = "apheresis"
    product = "product"
    bedside = "bedside"  # the patient's wristband, then the thawed bag, at the scan station


@dataclass(frozen=True)
class Expect:
    """What an event needs scanned: one bag, every bag of a shipment, or the bedside pair."""

    kind: ExpectKind
    statuses: tuple[UnitStatus, ...] = ()
    every_unit: bool = False  # a handoff: every bag of the case in these statuses, no other

    @property
    def unit_kind(self) -> UnitKind | None:
        return None if self.kind == ExpectKind.bedside else UnitKind(self.kind.value)

    @property
    def field(self) -> str:
        """The event data field that carries the scans."""
        return "scans" if self.every_unit else "scan"


@dataclass(frozen=True)
class Open:
    """A deadline the event opens; its due time is the named computation in ``journey.due``."""

    kind: DeadlineKind
    due: str
    calendar: SiteScope


@dataclass(frozen=True)
class Close:
    """Deadlines the event closes; ``which`` names a selector in ``journey.deadlines``."""

    kinds: tuple[DeadlineKind, ...]
    status: DeadlineStatus = DeadlineStatus.met
    which: str | None = None


@dataclass(frozen=True)
class Sign:
    """An e-signature the event takes: always, or only when the named condition arises."""

    meaning: str
    when: str | None = None
    second_signer: bool = False


@dataclass(frozen=True)
class Outcome:
    """Where the event leaves the case and what it does to deadlines and signatures.

    ``target`` None keeps the state (a milestone or a repeatable step); ``to_previous`` returns
    to the state the case was put on hold from."""

    target: State | None = None
    to_previous: bool = False
    opens: tuple[Open, ...] = ()
    closes: tuple[Close, ...] = ()
    signs: tuple[Sign, ...] = ()


@dataclass(frozen=True)
class Transition:
    event: EventName
    sources: frozenset[State]
    roles: tuple[Role, ...]
    site: SiteScope
    outcome: Outcome
    summary: str
    calendar: SiteScope = SiteScope.treatment
    expects: Expect | None = None
    guards: tuple[str, ...] = ()
    needs_reason: bool = False
    milestone: bool = False  # a patient milestone beside the product track
    decisions: Mapping[str, Outcome] = field(default_factory=dict)

    def outcome_for(self, decision: str | None) -> Outcome:
        if self.decisions and decision is not None:
            return self.decisions[decision]
        return self.outcome

    def outcomes(self) -> list[tuple[str | None, Outcome]]:
        if self.decisions:
            return list(self.decisions.items())
        return [(None, self.outcome)]

    def signatures(self) -> list[Sign]:
        return [s for _, o in self.outcomes() for s in o.signs]


E, S, R, D, X, K, U = EventName, State, Role, DeadlineKind, SiteScope, ExpectKind, UnitStatus
LD_STATES = frozenset({S.released, S.shipped_to_treatment_center, S.received_at_treatment_center})
ALL_DEADLINES = tuple(DeadlineKind)


_o = Outcome
# A tracked shipment (a shipper serial given) leaves only with a fit shipper, logger and seal.
DISPATCH_GUARDS = ("shipper_in_catalog", "shipper_qualified", "shipper_not_quarantined",
                   "shipper_not_in_use", "logger_given_and_known", "logger_calibrated",
                   "logger_range_covers_profile", "seal_given_where_required")
APHERESIS_EXCURSIONS = ("no_apheresis_excursion_open", "no_apheresis_excursion_rejected")
PRODUCT_EXCURSIONS = ("no_product_excursion_open", "no_product_excursion_rejected")


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        E.enroll, frozenset(), (R.coordinator,), X.clinical, _o(S.enrolled),
        "Enroll a patient; the COI is issued"),
    Transition(
        E.schedule_collection, frozenset({S.enrolled}), (R.coordinator,), X.clinical,
        _o(S.collection_scheduled, opens=(Open(D.collection_due, "end_of_collection_day",
                                               X.collection),)),
        "Schedule apheresis collection", calendar=X.collection,
        guards=("confirmed_slot_if_fresh_bound", "collection_date_not_past",
                "planned_infusion_after_collection")),
    Transition(
        E.record_collection, frozenset({S.collection_scheduled}), (R.collection_staff,),
        X.collection,
        _o(S.collected, closes=(Close((D.collection_due,)),),
           opens=(Open(D.apheresis_transit, "collection_end_plus_transit", X.manufacturing),),
           signs=(Sign("Override: collection far from the manufacturing slot",
                       when="slot_override"),)),
        "Record collection; apheresis units are created and labeled", calendar=X.collection,
        guards=("collection_end_not_future", "collection_near_slot_start")),
    Transition(
        E.ship_to_manufacturing, frozenset({S.collected}), (R.collection_staff,), X.collection,
        _o(S.shipped_to_manufacturing), "Ship apheresis units to manufacturing",
        calendar=X.collection, expects=Expect(K.apheresis, (U.collected,), every_unit=True),
        guards=DISPATCH_GUARDS),
    Transition(
        E.receive_at_manufacturing, frozenset({S.shipped_to_manufacturing}), (R.lab_tech,),
        X.manufacturing,
        _o(S.received_at_manufacturing, closes=(Close((D.apheresis_transit,)),),
           opens=(Open(D.manufacturing_start, "now_plus_manufacturing_start", X.manufacturing),)),
        "Receive apheresis at the manufacturing facility; a shipper out of its temperature "
        "range records a deviation", calendar=X.manufacturing,
        expects=Expect(K.apheresis, (U.in_transit,), every_unit=True)),
    Transition(
        E.start_manufacturing, frozenset({S.received_at_manufacturing}), (R.lab_tech,),
        X.manufacturing, _o(S.manufacturing, closes=(Close((D.manufacturing_start,)),)),
        "Start manufacturing", calendar=X.manufacturing,
        expects=Expect(K.apheresis, (U.received,)), guards=APHERESIS_EXCURSIONS),
    Transition(
        E.record_process_step, frozenset({S.manufacturing}), (R.lab_tech,), X.manufacturing,
        _o(), "Record a manufacturing process step", calendar=X.manufacturing,
        expects=Expect(K.apheresis, (U.in_process,)),
        guards=("process_steps_remaining", "step_in_protocol_order")),
    Transition(
        E.complete_manufacturing, frozenset({S.manufacturing}), (R.lab_tech,), X.manufacturing,
        _o(S.qc_pending, opens=(Open(D.qc_release_target, "now_plus_qc_release", X.manufacturing),
                                Open(D.storage_expiry, "product_expiry", X.manufacturing))),
        "Complete manufacturing; final product bags are created, labeled and cryopreserved",
        calendar=X.manufacturing, expects=Expect(K.apheresis, (U.in_process,)),
        guards=("every_process_step_recorded",)),
    Transition(
        E.record_qc_result, frozenset({S.qc_pending}), (R.lab_tech,), X.manufacturing, _o(),
        "Record a QC result", calendar=X.manufacturing, guards=("qc_test_in_protocol",)),
    Transition(
        E.release, frozenset({S.qc_pending}), (R.qa,), X.manufacturing,
        _o(S.released, closes=(Close((D.qc_release_target,)),),
           signs=(Sign("Approved for release"),)),
        "Release the product (e-signature)", calendar=X.manufacturing,
        guards=("every_required_qc_test_passing",)),
    Transition(
        E.report_out_of_spec, frozenset({S.qc_pending}), (R.qa,), X.manufacturing,
        _o(S.out_of_specification), "Report out of specification; the product is quarantined",
        calendar=X.manufacturing, guards=("a_qc_result_failing",), needs_reason=True),
    Transition(
        E.decide_out_of_spec, frozenset({S.out_of_specification}), (R.qa,), X.manufacturing,
        _o(), "Decide on an out-of-specification product: recollect, exceptional release or "
              "cancel", calendar=X.collection,
        guards=("physician_acknowledges_exceptional_release", "recollection_date_given"),
        needs_reason=True,
        decisions={
            "recollect": _o(
                S.collection_scheduled,
                closes=(Close((D.qc_release_target, D.storage_expiry), DeadlineStatus.cancelled),),
                opens=(Open(D.collection_due, "end_of_collection_day", X.collection),),
                signs=(Sign("Out-of-specification decision: recollect"),)),
            "exceptional_release": _o(
                S.released, closes=(Close((D.qc_release_target,)),),
                signs=(Sign("Exceptional release (out of specification)"),)),
            "cancel": _o(
                S.cancelled, closes=(Close(ALL_DEADLINES, DeadlineStatus.cancelled),),
                signs=(Sign("Out-of-specification decision: cancel"),)),
        }),
    Transition(
        E.ship_to_treatment_center, frozenset({S.released}), (R.lab_tech,), X.manufacturing,
        _o(S.shipped_to_treatment_center,
           opens=(Open(D.shipment_arrival, "now_plus_shipment_arrival", X.treatment),)),
        "Ship product bags to the treatment center", calendar=X.manufacturing,
        expects=Expect(K.product, (U.released,), every_unit=True), guards=DISPATCH_GUARDS),
    Transition(
        E.receive_at_treatment_center, frozenset({S.shipped_to_treatment_center}),
        (R.infusion_staff,), X.treatment,
        _o(S.received_at_treatment_center, closes=(Close((D.shipment_arrival,)),)),
        "Receive product at the treatment center",
        expects=Expect(K.product, (U.in_transit,), every_unit=True),
        guards=("shipper_temperature_in_range",)),
    Transition(
        E.start_lymphodepletion, LD_STATES, (R.infusion_staff, R.coordinator), X.treatment,
        _o(opens=(Open(D.infusion_window, "infusion_window_after_ld", X.treatment),)),
        "Start lymphodepleting chemotherapy", milestone=True,
        guards=("ld_not_started", "ld_start_near_today")),
    Transition(
        E.complete_lymphodepletion, LD_STATES, (R.infusion_staff,), X.treatment,
        _o(closes=(Close((D.infusion_window,), DeadlineStatus.replaced),),
           opens=(Open(D.infusion_window, "infusion_window_after_ld", X.treatment),)),
        "Complete lymphodepleting chemotherapy; the infusion window now counts from its end",
        milestone=True, guards=("ld_started_not_complete", "ld_end_between_start_and_today")),
    Transition(
        E.thaw, frozenset({S.received_at_treatment_center}), (R.infusion_staff,), X.treatment,
        _o(S.thawed, opens=(Open(D.thaw_to_infusion, "now_plus_thaw_limit", X.treatment),),
           signs=(Sign("Override: thaw outside the infusion window", when="override"),)),
        "Thaw a product bag", expects=Expect(K.product, (U.stored,)),
        guards=(*PRODUCT_EXCURSIONS, "ld_complete", "inside_infusion_window")),
    Transition(
        E.infuse, frozenset({S.thawed}), (R.infusion_staff,), X.treatment,
        _o(S.infused, closes=(Close((D.thaw_to_infusion, D.infusion_window)),),
           opens=(Open(D.monitoring_check, "daily_monitoring_days", X.treatment),
                  Open(D.proximity_period, "proximity_after_infusion", X.treatment)),
           signs=(Sign("Verified"), Sign("Verified", second_signer=True))),
        "Infuse after the bedside check (two-person e-signature)",
        expects=Expect(K.bedside, (U.thawed,)),
        guards=(*PRODUCT_EXCURSIONS, "inside_thaw_window", "second_signer_is_infusion_staff")),
    Transition(
        E.record_monitoring_check, frozenset({S.infused, S.monitoring}), (R.infusion_staff,),
        X.treatment,
        _o(S.monitoring, closes=(Close((D.monitoring_check,), which="recorded_day"),)),
        "Record a daily monitoring check; grade >= 2 raises a critical alert",
        guards=("monitoring_day_in_period", "monitoring_day_begun", "one_check_per_day",
                "an_unrecorded_day_has_begun")),
    Transition(
        E.complete, frozenset({S.monitoring}), (R.coordinator,), X.any,
        _o(S.completed, closes=(Close(ALL_DEADLINES, DeadlineStatus.closed),),
           signs=(Sign("Completed with missing monitoring checks", when="missing_checks"),)),
        "Complete the case", guards=("monitoring_period_over", "every_monitoring_check_recorded")),
    Transition(
        E.hold, NON_TERMINAL - {S.on_hold}, (R.coordinator, R.qa), X.any, _o(S.on_hold),
        "Put the case on hold (deadlines keep running)", needs_reason=True),
    Transition(
        E.resume, frozenset({S.on_hold}), (R.coordinator, R.qa), X.any, _o(to_previous=True),
        "Resume the case where it left off", needs_reason=True),
    Transition(
        E.cancel, NON_TERMINAL, (R.coordinator,), X.any,
        _o(S.cancelled, closes=(Close(ALL_DEADLINES, DeadlineStatus.cancelled),),
           signs=(Sign("Cancellation"),)),
        "Cancel the case (e-signature)", needs_reason=True),
)

BY_EVENT: dict[str, Transition] = {t.event.value: t for t in TRANSITIONS}
CASE_EVENTS = tuple(t.event for t in TRANSITIONS if t.event != EventName.enroll)


def allowed_events(state: State | str) -> list[str]:
    """Events the state allows, whoever asks (the refusal context's list)."""
    return [t.event.value for t in TRANSITIONS if state in t.sources]


def target_states(t: Transition) -> list[State]:
    """The real states an event can lead to. A milestone keeps the state and "back to the
    previous state" depends on the case: both are flags of the row, not states."""
    found = {o.target for _, o in t.outcomes() if o.target is not None}
    if not t.milestone and any(o.target is None and not o.to_previous for _, o in t.outcomes()):
        found |= t.sources  # a repeatable step keeps its state
    return sorted(found, key=list(State).index)

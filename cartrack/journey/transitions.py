"""DESIGN.md's journey table, as data. The service applies it; GET /api/journey serves it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cartrack.users.models import Role


class State(StrEnum):
    enrolled = "enrolled"
    collection_scheduled = "collection_scheduled"
    collected = "collected"
    shipped_to_manufacturing = "shipped_to_manufacturing"
    received_at_manufacturing = "received_at_manufacturing"
    manufacturing = "manufacturing"
    qc_pending = "qc_pending"
    released = "released"
    shipped_to_treatment_center = "shipped_to_treatment_center"
    received_at_treatment_center = "received_at_treatment_center"
    thawed = "thawed"
    infused = "infused"
    monitoring = "monitoring"
    completed = "completed"
    on_hold = "on_hold"
    out_of_specification = "out_of_specification"
    cancelled = "cancelled"


PRODUCT_TRACK = (
    State.enrolled, State.collection_scheduled, State.collected, State.shipped_to_manufacturing,
    State.received_at_manufacturing, State.manufacturing, State.qc_pending, State.released,
    State.shipped_to_treatment_center, State.received_at_treatment_center, State.thawed,
    State.infused, State.monitoring, State.completed,
)
TERMINAL = frozenset({State.completed, State.cancelled})
NON_TERMINAL = frozenset(s for s in State if s not in TERMINAL)


class SiteScope(StrEnum):
    """Which of the case's sites the actor's role must be held at."""

    collection = "collection"
    manufacturing = "manufacturing"
    treatment = "treatment"
    any = "any"


class Deadline(StrEnum):
    collection_due = "collection_due"
    apheresis_transit = "apheresis_transit"
    manufacturing_start = "manufacturing_start"
    qc_release_target = "qc_release_target"
    storage_expiry = "storage_expiry"
    shipment_arrival = "shipment_arrival"
    infusion_window = "infusion_window"
    thaw_to_infusion = "thaw_to_infusion"
    monitoring_check = "monitoring_check"
    proximity_period = "proximity_period"


MILESTONE = "(milestone)"
PREVIOUS = "(previous state)"


@dataclass(frozen=True)
class Transition:
    event: str
    sources: frozenset[State]
    targets: tuple[str, ...]
    roles: tuple[Role, ...]
    site: SiteScope
    guards: tuple[str, ...] = ()
    opens: tuple[Deadline, ...] = ()
    closes: tuple[Deadline, ...] = ()
    signature: str | None = None
    second_signature: str | None = None
    needs_reason: bool = False
    summary: str = ""


def _t(event: str, sources: frozenset[State] | tuple[State, ...] | State, targets: tuple[str, ...] | str,
       roles: tuple[Role, ...] | Role, site: SiteScope, **kw: object) -> Transition:
    src = frozenset([sources]) if isinstance(sources, State) else frozenset(sources)
    tgt = (targets,) if isinstance(targets, str) else targets
    rls = (roles,) if isinstance(roles, Role) else roles
    return Transition(event, src, tgt, rls, site, **kw)  # type: ignore[arg-type]


S, R, D, X = State, Role, Deadline, SiteScope
LD_STATES = (S.released, S.shipped_to_treatment_center, S.received_at_treatment_center)

TRANSITIONS: tuple[Transition, ...] = (
    _t("enroll", (), S.enrolled, R.coordinator, X.any,
       guards=("patient, protocol version and the three sites are given; the coordinator works "
               "at the treatment center or the collection site",),
       summary="Enroll a patient; the COI is issued"),
    _t("schedule_collection", S.enrolled, S.collection_scheduled, R.coordinator, X.any,
       guards=("collection date (site-local) is today or later", "manufacturing slot given"),
       opens=(D.collection_due,), summary="Schedule apheresis collection"),
    _t("record_collection", S.collection_scheduled, S.collected, R.collection_staff, X.collection,
       guards=("collection end time is not in the future", "1..n apheresis units created and labeled"),
       closes=(D.collection_due,), opens=(D.apheresis_transit,),
       summary="Record collection; apheresis units are created and labeled"),
    _t("ship_to_manufacturing", S.collected, S.shipped_to_manufacturing, R.collection_staff,
       X.collection,
       guards=("every apheresis unit of the case is scanned into the shipment, no other unit",
               "courier, tracking number and shipper type given"),
       summary="Ship apheresis units to manufacturing"),
    _t("receive_at_manufacturing", S.shipped_to_manufacturing, S.received_at_manufacturing,
       R.lab_tech, X.manufacturing,
       guards=("every shipped unit is scanned and its COI matches",
               "shipper temperature in range, else a deviation is recorded"),
       closes=(D.apheresis_transit,), opens=(D.manufacturing_start,),
       summary="Receive apheresis at the manufacturing facility"),
    _t("start_manufacturing", S.received_at_manufacturing, S.manufacturing, R.lab_tech,
       X.manufacturing, guards=("scan of an apheresis unit of this case",),
       closes=(D.manufacturing_start,), summary="Start manufacturing"),
    _t("record_process_step", S.manufacturing, S.manufacturing, R.lab_tech, X.manufacturing,
       guards=("step in protocol order: activation, transduction, expansion, harvest, formulation",
               "scan of the apheresis unit"), summary="Record a manufacturing process step"),
    _t("complete_manufacturing", S.manufacturing, S.qc_pending, R.lab_tech, X.manufacturing,
       guards=("every process step recorded", "1..n final product bags created, labeled, "
               "cryopreserved, with lineage to the apheresis unit"),
       opens=(D.qc_release_target, D.storage_expiry),
       summary="Complete manufacturing; final product bags are created"),
    _t("record_qc_result", S.qc_pending, S.qc_pending, R.lab_tech, X.manufacturing,
       guards=("test is one the protocol lists",), summary="Record a QC result"),
    _t("release", S.qc_pending, S.released, R.qa, X.manufacturing,
       guards=("every QC test the protocol requires is present and passing",),
       closes=(D.qc_release_target,), signature="Approved for release",
       summary="Release the product (e-signature)"),
    _t("report_out_of_spec", S.qc_pending, S.out_of_specification, R.qa, X.manufacturing,
       guards=("at least one failing QC result",), needs_reason=True,
       summary="Report out of specification"),
    _t("decide_out_of_spec", S.out_of_specification,
       (S.collection_scheduled, S.released, S.cancelled), R.qa, X.manufacturing,
       guards=("decision and reason given",
               "exceptional release needs the treating physician's acknowledgement"),
       signature="Out-of-specification decision", needs_reason=True,
       summary="Decide on an out-of-specification product (recollect, exceptional release, "
               "cancel)"),
    _t("ship_to_treatment_center", S.released, S.shipped_to_treatment_center, R.lab_tech,
       X.manufacturing, guards=("every product bag is scanned, no other bag", "shipper type given"),
       opens=(D.shipment_arrival,), summary="Ship product bags to the treatment center"),
    _t("receive_at_treatment_center", S.shipped_to_treatment_center,
       S.received_at_treatment_center, R.infusion_staff, X.treatment,
       guards=("every shipped bag is scanned and its COI matches", "temperature in range",
               "storage location given"),
       closes=(D.shipment_arrival,), summary="Receive product at the treatment center"),
    _t("start_lymphodepletion", LD_STATES, MILESTONE, (R.infusion_staff, R.coordinator),
       X.treatment, guards=("lymphodepletion not already started", "regimen and planned days"),
       opens=(D.infusion_window,), summary="Start lymphodepleting chemotherapy"),
    _t("complete_lymphodepletion", LD_STATES, MILESTONE, R.infusion_staff, X.treatment,
       guards=("lymphodepletion started and not yet complete", "end date not before start"),
       summary="Complete lymphodepleting chemotherapy"),
    _t("thaw", S.received_at_treatment_center, S.thawed, R.infusion_staff, X.treatment,
       guards=("bag scan of this case", "lymphodepletion complete",
               "today inside the infusion window (outside: override with e-signature and reason)"),
       opens=(D.thaw_to_infusion,), summary="Thaw a product bag"),
    _t("infuse", S.thawed, S.infused, R.infusion_staff, X.treatment,
       guards=("wristband and bag scanned within the last N minutes, both of this COI",
               "inside the thaw window", "a second user signs (two-person check)"),
       closes=(D.thaw_to_infusion, D.infusion_window),
       opens=(D.monitoring_check, D.proximity_period), signature="Verified",
       second_signature="Verified", summary="Infuse after the bedside check"),
    _t("record_monitoring_check", (S.infused, S.monitoring), S.monitoring, R.infusion_staff,
       X.treatment, guards=("day 1..monitoring period", "CRS and ICANS grade 0-4"),
       summary="Record a daily monitoring check; grade >= 2 raises a critical alert"),
    _t("complete", S.monitoring, S.completed, R.coordinator, X.any,
       guards=("monitoring period over",), closes=tuple(D), summary="Complete the case"),
    _t("hold", NON_TERMINAL - {S.on_hold}, S.on_hold, (R.coordinator, R.qa), X.any,
       needs_reason=True, summary="Put the case on hold (deadlines keep running)"),
    _t("resume", S.on_hold, PREVIOUS, (R.coordinator, R.qa), X.any, needs_reason=True,
       summary="Resume the case where it left off"),
    _t("cancel", NON_TERMINAL, S.cancelled, R.coordinator, X.any, needs_reason=True,
       closes=tuple(D), signature="Cancellation", summary="Cancel the case (e-signature)"),
)

BY_EVENT: dict[str, Transition] = {t.event: t for t in TRANSITIONS}


def allowed_events(state: str) -> list[str]:
    return [t.event for t in TRANSITIONS if state in t.sources]

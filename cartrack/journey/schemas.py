"""What the journey answers: cases, their timeline, deadlines, bags and available actions, and
the table itself. Every field is typed, so the web UI's generated client needs no casts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from cartrack.alerts.models import DeadlineKind, DeadlineStatus
from cartrack.journey.models import State
from cartrack.journey.transitions import EventName, ExpectKind, SiteScope
from cartrack.protocols.models import ProcessStep
from cartrack.units.models import UnitKind, UnitStatus
from cartrack.users.models import Role


class SignatureOut(BaseModel):
    printed_name: str
    meaning: str
    signed_at: datetime
    record_hash: str = Field(description="SHA-256 of the signed content: binds the signature "
                                         "to its record")


class EventOut(BaseModel):
    id: int
    event: EventName
    from_state: State | None
    to_state: State
    actor_name: str
    at: datetime
    data: dict[str, JsonValue] = Field(description="what the event recorded; keys vary by event")
    reason: str | None
    signatures: list[SignatureOut] = []


class DeadlineOut(BaseModel):
    id: int
    kind: DeadlineKind
    label: str
    ordinal: int | None = Field(description="the day of a daily monitoring check")
    opened_at: datetime
    earliest_at: datetime | None
    due_at: datetime
    status: DeadlineStatus
    closed_at: datetime | None


class UnitOut(BaseModel):
    id: int
    unit_id: str
    unit_id_check: str
    kind: UnitKind
    parent_unit_id: str | None
    status: UnitStatus
    site_code: str | None
    location: str | None
    volume_ml: float | None
    collected_at: datetime | None
    expires_at: datetime | None
    quarantined: bool


class CaseSummary(BaseModel):
    id: int
    coi: str
    coi_check: str
    state: State
    held_from: State | None
    version: int
    product: str
    protocol_version: int
    collection_site: str
    manufacturing_site: str
    treatment_site: str
    next_deadline: DeadlineOut | None
    updated_at: datetime
    patient: PatientOut | None = Field(
        None, description="only for users who may see this case's patient details")


class PatientOut(BaseModel):
    given_name: str
    family_name: str
    date_of_birth: date
    mrn: str


class Milestones(BaseModel):
    """When each step of the case happened (UTC instants; LD dates are the treatment center's
    calendar days)."""

    model_config = ConfigDict(extra="forbid")

    enrolled_at: datetime | None = None
    collected_at: datetime | None = None
    shipped_to_manufacturing_at: datetime | None = None
    received_at_manufacturing_at: datetime | None = None
    manufacturing_started_at: datetime | None = None
    step_activation_at: datetime | None = None
    step_transduction_at: datetime | None = None
    step_expansion_at: datetime | None = None
    step_harvest_at: datetime | None = None
    step_formulation_at: datetime | None = None
    cryopreserved_at: datetime | None = None
    manufactured_at: datetime | None = None
    released_at: datetime | None = None
    shipped_to_treatment_center_at: datetime | None = None
    received_at_treatment_center_at: datetime | None = None
    ld_started_on: date | None = None
    ld_completed_on: date | None = None
    thawed_at: datetime | None = None
    thawed_unit: str | None = None
    infused_at: datetime | None = None
    completed_at: datetime | None = None


class QcResultOut(BaseModel):
    test: str
    value: str
    spec: str
    passed: bool
    recorded_at: datetime


class QcRequirementOut(BaseModel):
    code: str
    name: str
    spec: str
    latest: bool | None = Field(description="the latest result passed; null when none yet")


class MonitoringOut(BaseModel):
    day: int
    crs_grade: int
    icans_grade: int
    notes: str | None
    recorded_at: datetime


# ---- the table and the actions it allows ---------------------------------------------------


class GuardOut(BaseModel):
    name: str
    text: str
    needs_data: bool = Field(description="checked against the event's data, so only when applied")
    overridable: bool = Field(description="may be passed with a reason and an e-signature")


class ExpectOut(BaseModel):
    kind: ExpectKind
    statuses: list[UnitStatus]
    every_unit: bool = Field(description="a handoff: every bag of the case in these statuses")
    field: Literal["scan", "scans"] | None = Field(
        description="the data field that carries the scans; null at the bedside, where the "
                    "wristband and bag are scanned at the scan station first")


class SignOut(BaseModel):
    meaning: str
    when: str | None = Field(description="only when this condition arises (e.g. override)")
    second_signer: bool
    decision: str | None = Field(description="only for this decision")


class CloseOut(BaseModel):
    kinds: list[DeadlineKind]
    status: DeadlineStatus
    which: str | None


class OpenOut(BaseModel):
    kind: DeadlineKind
    due: str = Field(description="the named computation of the due time")
    calendar_site: SiteScope


class OutcomeOut(BaseModel):
    decision: str | None
    to_state: State | None = Field(description="null: the case keeps its state, or returns to "
                                               "the state it was held from")
    returns_to_previous: bool
    opens: list[OpenOut]
    closes: list[CloseOut]


class TransitionOut(BaseModel):
    event: EventName
    summary: str
    from_states: list[State]
    to_states: list[State] = Field(description="real states only")
    milestone: bool = Field(description="a patient milestone: the state does not change")
    returns_to_previous: bool
    roles: list[Role]
    site: SiteScope
    calendar_site: SiteScope = Field(description="whose local 'today' applies")
    expects: ExpectOut | None
    guards: list[GuardOut]
    outcomes: list[OutcomeOut]
    signatures: list[SignOut]
    needs_reason: bool
    data_schema: dict[str, JsonValue]


class JourneyOut(BaseModel):
    states: list[State]
    product_track: list[State]
    side_states: list[State]
    terminal: list[State]
    transitions: list[TransitionOut]


class BlockOut(BaseModel):
    guard: str
    text: str = Field(description="the guard, in the table's words")
    message: str = Field(description="why it does not hold now")
    code: str
    reason_field: str | None = Field(
        None, description="for an override: the data field whose reason asks for it")


class ActionDefaults(BaseModel):
    """What the form can start from: the next step, the next monitoring day, the next QC test."""

    step: ProcessStep | None = None
    day: int | None = None
    test: str | None = Field(None, description="the first required QC test with no result yet")


class ActionOut(BaseModel):
    event: EventName
    summary: str
    available: bool = Field(description="false: a guard blocks it now (see blocked_by)")
    blocked_by: BlockOut | None
    override: BlockOut | None = Field(
        description="a guard that fails now but may be overridden with a reason and an "
                    "e-signature")
    expects: ExpectOut | None
    signatures: list[SignOut] = Field(description="the signatures it takes as things stand")
    needs_reason: bool
    decisions: list[str]
    calendar_site: SiteScope
    calendar_timezone: str
    data_schema: dict[str, JsonValue]
    defaults: ActionDefaults


class CaseDetail(CaseSummary):
    collection_date: date | None
    manufacturing_slot: str | None
    planned_infusion_date: date | None
    ld_started_on: date | None
    ld_completed_on: date | None
    ld_regimen: str | None
    milestones: Milestones
    deadlines: list[DeadlineOut]
    units: list[UnitOut]
    qc_results: list[QcResultOut]
    qc_required: list[QcRequirementOut]
    monitoring: list[MonitoringOut]
    actions: list[ActionOut] = Field(description="every event you may apply to this case now, "
                                                 "or would but for the guard named")

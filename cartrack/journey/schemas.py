"""Request and response schemas of the journey: one validated data model per event."""

from __future__ import annotations

import operator
from datetime import date, datetime
from functools import reduce
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
ScanText = Annotated[str, Field(min_length=1, max_length=1024)]
Scans = Annotated[list[ScanText], Field(min_length=1, max_length=50)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignatureIn(Strict):
    """Part 11 signing: the signer types their password again; the meaning is fixed by the event."""

    password: str = Field(min_length=1, max_length=200)


class SecondSignerIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PatientIn(Strict):
    given_name: Text
    family_name: Text
    date_of_birth: date
    mrn: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class EnrollIn(Strict):
    patient: PatientIn | None = None
    fhir_patient: dict[str, Any] | None = Field(
        default=None, description="a FHIR R5 Patient resource instead of typed patient fields; "
        "the MRN is its identifier with the treatment center's MRN system")
    product: str = Field(min_length=2, max_length=40, description="protocol product code")
    protocol_version: int | None = Field(default=None, ge=1, description="default: current")
    collection_site: str = Field(min_length=1, max_length=32)
    manufacturing_site: str = Field(min_length=1, max_length=32)
    treatment_site: str = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_patient(self) -> EnrollIn:
        if (self.patient is None) == (self.fhir_patient is None):
            raise ValueError("give the patient's details or a FHIR Patient resource, one of them")
        return self


class ScheduleCollectionData(Strict):
    collection_date: date
    manufacturing_slot: Text
    planned_infusion_date: date | None = None


class ApheresisUnitIn(Strict):
    volume_ml: float = Field(gt=0, le=2000)


class RecordCollectionData(Strict):
    collection_end: AwareDatetime
    units: list[ApheresisUnitIn] = Field(min_length=1, max_length=10)


class ShipData(Strict):
    scans: Scans
    shipper_type: Text
    courier: Text | None = None
    tracking_number: Text | None = None


class ReceiveData(Strict):
    scans: Scans
    shipper_temperature_c: float = Field(ge=-273, le=100)
    storage_location: Text | None = None
    deviation_note: Reason | None = None


class UnitScanData(Strict):
    scan: ScanText


class ProcessStepData(Strict):
    step: Literal["activation", "transduction", "expansion", "harvest", "formulation"]
    scan: ScanText
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ProductBagIn(Strict):
    volume_ml: float = Field(gt=0, le=1000)


class CompleteManufacturingData(Strict):
    scan: ScanText
    bags: list[ProductBagIn] = Field(min_length=1, max_length=10)
    cryopreserved_at: AwareDatetime


class QcResultData(Strict):
    test: str = Field(min_length=1, max_length=40)
    value: Text
    passed: bool


class EmptyData(Strict):
    pass


class ReasonData(Strict):
    reason: Reason


class OutOfSpecDecisionData(Strict):
    decision: Literal["recollect", "exceptional_release", "cancel"]
    reason: Reason
    physician_acknowledgement: Text | None = Field(
        default=None, description="treating physician's name; required for exceptional release"
    )
    collection_date: date | None = Field(default=None, description="required to recollect")


class ShipToTreatmentData(Strict):
    scans: Scans
    shipper_type: Text
    courier: Text | None = None
    tracking_number: Text | None = None


class ReceiveTreatmentData(Strict):
    scans: Scans
    shipper_temperature_c: float = Field(ge=-273, le=100)
    storage_location: Text


class StartLdData(Strict):
    start_date: date
    regimen: Text | None = None


class CompleteLdData(Strict):
    end_date: date


class ThawData(Strict):
    scan: ScanText
    override_reason: Reason | None = None


class InfuseData(Strict):
    second_signer: SecondSignerIn


class MonitoringData(Strict):
    day: int = Field(ge=1, le=60)
    crs_grade: int = Field(ge=0, le=4)
    icans_grade: int = Field(ge=0, le=4)
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class _EventBase(Strict):
    expected_version: int | None = Field(default=None, ge=1)
    signature: SignatureIn | None = None


def _event(name: str, data: type[BaseModel]) -> type[_EventBase]:
    model = type(
        "".join(p.capitalize() for p in name.split("_")) + "Event",
        (_EventBase,),
        {"__annotations__": {"event": Literal[name], "data": data}},  # type: ignore[valid-type]
    )
    return model


EVENT_DATA: dict[str, type[BaseModel]] = {
    "schedule_collection": ScheduleCollectionData,
    "record_collection": RecordCollectionData,
    "ship_to_manufacturing": ShipData,
    "receive_at_manufacturing": ReceiveData,
    "start_manufacturing": UnitScanData,
    "record_process_step": ProcessStepData,
    "complete_manufacturing": CompleteManufacturingData,
    "record_qc_result": QcResultData,
    "release": EmptyData,
    "report_out_of_spec": ReasonData,
    "decide_out_of_spec": OutOfSpecDecisionData,
    "ship_to_treatment_center": ShipToTreatmentData,
    "receive_at_treatment_center": ReceiveTreatmentData,
    "start_lymphodepletion": StartLdData,
    "complete_lymphodepletion": CompleteLdData,
    "thaw": ThawData,
    "infuse": InfuseData,
    "record_monitoring_check": MonitoringData,
    "complete": EmptyData,
    "hold": ReasonData,
    "resume": ReasonData,
    "cancel": ReasonData,
}
EVENT_MODELS = [_event(name, data) for name, data in EVENT_DATA.items()]
# A discriminated union on "event": OpenAPI then documents each event's data exactly.
EventIn = Annotated[reduce(operator.or_, EVENT_MODELS), Field(discriminator="event")]  # type: ignore[valid-type]


class EventOut(BaseModel):
    id: int
    event: str
    from_state: str | None
    to_state: str
    actor_name: str
    at: datetime
    data: dict[str, Any]
    reason: str | None
    signatures: list[dict[str, Any]] = []


class DeadlineOut(BaseModel):
    id: int
    kind: str
    label: str
    opened_at: datetime
    earliest_at: datetime | None
    due_at: datetime
    status: str
    closed_at: datetime | None


class UnitOut(BaseModel):
    id: int
    unit_id: str
    unit_id_check: str
    kind: str
    parent_unit_id: str | None
    status: str
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
    state: str
    held_from: str | None
    version: int
    product: str
    protocol_version: int
    collection_site: str
    manufacturing_site: str
    treatment_site: str
    next_deadline: DeadlineOut | None
    updated_at: datetime
    allowed_events: list[str]


class PatientOut(BaseModel):
    given_name: str
    family_name: str
    date_of_birth: date
    mrn: str


class CaseDetail(CaseSummary):
    patient: PatientOut | None
    collection_date: date | None
    manufacturing_slot: str | None
    planned_infusion_date: date | None
    ld_started_on: date | None
    ld_completed_on: date | None
    ld_regimen: str | None
    milestones: dict[str, Any]
    deadlines: list[DeadlineOut]
    units: list[UnitOut]
    qc_results: list[dict[str, Any]]
    qc_required: list[dict[str, Any]]
    monitoring: list[dict[str, Any]]


class TransitionOut(BaseModel):
    event: str
    from_states: list[str]
    to_states: list[str]
    roles: list[str]
    site: str
    guards: list[str]
    opens: list[str]
    closes: list[str]
    signature: str | None
    second_signature: str | None
    needs_reason: bool
    summary: str
    data_schema: dict[str, Any] | None


class JourneyOut(BaseModel):
    states: list[str]
    product_track: list[str]
    side_states: list[str]
    terminal: list[str]
    transitions: list[TransitionOut]

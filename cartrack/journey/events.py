"""What a client sends to the journey: one validated data model per event of the table, and
the event body as a union discriminated on ``event`` (OpenAPI documents each event exactly)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cartrack.contract import NONBLANK, nonblank_at_least
from cartrack.protocols.models import ProcessStep

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                        pattern=NONBLANK)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000,
                                          pattern=nonblank_at_least(3))]
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
    mrn: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                          pattern=NONBLANK)]


def _object_only(schema: dict[str, Any]) -> None:
    """Declare an optional object field as the object alone (null is accepted, not offered)."""
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    schema.pop("default", None)
    if len(options) == 1:
        schema.update(options[0])


class EnrollIn(Strict):
    """The patient is given as typed fields or as a FHIR R5 Patient resource: exactly one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["patient"]}, {"required": ["fhir_patient"]}]})

    # Null is accepted for the one not given; the schema names only the objects.
    patient: PatientIn | None = Field(None, json_schema_extra=_object_only)
    fhir_patient: dict[str, Any] | None = Field(
        default=None, json_schema_extra=_object_only,
        description="a FHIR R5 Patient resource instead of typed patient fields; the MRN is its "
                    "identifier with the treatment center's MRN system")
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
    manufacturing_slot: Text | None = Field(default=None, description=(
        "default: the confirmed slot's facility and day"))
    planned_infusion_date: date | None = Field(default=None, description=(
        "default: the confirmed slot's planned infusion day"))


class ApheresisUnitIn(Strict):
    volume_ml: float = Field(gt=0, le=2000)
    anticoagulant: str | None = Field(default=None, min_length=1, max_length=40)


class RecordCollectionData(Strict):
    collection_end: AwareDatetime
    units: list[ApheresisUnitIn] = Field(min_length=1, max_length=10)
    override_reason: Reason | None = Field(default=None, description=(
        "record a fresh collection too far from its manufacturing slot (needs your "
        "e-signature)"))


Serial = Annotated[str, StringConstraints(min_length=1, max_length=40,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


class ColdChainIn(Strict):
    """The cold-chain part of a ship event. A shipper serial from the catalog makes the
    shipment tracked: its shipper, logger and seal are checked at dispatch."""

    scans: Scans
    shipper_type: Text
    courier: Text | None = None
    tracking_number: Text | None = Field(default=None, description="the air waybill")
    shipping_profile: str | None = Field(
        default=None, min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$",
        description="default: by direction and product (LN2 vapour for cryopreserved "
        "material, else 2-8 °C or room temperature as the protocol keeps apheresis)")
    shipper_serial: Serial | None = None
    logger_serial: Serial | None = None
    seal_id: Serial | None = None


class ShipData(ColdChainIn):
    pass


class ReceiveData(Strict):
    scans: Scans
    shipper_temperature_c: float = Field(ge=-273, le=100)
    storage_location: Text | None = None
    deviation_note: Reason | None = None


class UnitScanData(Strict):
    scan: ScanText


class ProcessStepData(Strict):
    step: ProcessStep
    scan: ScanText
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ProductBagIn(Strict):
    volume_ml: float = Field(gt=0, le=1000)
    cell_dose: float | None = Field(default=None, gt=0, le=1e11,
                                    description="CAR-positive viable T cells in the bag")


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


class ShipToTreatmentData(ColdChainIn):
    pass


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


class CompleteData(Strict):
    reason: Reason | None = Field(
        default=None, description="required, with an e-signature, when monitoring checks are missing")


class MonitoringData(Strict):
    day: int = Field(ge=1, le=60)
    crs_grade: int = Field(ge=0, le=4)
    icans_grade: int = Field(ge=0, le=4)
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class _EventBase(Strict):
    expected_version: int | None = Field(default=None, ge=1)
    signature: SignatureIn | None = None


class ScheduleCollectionEvent(_EventBase):
    event: Literal["schedule_collection"]
    data: ScheduleCollectionData


class RecordCollectionEvent(_EventBase):
    event: Literal["record_collection"]
    data: RecordCollectionData


class ShipToManufacturingEvent(_EventBase):
    event: Literal["ship_to_manufacturing"]
    data: ShipData


class ReceiveAtManufacturingEvent(_EventBase):
    event: Literal["receive_at_manufacturing"]
    data: ReceiveData


class StartManufacturingEvent(_EventBase):
    event: Literal["start_manufacturing"]
    data: UnitScanData


class RecordProcessStepEvent(_EventBase):
    event: Literal["record_process_step"]
    data: ProcessStepData


class CompleteManufacturingEvent(_EventBase):
    event: Literal["complete_manufacturing"]
    data: CompleteManufacturingData


class RecordQcResultEvent(_EventBase):
    event: Literal["record_qc_result"]
    data: QcResultData


class ReleaseEvent(_EventBase):
    event: Literal["release"]
    data: EmptyData


class ReportOutOfSpecEvent(_EventBase):
    event: Literal["report_out_of_spec"]
    data: ReasonData


class DecideOutOfSpecEvent(_EventBase):
    event: Literal["decide_out_of_spec"]
    data: OutOfSpecDecisionData


class ShipToTreatmentCenterEvent(_EventBase):
    event: Literal["ship_to_treatment_center"]
    data: ShipToTreatmentData


class ReceiveAtTreatmentCenterEvent(_EventBase):
    event: Literal["receive_at_treatment_center"]
    data: ReceiveTreatmentData


class StartLymphodepletionEvent(_EventBase):
    event: Literal["start_lymphodepletion"]
    data: StartLdData


class CompleteLymphodepletionEvent(_EventBase):
    event: Literal["complete_lymphodepletion"]
    data: CompleteLdData


class ThawEvent(_EventBase):
    event: Literal["thaw"]
    data: ThawData


class InfuseEvent(_EventBase):
    event: Literal["infuse"]
    data: InfuseData


class RecordMonitoringCheckEvent(_EventBase):
    event: Literal["record_monitoring_check"]
    data: MonitoringData


class CompleteEvent(_EventBase):
    event: Literal["complete"]
    data: CompleteData


class HoldEvent(_EventBase):
    event: Literal["hold"]
    data: ReasonData


class ResumeEvent(_EventBase):
    event: Literal["resume"]
    data: ReasonData


class CancelEvent(_EventBase):
    event: Literal["cancel"]
    data: ReasonData


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
    "complete": CompleteData,
    "hold": ReasonData,
    "resume": ReasonData,
    "cancel": ReasonData,
}
EventIn = Annotated[
    ScheduleCollectionEvent
    | RecordCollectionEvent
    | ShipToManufacturingEvent
    | ReceiveAtManufacturingEvent
    | StartManufacturingEvent
    | RecordProcessStepEvent
    | CompleteManufacturingEvent
    | RecordQcResultEvent
    | ReleaseEvent
    | ReportOutOfSpecEvent
    | DecideOutOfSpecEvent
    | ShipToTreatmentCenterEvent
    | ReceiveAtTreatmentCenterEvent
    | StartLymphodepletionEvent
    | CompleteLymphodepletionEvent
    | ThawEvent
    | InfuseEvent
    | RecordMonitoringCheckEvent
    | CompleteEvent
    | HoldEvent
    | ResumeEvent
    | CancelEvent,
    Field(discriminator="event"),
]

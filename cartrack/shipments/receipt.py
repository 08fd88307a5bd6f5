"""The signed receipt check, after the receive event has scanned every unit in (a unit
mismatch stops the shipment there, as before): package, seal, shipper and logger serials,
logger stopped, transit time within the profile's limit (precomputed). Every item passing
accepts the shipment; a failed item rejects it, unless QA signs it off as accepted with a
deviation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from cartrack import clock
from cartrack.alerts.raising import create_alert
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden
from cartrack.journey.events import SignatureIn
from cartrack.journey.models import Case
from cartrack.security import Principal
from cartrack.shipments import service
from cartrack.shipments.models import Direction, ReceiptOutcome, Shipment, ShipmentStatus
from cartrack.users import service as users
from cartrack.users.models import Role

Serial = Annotated[str, StringConstraints(min_length=1, max_length=40,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_intact: bool
    seal_intact: bool = Field(description="ignored when the shipment left without a seal")
    seal_id: Serial | None = Field(default=None, description="the seal scanned on arrival")
    shipper_serial: Serial | None = Field(default=None, description="scanned on arrival")
    logger_serial: Serial | None = Field(default=None, description="scanned on arrival")
    logger_stopped: bool = Field(description="ignored when the shipment had no logger")
    notes: Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] | None = None
    accept_deviation: bool = Field(default=False, description=(
        "QA only: accept the shipment although an item failed"))
    signature: SignatureIn


def checklist(shipment: Shipment, body: ReceiptIn, within_transit: bool) -> dict[str, bool]:
    return {
        "package_intact": body.package_intact,
        "seal_intact": body.seal_intact if shipment.seal_id else True,
        "seal_id_matches": shipment.seal_id is None or body.seal_id == shipment.seal_id,
        "shipper_serial_matches": (shipment.shipper_serial is None
                                   or body.shipper_serial == shipment.shipper_serial),
        "logger_serial_matches": (shipment.logger_serial is None
                                  or body.logger_serial == shipment.logger_serial),
        "logger_stopped": body.logger_stopped if shipment.logger_serial else True,
        "within_transit_limit": within_transit,
        # the receive event scanned every expected unit, and no other, or it did not happen
        "units_scanned_match": shipment.status == ShipmentStatus.received,
    }


def _check_receiver(actor: Principal, case: Case, shipment: Shipment) -> None:
    if shipment.direction == Direction.apheresis_to_manufacturing:
        role, site = Role.lab_tech, case.manufacturing_site_id
    else:
        role, site = Role.infusion_staff, case.treatment_site_id
    if not (actor.holds(role.value, site) or actor.holds(Role.qa.value,
                                                         case.manufacturing_site_id)):
        raise Forbidden(f"The receipt check is signed by {role.value} at the receiving site, "
                        "or by QA.", code="role_forbidden")


def record_receipt(session: Session, actor: Principal, shipment_id: int, body: ReceiptIn
                   ) -> Shipment:
    shipment = service.visible_shipment(session, actor, shipment_id)
    case = session.get(Case, shipment.case_id)
    assert case is not None
    _check_receiver(actor, case, shipment)
    if shipment.receipt is not None:
        raise Conflict(f"Shipment {shipment_id}'s receipt check is already signed "
                       f"({shipment.receipt.value}).", code="receipt_recorded")
    if shipment.status != ShipmentStatus.received:
        raise Conflict("Receive the shipment's units at the scan station first; the check "
                       "follows the receipt.", code="shipment_not_received")
    profile = service.profile_of(session, shipment)
    handed, received = clock.as_utc(shipment.handed_over_at), service.received_at_or_none(
        shipment)
    hours = ((received or clock.now()) - handed).total_seconds() / 3600
    items = checklist(shipment, body, hours <= profile.max_transit_hours)
    failed = [k for k, ok in items.items() if not ok]
    if not failed:
        outcome = ReceiptOutcome.accepted
    elif body.accept_deviation:
        if not actor.holds(Role.qa.value, case.manufacturing_site_id):
            raise Conflict("Accepting a shipment with a failed item needs QA's e-signature.",
                           code="qa_signature_required", context={"failed": failed})
        outcome = ReceiptOutcome.accepted_with_deviation
    else:
        outcome = ReceiptOutcome.rejected
    users.verify_signer(session, actor.user, body.signature.password)
    meaning = {ReceiptOutcome.accepted: "Receipt check: accepted",
               ReceiptOutcome.accepted_with_deviation: "Approval: accepted with deviation",
               ReceiptOutcome.rejected: "Receipt check: rejected"}[outcome]
    content: dict[str, Any] = {"shipment": shipment.id, "checklist": items, "failed": failed,
                               "transit_hours": round(hours, 2), "notes": body.notes,
                               "outcome": outcome.value}
    signature = audit.add_signature(
        session, user_id=actor.id, printed_name=actor.name, meaning=meaning,
        record_type="shipment_receipt", record_ref=f"shipment:{shipment.id}:receipt",
        content=content, case_id=case.id)
    shipment.receipt = outcome
    shipment.receipt_checklist = audit.jsonable(content)
    shipment.receipt_signature_id = signature.id
    session.add(shipment)
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="receipt_check",
                 entity="shipment", entity_id=shipment.id or 0, case_id=case.id,
                 new=content | {"signature_id": signature.id}, reason=body.notes)
    if outcome == ReceiptOutcome.rejected:
        create_alert(session, case.id, kind="shipment_rejected", severity="critical",
                     title=f"Shipment {shipment.id} rejected at receipt",
                     message=f"Case {case.coi}: the receipt check failed ("
                             + ", ".join(f.replace("_", " ") for f in failed)
                             + "). Quarantine the material; QA to decide.",
                     targets={(Role.qa.value, case.manufacturing_site_id),
                              (Role.coordinator.value, case.treatment_site_id)},
                     data={"shipment_id": shipment.id, "failed": failed})
    return shipment

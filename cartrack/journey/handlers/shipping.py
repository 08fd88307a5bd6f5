"""The shipment record a ship event opens and its receive event closes (shipments domain)."""

from __future__ import annotations

from cartrack.journey.context import Ctx
from cartrack.journey.events import ColdChainIn
from cartrack.journey.guards import dispatch_check
from cartrack.shipments import service as shipments
from cartrack.shipments.dispatch import RECEIVED_BY, SHIPPED_BY


def dispatch(ctx: Ctx, d: ColdChainIn) -> None:
    """The guards passed: record the shipment, its profile version and the shipper in use."""
    profile = dispatch_check(ctx, d).profile()
    shipment = shipments.open_shipment(
        ctx.session, ctx.actor, ctx.case, SHIPPED_BY[ctx.t.event], profile=profile,
        shipper_type=d.shipper_type, units=[u.unit_id for u in ctx.units],
        shipper_serial=d.shipper_serial, logger_serial=d.logger_serial, seal_id=d.seal_id,
        courier=d.courier, air_waybill=d.tracking_number)
    ctx.timeline.update(shipment_id=shipment.id, shipping_profile=profile.code,
                        shipping_profile_version=profile.version, shipper_serial=d.shipper_serial,
                        logger_serial=d.logger_serial, seal_id=d.seal_id)


def receive(ctx: Ctx) -> None:
    """The shipment is received; its shipper goes to quarantine until requalified."""
    shipment = shipments.close_shipment(ctx.session, ctx.actor, ctx.case,
                                        RECEIVED_BY[ctx.t.event])
    if shipment is not None:
        ctx.timeline["shipment_id"] = shipment.id

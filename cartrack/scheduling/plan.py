"""The plan a booking derives from its product's lead times: a pure function of the slot day,
the buffer and the rules, so it can be checked against dates computed by hand."""

from __future__ import annotations

from datetime import date, timedelta

from cartrack.protocols.models import ProtocolData
from cartrack.scheduling.models import PlanOut


def binding(rules: ProtocolData) -> str:
    """Fresh apheresis is collected for its slot; cryopreserved apheresis is decoupled."""
    return "fresh_bound" if rules.apheresis_fresh else "cryo_decoupled"


def derive(rules: ProtocolData, start: date, buffer_days: int, rule_version: int) -> PlanOut:
    """All dates are facility-local calendar days.

    receipt = start - receipt_to_start; apheresis = receipt - apheresis_to_receipt (for a
    cryopreserved product, the latest day its apheresis may be collected);
    release = start + manufacturing; delivery = release + release_to_delivery;
    infusion = delivery + buffer; LD ends infusion_min_days_after_ld before infusion and
    starts ld_days - 1 before its end."""
    receipt = start - timedelta(days=rules.receipt_to_start_days)
    apheresis = receipt - timedelta(days=rules.apheresis_to_receipt_days)
    release = start + timedelta(days=rules.manufacturing_days)
    delivery = release + timedelta(days=rules.release_to_delivery_days)
    infusion = delivery + timedelta(days=buffer_days)
    ld_end = infusion - timedelta(days=rules.infusion_min_days_after_ld)
    ld_start = ld_end - timedelta(days=rules.ld_days - 1)
    return PlanOut(binding=binding(rules), apheresis=apheresis, receipt=receipt,
                   manufacturing_start=start, release=release, delivery=delivery,
                   ld_start=ld_start, ld_end=ld_end, infusion=infusion,
                   vein_to_vein_days=(infusion - apheresis).days, rule_version=rule_version)

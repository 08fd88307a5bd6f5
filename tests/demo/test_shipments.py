"""The demo's cold chain: today's shipments tracked, those in transit with logger data, and
one product shipment's excursion waiting for QA (blocking its thaw)."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from cartrack.alerts.models import Alert
from cartrack.db import new_session
from cartrack.shipments.models import Excursion, Shipment, TemperatureReading

pytestmark = pytest.mark.xdist_group("demo")


def test_the_demo_has_shipments_in_transit_with_logger_data_and_an_excursion_for_qa(
        demo_url: str) -> None:
    with new_session(read_only=True) as s:
        tracked = s.exec(select(Shipment).where(col(Shipment.shipper_serial).is_not(None))).all()
        in_transit = [sh for sh in tracked if sh.status == "in_transit"]
        assert {sh.direction for sh in in_transit} == {"apheresis_to_manufacturing",
                                                       "product_to_treatment_center"}
        for shipment in in_transit:
            readings = s.exec(select(TemperatureReading.id).where(
                TemperatureReading.shipment_id == shipment.id)).all()
            assert len(readings) >= 20
        [excursion] = s.exec(select(Excursion)).all()
        assert excursion.disposition == "pending_qa"
        shipment = s.get(Shipment, excursion.shipment_id)
        assert shipment is not None and shipment.direction == "product_to_treatment_center"
        alerts = s.exec(select(Alert).where(Alert.kind == "shipment_excursion")).all()
        assert [a.case_id for a in alerts] == [shipment.case_id]

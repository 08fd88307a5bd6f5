"""Cold-chain helpers: catalog entries through the API, tracked ship events, readings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from cartrack import clock
from tests.helpers.journey import Journey


def today() -> date:
    return clock.now().date()


def add_shipper(j: Journey, serial: str, profile: str = "ln2_vapour", *,
                qualified_days: int = 30, status: str = "available",
                role: str = "lab_tech") -> dict[str, Any]:
    r = j.client.post("/api/shippers", headers=j.auth[role], json={
        "serial": serial, "model": "CXVC1 dry shipper" if profile == "ln2_vapour" else "CF-45",
        "profile_code": profile, "nominal_hold_hours": 240,
        "qualified_until": (today() + timedelta(days=qualified_days)).isoformat(),
        "status": status})
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_logger(j: Journey, serial: str, *, sensor_min: float = -200, sensor_max: float = 50,
               calibrated_days: int = 180, role: str = "lab_tech") -> dict[str, Any]:
    r = j.client.post("/api/loggers", headers=j.auth[role], json={
        "serial": serial, "model": "cryo thermocouple logger",
        "calibrated_until": (today() + timedelta(days=calibrated_days)).isoformat(),
        "sensor_min_c": sensor_min, "sensor_max_c": sensor_max})
    assert r.status_code == 201, r.text
    return dict(r.json())


def product_ship_data(j: Journey, cid: int, **cold: Any) -> dict[str, Any]:
    return {"scans": j.typed(cid, "product", "lab_tech"), "shipper_type": "LN2 dry shipper",
            "courier": "World Courier", "tracking_number": "AWB-176-12345675", **cold}


def apheresis_ship_data(j: Journey, cid: int, **cold: Any) -> dict[str, Any]:
    return {"scans": j.typed(cid, "apheresis"), "shipper_type": "2-8 °C shipper", **cold}


def ship_product(j: Journey, cid: int, shipper: str = "DS-1", logger: str = "LG-1",
                 seal: str | None = "SEAL-1") -> Any:
    cold: dict[str, Any] = {"shipper_serial": shipper, "logger_serial": logger}
    if seal:
        cold["seal_id"] = seal
    return j.event("lab_tech", cid, "ship_to_treatment_center", product_ship_data(j, cid, **cold))


def shipments_of(j: Journey, cid: int, direction: str = "product_to_treatment_center",
                 role: str = "coordinator") -> list[dict[str, Any]]:
    r = j.client.get(f"/api/shipments?case_id={cid}&direction={direction}", headers=j.auth[role])
    assert r.status_code == 200, r.text
    return list(r.json())


def csv_of(serial: str, start: datetime, temps: list[float], every: int = 15) -> str:
    lines = ["logger_serial,timestamp,temp_c"]
    for i, t in enumerate(temps):
        at = start + timedelta(minutes=every * i)
        lines.append(f"{serial},{at.isoformat().replace('+00:00', 'Z')},{t}")
    return "\n".join(lines) + "\n"


def post_csv(j: Journey, shipment_id: int, text: str, role: str = "lab_tech",
             tz: str | None = None) -> Any:
    path = f"/api/shipments/{shipment_id}/readings" + (f"?tz={tz}" if tz else "")
    return j.client.post(path, content=text.encode(),
                         headers={**j.auth[role], "Content-Type": "text/csv"})

"""Driving cases through the API, as the roles would."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pypdfium2 as pdfium
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from cartrack import clock
from cartrack.identity.identifiers import printed_unit
from tests.helpers.constants import PASSWORD

QC_PASS = [("sterility", "No growth"), ("mycoplasma", "Not detected"), ("endotoxin", "<0.5"),
           ("viability", "92 %"), ("car_expression", "45 %"), ("vcn", "1.7")]


class Journey:
    def __init__(self, client: TestClient, auth: dict[str, dict[str, str]]) -> None:
        self.client, self.auth = client, auth

    def enroll(self, product: str = "yescarta", *, mrn: str = "MRN-1",
               collection_site: str = "TC-CITY", as_role: str = "coordinator") -> dict[str, Any]:
        r = self.client.post("/api/cases", headers=self.auth[as_role], json={
            "patient": {"given_name": "Test", "family_name": "Patient",
                        "date_of_birth": "1960-01-01", "mrn": mrn},
            "product": product, "collection_site": collection_site,
            "manufacturing_site": "MF-EAST", "treatment_site": "TC-CITY"})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def event(self, role: str, case_id: int, event: str, data: dict[str, Any] | None = None,
              *, sign: bool = False, password: str = PASSWORD, **extra: Any) -> Any:
        body: dict[str, Any] = {"event": event, "data": data or {}, **extra}
        if sign:
            body["signature"] = {"password": password}
        return self.client.post(f"/api/cases/{case_id}/events", headers=self.auth[role],
                                json=body)

    def ok(self, role: str, case_id: int, event: str, data: dict[str, Any] | None = None,
           **kw: Any) -> dict[str, Any]:
        r = self.event(role, case_id, event, data, **kw)
        assert r.status_code == 200, f"{event}: {r.status_code} {r.text}"
        return dict(r.json())

    def case(self, case_id: int, role: str = "coordinator") -> dict[str, Any]:
        r = self.client.get(f"/api/cases/{case_id}", headers=self.auth[role])
        assert r.status_code == 200, r.text
        return dict(r.json())

    def typed(self, case_id: int, kind: str, role: str = "coordinator") -> list[str]:
        """Unit IDs as a person types them: the 15 characters and the check character."""
        units = self.case(case_id, role)["units"]
        out = []
        for u in units:
            if u["kind"] == kind and u["status"] not in ("discarded", "consumed"):
                p = printed_unit(u["unit_id"])
                out.append(p.value + p.check)
        return out

    # -- advancing a case step by step ------------------------------------------------

    def to(self, case_id: int, state: str) -> dict[str, Any]:
        """Advance along the product track from wherever the case is to ``state``."""
        detail = self.case(case_id)
        start = next(i for i, (reached, _) in enumerate(STEPS) if reached == detail["state"])
        for reached, step in STEPS[start + 1:]:
            if detail["state"] == state:
                break
            detail = step(self, case_id)
            assert detail["state"] == reached, (reached, detail["state"])
        assert detail["state"] == state, detail["state"]
        return detail


def _now() -> datetime:
    return clock.now()


STEPS: list[tuple[str, Any]] = [
    ("enrolled", None),
    ("collection_scheduled", lambda j, c: j.ok("coordinator", c, "schedule_collection", {
        "collection_date": (_now() + timedelta(days=1)).date().isoformat(),
        "manufacturing_slot": "slot 1"})),
    ("collected", lambda j, c: j.ok("collection_staff", c, "record_collection", {
        "collection_end": (_now() - timedelta(minutes=30)).isoformat(),
        "units": [{"volume_ml": 200, "anticoagulant": "ACD-A"}, {"volume_ml": 180}]})),
    ("shipped_to_manufacturing", lambda j, c: j.ok("collection_staff", c, "ship_to_manufacturing", {
        "scans": j.typed(c, "apheresis"), "shipper_type": "2-8 C shipper",
        "courier": "MedCourier", "tracking_number": "T1"})),
    ("received_at_manufacturing", lambda j, c: j.ok("lab_tech", c, "receive_at_manufacturing", {
        "scans": j.typed(c, "apheresis", "lab_tech"), "shipper_temperature_c": 5.0,
        "storage_location": "fridge 1"})),
    ("manufacturing", lambda j, c: j.ok("lab_tech", c, "start_manufacturing",
                                {"scan": j.typed(c, "apheresis", "lab_tech")[0]})),
    ("manufacturing", lambda j, c: [j.ok("lab_tech", c, "record_process_step",
                                 {"step": s, "scan": j.typed(c, "apheresis", "lab_tech")[0]})
                            for s in ("activation", "transduction", "expansion", "harvest",
                                      "formulation")][-1]),
    ("qc_pending", lambda j, c: j.ok("lab_tech", c, "complete_manufacturing", {
        "scan": j.typed(c, "apheresis", "lab_tech")[0],
        "bags": [{"volume_ml": 68, "cell_dose": 2.0e8}],
        "cryopreserved_at": _now().isoformat()})),
    ("qc_pending", lambda j, c: [j.ok("lab_tech", c, "record_qc_result",
                              {"test": t, "value": v, "passed": True}) for t, v in QC_PASS][-1]),
    ("released", lambda j, c: j.ok("qa", c, "release", {}, sign=True)),
    ("shipped_to_treatment_center", lambda j, c: j.ok("lab_tech", c, "ship_to_treatment_center", {
        "scans": j.typed(c, "product", "lab_tech"), "shipper_type": "LN2 dry shipper"})),
    ("received_at_treatment_center", lambda j, c: j.ok("infusion_staff", c, "receive_at_treatment_center", {
        "scans": j.typed(c, "product", "infusion_staff"), "shipper_temperature_c": -180,
        "storage_location": "LN2 tank A"})),
]


def read_qr_image(image: Image.Image) -> str:
    """The one QR code in an image, read by an independent decoder (zxing-cpp)."""
    found = zxingcpp.read_barcodes(image,
                                   formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert len(found) == 1, f"expected one QR code, read {len(found)}"
    return str(found[0].text)


def read_qr(image_bytes: bytes) -> str:
    """The one QR code in a PNG."""
    return read_qr_image(Image.open(io.BytesIO(image_bytes)))


def pdf_pages(pdf: bytes, dpi: int = 300) -> list[Image.Image]:
    """Every page of a PDF, rasterised by PDFium."""
    return [page.render(scale=dpi / 72).to_pil() for page in pdfium.PdfDocument(pdf)]


def print_label(client: TestClient, headers: dict[str, str], path: str, **options: Any) -> Any:
    """POST a print request (printing records a print, so it is never a GET)."""
    return client.post(path, json=options, headers=headers)


class SignedJourney(Journey):
    """A journey whose every scan is a real label: printed through the API (a PDF on the
    smallest stock, where a bag's label comes with its tag), its first page read back with
    zxing-cpp, and the decoded signed payload sent as the scan."""

    def __init__(self, client: TestClient, auth: dict[str, dict[str, str]],
                 size: str = "2x1in") -> None:
        super().__init__(client, auth)
        self.size = size
        self.payloads: dict[str, str] = {}

    def typed(self, case_id: int, kind: str, role: str = "coordinator") -> list[str]:
        """The scans the STEPS send: here the signed payloads of the bags' printed labels."""
        units = self.case(case_id, role)["units"]
        return [self.unit_payload(u["unit_id"], role) for u in units
                if u["kind"] == kind and u["status"] not in ("discarded", "consumed")]

    def unit_payload(self, unit_id: str, role: str = "coordinator") -> str:
        if unit_id not in self.payloads:
            pdf = self._print(f"/api/units/{unit_id}/label.pdf", role)
            self.payloads[unit_id] = read_qr_image(pdf_pages(pdf)[0])
        return self.payloads[unit_id]

    def wristband_payload(self, case_id: int, role: str = "infusion_staff") -> str:
        key = f"wristband:{case_id}"
        if key not in self.payloads:
            self.payloads[key] = read_qr(self._print(f"/api/cases/{case_id}/wristband.png", role))
        return self.payloads[key]

    def _print(self, path: str, role: str) -> bytes:
        r = print_label(self.client, self.auth[role], path, size=self.size)
        if r.status_code == 409 and r.json()["code"] == "reprint_reason_required":
            r = print_label(self.client, self.auth[role], path, size=self.size,
                            reprint_reason="label re-read for scanning")
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        return bytes(r.content)

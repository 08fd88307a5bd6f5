"""What a printed label says, read back from the PDF as an inspector or a nurse would: the
expiry equal to the storage-expiry deadline, the storage condition and warnings from the
catalog, the facility from the case, volume, dose, anticoagulant, transport condition and the
template version. Every catalog product gives its bags an expiry, and no label prints a blank
one. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from sqlmodel import select

from cartrack.clock import add_months as add_calendar_months
from cartrack.db import new_session
from cartrack.labels.models import LabelPrint
from cartrack.protocols.models import Protocol, ProtocolData
from cartrack.protocols.service import product_expiry, shipped_catalog
from cartrack.units.models import Unit
from cartrack.users.models import Site
from tests.helpers.journey import Journey

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with line breaks and runs of spaces made single spaces."""
    return [" ".join(page.get_textpage().get_text_range().split())
            for page in pdfium.PdfDocument(pdf)]


def post_label(client: Any, auth: Any, path: str, role: str = "coordinator", **options: Any
               ) -> Any:
    r = client.post(path, json=options, headers=auth[role])
    assert r.status_code == 200, r.text
    return r


def site(code: str) -> Site:
    with new_session() as s:
        return s.exec(select(Site).where(Site.code == code)).one()


def catalog(client: Any, auth: Any, product: str) -> ProtocolData:
    rows = client.get("/api/protocols", params={"product": product},
                      headers=auth["coordinator"]).json()
    return ProtocolData.model_validate(next(p for p in rows if p["current"])["data"])


def local(moment: str, tz: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def product_case(client: Any, auth: Any, product: str = "carvykti") -> tuple[Journey, dict[str, Any]]:
    j = Journey(client, auth)
    case = j.enroll(product)
    return j, j.to(case["id"], "qc_pending")


def test_a_product_bag_label_says_what_a_nurse_and_an_inspector_need(
        client: Any, auth: Any, frozen: Any, backend: str) -> None:
    _, case = product_case(client, auth, "carvykti")
    (bag,) = [u for u in case["units"] if u["kind"] == "product"]
    (expiry,) = [d for d in case["deadlines"] if d["kind"] == "storage_expiry"]
    assert bag["expires_at"] == expiry["due_at"], "the bag expires when its deadline falls"
    rules = catalog(client, auth, "carvykti")
    factory = site("MF-EAST")
    pdf = post_label(client, auth, f"/api/units/{bag['unit_id']}/label.pdf").content
    (text,) = page_texts(pdf)
    expected = [
        "FOR AUTOLOGOUS USE ONLY", "Carvykti (ciltacabtagene autoleucel)", "Rx only",
        f"COI {case['coi']} {case['coi_check']}",
        f"UNIT {bag['unit_id']} {bag['unit_id_check']}",
        "PATIENT, Test", "DOB 1960-01-01",
        f"EXP {local(expiry['due_at'], factory.timezone)}",
        f"Frozen {local(case['milestones']['manufactured_at'], factory.timezone)}",
        rules.storage_condition,
        "Volume 68 mL", "Dose 2.0 x 10^8 CAR+ viable T cells",
        f"Made at {factory.name} (FIN {factory.fin})",
        f"Manufacturer {rules.manufacturer}",
        *(f"! {w}" for w in rules.warnings),
        "Label template product v1",
    ]
    for words in expected:
        assert words in text, f"{words!r} not on the label: {text}"
    # Frozen 2026-06-01 14:00 UTC, Carvykti's 6-month rule: 1 December, 09:00 in New York.
    assert "EXP 2026-12-01 09:00 EST" in text
    assert "Do NOT use a leukodepleting filter" in rules.warnings
    assert rules.storage_condition == "Store in vapour phase of liquid nitrogen at or below -120 °C"
    report = client.get(f"/api/cases/{case['id']}/custody.csv", headers=auth["coordinator"])
    assert "68 mL; 2.0 x 10^8 CAR+ viable T cells" in report.text
    assert f"expires {datetime.fromisoformat(expiry['due_at']).isoformat(timespec='seconds')}" \
        in report.text
    assert "template product v1" in report.text
    if backend == "sqlite":  # the README shows this label, as printed in the test run
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page = pdfium.PdfDocument(pdf)[0]
        page.render(scale=200 / 72).to_pil().save(SCREENSHOTS / "product-label-4x4in.png")


def test_on_2x1in_the_label_keeps_the_essentials_and_its_tag_the_rest(
        client: Any, auth: Any, frozen: Any) -> None:
    _, case = product_case(client, auth, "abecma")
    (bag,) = [u for u in case["units"] if u["kind"] == "product"]
    rules = catalog(client, auth, "abecma")
    pdf = post_label(client, auth, f"/api/units/{bag['unit_id']}/label.pdf",
                     size="2x1in").content
    label, *tag = page_texts(pdf)
    assert tag, "the 2x1in label comes with its tag"
    (expiry,) = [d for d in case["deadlines"] if d["kind"] == "storage_expiry"]
    for words in ("FOR AUTOLOGOUS USE ONLY", f"COI {case['coi']}", f"UNIT {bag['unit_id']}",
                  f"EXP {local(expiry['due_at'], 'America/New_York')}", "PATIENT, Test",
                  "See attached tag", "Label template product v1"):
        assert words in label
    tag_text = " ".join(tag)
    for words in (rules.storage_condition, *rules.warnings, "Rx only", "Volume 68 mL",
                  f"TAG 1/{len(tag)} of UNIT {bag['unit_id']}", "Label template product v1"):
        assert words in tag_text
    assert rules.storage_condition not in label


def test_an_apheresis_label_names_the_collection_and_how_to_ship_it(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll("kymriah")
    case = j.to(case["id"], "collected")
    first, second = [u for u in case["units"] if u["kind"] == "apheresis"]
    rules = catalog(client, auth, "kymriah")
    clinic = site("TC-CITY")
    (text,) = page_texts(post_label(client, auth, f"/api/units/{first['unit_id']}/label.pdf")
                         .content)
    for words in ("FOR AUTOLOGOUS USE ONLY", "Not for direct infusion", "Apheresis collection",
                  f"Collected {local(first['collected_at'], clinic.timezone)}",
                  f"At {clinic.name} (FIN {clinic.fin})", "Volume 200 mL",
                  "Anticoagulant ACD-A", rules.apheresis_transport,
                  "Label template apheresis v1"):
        assert words in text, f"{words!r} not on the label: {text}"
    assert rules.apheresis_transport.startswith("Cryopreserved at the collection site")
    (other,) = page_texts(post_label(client, auth, f"/api/units/{second['unit_id']}/label.pdf")
                          .content)
    assert "Volume 180 mL" in other and "Anticoagulant" not in other, "none was recorded"


def test_every_catalog_product_gives_its_bags_an_expiry() -> None:
    frozen_at = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)
    for entry in shipped_catalog():
        months = entry.data.storage_months
        assert months, f"{entry.product} has no storage rule"
        expiry = product_expiry(entry.data, frozen_at)
        assert expiry > frozen_at and expiry == add_calendar_months(frozen_at, months)
        assert entry.data.storage_condition and entry.data.apheresis_transport
        assert entry.data.manufacturer
        assert "Do NOT use a leukodepleting filter" in entry.data.warnings
    by_product = {e.product: e for e in shipped_catalog()}
    # What no source here confirms is flagged, as the windows are.
    assert "storage_condition" not in by_product["tecartus"].unconfirmed
    for product in ("breyanzi", "carvykti", "kymriah"):
        assert {"storage_months", "storage_condition", "warnings"} <= set(
            by_product[product].unconfirmed), product


@pytest.mark.parametrize(("start", "months", "expected"), [
    (datetime(2026, 1, 31, 15, 0, tzinfo=UTC), 1, datetime(2026, 2, 28, 15, 0, tzinfo=UTC)),
    (datetime(2028, 1, 31, 15, 0, tzinfo=UTC), 1, datetime(2028, 2, 29, 15, 0, tzinfo=UTC)),
    (datetime(2028, 2, 29, 8, 30, tzinfo=UTC), 12, datetime(2029, 2, 28, 8, 30, tzinfo=UTC)),
    (datetime(2100, 1, 31, 0, 0, tzinfo=UTC), 1, datetime(2100, 2, 28, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), 3, datetime(2027, 2, 28, 23, 59, tzinfo=UTC)),
    (datetime(2026, 6, 1, 14, 0, tzinfo=UTC), 6, datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
])
def test_calendar_months(start: datetime, months: int, expected: datetime) -> None:
    assert add_calendar_months(start, months) == expected


def test_a_product_version_without_label_content_is_not_published(client: Any, auth: Any) -> None:
    current = client.get("/api/protocols", params={"product": "carvykti"},
                         headers=auth["admin"]).json()[-1]
    for missing in ("storage_months", "storage_condition", "apheresis_transport"):
        data = current["data"] | {missing: None if missing == "storage_months" else ""}
        r = client.post("/api/protocols", headers=auth["admin"], json={
            "product": "carvykti", "name": current["name"], "data": data,
            "source": "test", "unconfirmed": []})
        assert r.status_code == 422 and missing in r.text, missing
    too_many = current["data"] | {"warnings": [f"warning {i}" for i in range(7)]}
    r = client.post("/api/protocols", headers=auth["admin"], json={
        "product": "carvykti", "name": current["name"], "data": too_many, "source": "test"})
    assert r.status_code == 422


def test_no_label_prints_a_blank_expiry(client: Any, auth: Any) -> None:
    j = Journey(client, auth)
    case = j.enroll("yescarta")
    cid = case["id"]
    j.to(cid, "manufacturing")
    # Before complete_manufacturing there are no product bags: the sheet has none to print.
    sheet = post_label(client, auth, f"/api/cases/{cid}/labels.pdf")
    assert "product" not in sheet.headers["x-label-template-versions"]
    case = j.to(cid, "qc_pending")
    (bag,) = [u for u in case["units"] if u["kind"] == "product"]
    assert bag["expires_at"] is not None
    # A bag without an expiry (as from before every product had a storage rule) is refused.
    with new_session() as s:
        unit = s.exec(select(Unit).where(Unit.unit_id == bag["unit_id"])).one()
        unit.expires_at = None
        s.add(unit)
        s.commit()
    r = client.post(f"/api/units/{bag['unit_id']}/label.pdf", json={},
                    headers=auth["lab_tech"])
    assert r.status_code == 409 and r.json()["code"] == "no_expiry"
    with new_session() as s:
        assert not s.exec(select(LabelPrint).where(LabelPrint.label_id == bag["unit_id"])).all()


def test_a_protocol_version_without_a_storage_rule_makes_no_bags(client: Any, auth: Any) -> None:
    """Such a version can only predate the rule (publishing one is refused): completing
    manufacturing under it is refused rather than making bags without an expiry."""
    with new_session() as s:
        old = s.exec(select(Protocol).where(Protocol.product == "yescarta")).one()
        data = dict(old.data, storage_months=None)
        s.add(Protocol(product="legacy", version=1, name="Legacy product", data=data,
                       source="before storage rules", unconfirmed=[],
                       published_at=old.published_at, published_by="test"))
        s.commit()
    j = Journey(client, auth)
    case = j.enroll("legacy")
    cid = case["id"]
    j.to(cid, "manufacturing")
    for step in ("activation", "transduction", "expansion", "harvest", "formulation"):
        j.ok("lab_tech", cid, "record_process_step",
             {"step": step, "scan": j.typed(cid, "apheresis", "lab_tech")[0]})
    r = j.event("lab_tech", cid, "complete_manufacturing", {
        "scan": j.typed(cid, "apheresis", "lab_tech")[0], "bags": [{"volume_ml": 68}],
        "cryopreserved_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 409 and r.json()["code"] == "no_storage_rule"
    after = j.case(cid)
    assert after["state"] == "manufacturing"
    assert [u for u in after["units"] if u["kind"] == "product"] == []

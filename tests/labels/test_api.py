"""Label printing through the API: every size and format read back by an independent decoder
and scanned as a match; printing is a POST (CSRF-checked, never cached) and every print is
recorded, a reprint needs a reason; patient details only where allowed; wristbands only for
clinical staff at the case's clinical sites; roles and sites; the CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlmodel import col, select
from typer.testing import CliRunner

from cartrack.audit.models import AuditEntry
from cartrack.cli import app as cli_app
from cartrack.db import new_session
from cartrack.identity.identifiers import printed_coi, printed_unit
from cartrack.labels.layout import LABEL_SIZES
from cartrack.labels.models import LabelPrint
from cartrack.settings import get_settings
from cartrack.users.models import MembershipIn, SiteIn, SiteKind, UserIn
from cartrack.users.service import create_site, create_user
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey, pdf_pages, read_qr, read_qr_image

# Smallest stock first: if anything fails to read, it is the small label.
SIZES = sorted(LABEL_SIZES, key=lambda s: LABEL_SIZES[s].width_mm * LABEL_SIZES[s].height_mm)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf))


def collected_case(client: Any, auth: Any) -> tuple[Journey, dict[str, Any]]:
    j = Journey(client, auth)
    case = j.enroll()
    j.to(case["id"], "collected")
    return j, j.case(case["id"])


def post_label(client: Any, auth: Any, path: str, role: str = "coordinator", **options: Any
               ) -> Any:
    return client.post(path, json=options, headers=auth[role])


def post_scan(client: Any, auth: Any, payload: str, role: str = "coordinator",
              action: str | None = None) -> dict[str, Any]:
    r = client.post("/api/scans", headers=auth[role], json={"payload": payload,
                                                            "action": action})
    assert r.status_code == 200, r.text
    return dict(r.json())


def print_records(**where: Any) -> list[LabelPrint]:
    with new_session() as s:
        query = select(LabelPrint).order_by(col(LabelPrint.id))
        for name, value in where.items():
            query = query.where(getattr(LabelPrint, name) == value)
        return list(s.exec(query).all())


def test_labels_at_every_size_decode_and_scan_as_a_match(client: Any, auth: Any) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    targets = [(f"/api/units/{unit}/label", "unit"), (f"/api/cases/{case['id']}/wristband",
                                                      "wristband")]
    for path, kind in targets:
        reason: dict[str, str] = {}
        for size in SIZES:
            pdf = post_label(client, auth, f"{path}.pdf", size=size, **reason)
            assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
            assert pdf.headers["cache-control"] == "no-store"
            reason = {"reprint_reason": f"test: next size after {size}"}
            pages = pdf_pages(pdf.content)
            decoded = {read_qr_image(pages[0])}
            png = post_label(client, auth, f"{path}.png", size=size, **reason)
            if len(pages) == 1:
                assert png.status_code == 200, png.text
                assert png.headers["content-type"] == "image/png"
                width, height = LABEL_SIZES[size]
                image = Image.open(io.BytesIO(png.content))
                assert image.size == (round(width / 25.4 * 300), round(height / 25.4 * 300))
                decoded.add(read_qr(png.content))
            else:  # a bag's label with its tag: one image cannot hold both
                assert png.status_code == 409 and png.json()["code"] == "label_has_tag"
            assert len(decoded) == 1, "the PNG and the PDF carry the same payload"
            answer = post_scan(client, auth, decoded.pop() + "\r\n")
            assert answer["verdict"] == "match" and answer["reason"] is None, answer
            assert answer["kind"] == kind and answer["case_id"] == case["id"]
            assert answer["coi"] == case["coi"] and answer["coi_check"] == case["coi_check"]
            if kind == "unit":
                assert answer["unit_id"] == unit
                assert answer["unit_id_check"] == printed_unit(unit).check
            else:
                assert answer["wristband_id"].startswith("W")


def test_svg_and_zpl_labels(client: Any, auth: Any) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    svg = post_label(client, auth, f"/api/units/{unit}/label.svg", role="collection_staff")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    texts = [t.text for t in ET.fromstring(svg.content).iter("{http://www.w3.org/2000/svg}text")]
    assert f"COI {case['coi']}" in texts and case["coi_check"] in texts
    zpl = post_label(client, auth, f"/api/units/{unit}/label.zpl", copies=3,
                     reprint_reason="second format for the thermal printer")
    assert zpl.status_code == 200
    body = zpl.text
    assert body.startswith("^XA") and "^BQN" in body and "^PQ3" in body
    payload = body.split("^FDMA,")[1].split("^FS")[0]
    assert post_scan(client, auth, payload)["verdict"] == "match"
    # On 2x1in the label comes with its tag: three copies are three label-and-tag pairs.
    small = post_label(client, auth, f"/api/units/{unit}/label.zpl", copies=3, size="2x1in",
                       reprint_reason="small stock")
    assert small.status_code == 200 and "^PQ" not in small.text
    blocks = small.text.count("^XA")
    assert blocks % 3 == 0 and blocks >= 6 and small.text.count("^BQN") == 3


def test_reprint_needs_a_reason_and_every_print_is_recorded(client: Any, auth: Any) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    typed = printed_unit(unit).value + printed_unit(unit).check
    first = post_label(client, auth, f"/api/units/{typed}/label.png", copies=2)
    assert first.status_code == 200
    again = post_label(client, auth, f"/api/units/{unit}/label.png", role="collection_staff")
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "reprint_reason_required"
    assert "reprint reason" in body["detail"] and "Cora Coordinator" in body["detail"]
    short = post_label(client, auth, f"/api/units/{unit}/label.png", reprint_reason=" x ")
    assert short.status_code == 422 and short.json()["code"] == "reprint_reason_too_short"
    ok = post_label(client, auth, f"/api/units/{unit}/label.pdf", role="collection_staff",
                    reprint_reason="Label smudged by condensation")
    assert ok.status_code == 200
    rows = print_records(label_id=unit)
    with new_session() as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.entity_id == unit,
                                                col(AuditEntry.action).startswith("label_"))
                       .order_by(col(AuditEntry.id))).all()
    assert [(r.printed_name, r.copies, r.format, r.reprint, r.reason) for r in rows] == [
        ("Cora Coordinator", 2, "png", False, None),
        ("Colin Collector", 1, "pdf", True, "Label smudged by condensation")]
    assert all(r.case_id == case["id"] and r.unit_pk is not None for r in rows)
    assert all(r.template_version == 1 for r in rows)
    assert ok.headers["x-label-print-ids"] == str(rows[1].id)
    assert [a.action for a in audit] == ["label_print", "label_reprint"]
    assert audit[1].reason == "Label smudged by condensation" and audit[1].new["copies"] == 1
    assert audit[1].new["template"] == "apheresis v1"
    # The report shows the prints, and which template version each used.
    report = client.get(f"/api/cases/{case['id']}/custody.csv", headers=auth["coordinator"])
    assert "Label smudged by condensation" in report.text
    assert "template apheresis v1" in report.text


def test_printing_is_a_post_that_needs_the_csrf_token(client: Any, auth: Any) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    # A GET prints nothing and records nothing.
    for path in (f"/api/units/{unit}/label.pdf", f"/api/cases/{case['id']}/labels.pdf",
                 f"/api/cases/{case['id']}/wristband.png"):
        assert client.get(path, headers=auth["coordinator"]).status_code in (404, 405)
    assert print_records() == []
    # A browser session (cookie) must send its CSRF token with the POST.
    login = client.post("/api/auth/login", json={"username": "coordinator",
                                                 "password": PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    refused = client.post(f"/api/units/{unit}/label.pdf", json={})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert print_records() == []
    ok = client.post(f"/api/units/{unit}/label.pdf", json={}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    assert [r.printed_name for r in print_records()] == ["Cora Coordinator"]
    # Every option has a bound; unknown options are refused.
    client.cookies.clear()
    odd = post_label(client, auth, f"/api/units/{unit}/label.pdf", colour="red")
    assert odd.status_code == 422


def test_case_sheet_holds_every_active_label_and_the_wristband(client: Any, auth: Any) -> None:
    _, case = collected_case(client, auth)
    r = post_label(client, auth, f"/api/cases/{case['id']}/labels.pdf", copies=2, size="4x2in")
    assert r.status_code == 200, r.text
    pages = pdf_pages(r.content)
    assert len(pages) == 2 * (1 + len(case["units"]))
    answers = [post_scan(client, auth, read_qr_image(page)) for page in pages[::2]]
    assert [a["kind"] for a in answers] == ["wristband", "unit", "unit"]
    assert all(a["verdict"] == "match" for a in answers)
    assert [a["unit_id"] for a in answers[1:]] == [u["unit_id"] for u in case["units"]]
    text = pdf_text(r.content)
    assert f"COI {case['coi']} {case['coi_check']}" in text
    assert "FOR AUTOLOGOUS USE ONLY" in text and "Patient wristband" in text
    assert r.headers["x-label-template-versions"] == "wristband:1,apheresis:1,apheresis:1"
    # Every label of the sheet was printed now: the sheet again needs a reason.
    again = post_label(client, auth, f"/api/cases/{case['id']}/labels.pdf")
    assert again.status_code == 409 and len(again.json()["context"]["printed_before"]) == 3
    zpl = post_label(client, auth, f"/api/cases/{case['id']}/labels.zpl",
                     reprint_reason="thermal printer copy")
    assert zpl.status_code == 200 and zpl.text.count("^XA") == 3


def test_patient_details_only_for_clinical_staff_and_when_configured(
        client: Any, auth: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    coordinator = pdf_text(post_label(client, auth, f"/api/units/{unit}/label.pdf").content)
    assert "PATIENT, Test" in coordinator and "DOB 1960-01-01" in coordinator
    assert "Apheresis collection" in coordinator and "Collected " in coordinator
    lab = post_label(client, auth, f"/api/units/{unit}/label.pdf", role="lab_tech",
                     reprint_reason="manufacturing copy")
    lab_text = pdf_text(lab.content)
    assert "PATIENT" not in lab_text and "1960" not in lab_text
    assert f"COI {case['coi']}" in lab_text
    monkeypatch.setenv("CARTRACK_SHOW_PATIENT_NAME_ON_LABEL", "false")
    get_settings.cache_clear()
    try:
        hidden = post_label(client, auth, f"/api/units/{unit}/label.pdf",
                            reprint_reason="name-free label")
        assert "PATIENT" not in pdf_text(hidden.content)
    finally:
        monkeypatch.delenv("CARTRACK_SHOW_PATIENT_NAME_ON_LABEL")
        get_settings.cache_clear()
    assert [r.with_patient for r in print_records(label_id=unit)] == [True, False, False]


def far_user(db_url: str) -> dict[str, str]:
    """A coordinator and infusion nurse of another treatment center, with its own case."""
    with new_session() as s:
        create_site(s, None, SiteIn(code="TC-FAR", name="Far Hospital", timezone="Europe/Paris",
                                    kinds=[SiteKind.treatment_center]))
        create_user(s, None, UserIn(username="far_staff", full_name="Far Staff",
                                    password="far-password-1",
                                    memberships=[MembershipIn(role="coordinator",
                                                              site_code="TC-FAR"),
                                                 MembershipIn(role="infusion_staff",
                                                              site_code="TC-FAR")]))
        s.commit()
    return bearer_for("far_staff")


def test_roles_and_sites_of_the_label_endpoints(client: Any, auth: Any, db_url: str) -> None:
    _, case = collected_case(client, auth)
    unit = case["units"][0]["unit_id"]
    cid = case["id"]
    paths = [f"/api/units/{unit}/label.png", f"/api/cases/{cid}/labels.pdf",
             f"/api/cases/{cid}/wristband.png"]
    for role in ("qa", "admin"):
        for path in paths:
            r = post_label(client, auth, path, role=role)
            assert r.status_code == 403 and r.json()["code"] == "role_forbidden", (role, path)
    far = far_user(db_url)
    for path in paths:
        r = client.post(path, json={}, headers=far)
        assert r.status_code == 404 and r.json()["code"] in ("unit_not_found", "case_not_found")
    for path in (f"/api/units/{unit}/custody", f"/api/cases/{cid}/custody.csv",
                 f"/api/cases/{cid}/custody.pdf"):
        r = client.get(path, headers=far)
        assert r.status_code == 404, (path, r.status_code, r.text)
    missing = post_label(client, auth, "/api/units/A99992699999901/label.png")
    assert missing.status_code == 404
    p = printed_unit(unit)
    wrong_k = "A" if p.check != "A" else "B"
    bad = post_label(client, auth, f"/api/units/{unit}{wrong_k}/label.png")
    # A check character that does not match names no unit; a malformed ID is not an ID at all.
    assert bad.status_code == 404 and bad.json()["code"] == "bad_check_character"
    malformed = post_label(client, auth, "/api/units/NOT-A-UNIT-ID-AT-ALL/label.png")
    assert malformed.status_code == 422 and malformed.json()["fields"][0]["field"] == "path.unit_id"
    odd = post_label(client, auth, f"/api/units/{unit}/label.png", size="A4")
    assert odd.status_code == 422 and odd.json()["fields"][0]["field"].endswith("size")
    assert "4x4in" in odd.json()["detail"]
    many = post_label(client, auth, f"/api/units/{unit}/label.png", copies=21)
    assert many.status_code == 422
    assert print_records() == [], "refused prints leave no print record"


def test_wristbands_only_by_clinical_staff_at_the_cases_clinical_sites(
        client: Any, auth: Any, db_url: str) -> None:
    _, case = collected_case(client, auth)
    cid = case["id"]
    band = f"/api/cases/{cid}/wristband.pdf"
    # Manufacturing staff see the case and print its bags, never the patient's wristband.
    lab = post_label(client, auth, band, role="lab_tech")
    assert lab.status_code == 403 and lab.json()["code"] == "wristband_forbidden"
    assert "collection or treatment site" in lab.json()["detail"]
    sheet = post_label(client, auth, f"/api/cases/{cid}/labels.pdf", role="lab_tech")
    assert sheet.status_code == 200
    assert [r.label_kind for r in print_records()] == ["apheresis", "apheresis"]
    # A nurse of another site who is also a lab tech at this case's facility: still refused.
    with new_session() as s:
        create_site(s, None, SiteIn(code="TC-OTHER", name="Other Hospital",
                                    kinds=[SiteKind.treatment_center]))
        create_user(s, None, UserIn(username="mixed", full_name="Mixed Roles",
                                    password="violet-harbour-lantern-42", memberships=[
                                        MembershipIn(role="lab_tech", site_code="MF-EAST"),
                                        MembershipIn(role="infusion_staff",
                                                     site_code="TC-OTHER")]))
        s.commit()
    mixed = client.post(band, json={}, headers=bearer_for("mixed"))
    assert mixed.status_code == 403 and mixed.json()["code"] == "wristband_forbidden"
    assert len(print_records()) == 2, "refused wristbands leave no print record"
    # Clinical staff of the collection site and of the treatment site may.
    collection = post_label(client, auth, band, role="collection_staff")
    assert collection.status_code == 200
    nurse = post_label(client, auth, f"/api/cases/{cid}/wristband.png", role="infusion_staff",
                       reprint_reason="band for the bedside")
    assert nurse.status_code == 200 and post_scan(client, auth, read_qr(nurse.content),
                                                  role="infusion_staff")["kind"] == "wristband"


def test_cli_prints_a_case_sheet(client: Any, auth: Any, tmp_path: Path) -> None:
    _, case = collected_case(client, auth)
    runner = CliRunner()
    out = tmp_path / "labels.pdf"
    result = runner.invoke(cli_app, ["labels", str(case["id"]), "--format", "pdf", "-o",
                                     str(out)], env=dict(os.environ))
    assert result.exit_code == 0, result.output
    assert len(pdfium.PdfDocument(out.read_bytes())) == 3
    coi = printed_coi(case["coi"])
    zpl = tmp_path / "labels.zpl"
    again = runner.invoke(cli_app, ["labels", coi.value + coi.check, "--format", "zpl", "-o",
                                    str(zpl)])
    assert again.exit_code == 1 and "reprint reason" in again.output
    ok = runner.invoke(cli_app, ["labels", coi.value, "--format", "zpl", "-o", str(zpl),
                                 "--reason", "printer jam", "--user", "lab_tech"])
    assert ok.exit_code == 0, ok.output
    # A lab tech's sheet holds the bags, not the wristband, and no patient details.
    assert zpl.read_text().count("^XA") == 2 and "PATIENT" not in zpl.read_text()
    rows = print_records()
    assert rows[0].printed_name.startswith("command line") and rows[0].user_id is None
    assert rows[-1].printed_name == "Lara Labtech" and rows[-1].reason == "printer jam"
    assert {r.label_kind for r in rows if r.printed_name == "Lara Labtech"} == {"apheresis"}


"""The shipment report as a PDF: the JSON report's header, summary and excursions in print,
the temperature chart with its limit band, the same visibility, and no patient details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pypdfium2 as pdfium
from sqlmodel import Session

from cartrack.audit.models import Signature
from cartrack.db import new_session
from cartrack.users.models import MembershipIn, SiteIn, SiteKind, UserIn
from cartrack.users.service import create_site, create_user
from tests.helpers.auth import bearer_for
from tests.helpers.journey import Journey
from tests.helpers.shipments import shipments_of
from tests.shipments.test_excursion_effects import dispose, product_with_excursion


def text_of(pdf: bytes) -> str:
    pages = pdfium.PdfDocument(pdf)
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in pages)


def when(iso: str) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")


def pdf_and_json(j: Journey, sid: int, role: str = "coordinator") -> tuple[str, dict[str, Any]]:
    r = j.client.get(f"/api/shipments/{sid}/report.pdf", headers=j.auth[role])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"%PDF")
    report = j.client.get(f"/api/shipments/{sid}/report", headers=j.auth[role]).json()
    return text_of(r.content), dict(report)


def test_the_pdf_prints_the_json_reports_header_summary_excursions_and_chart(
        client: Any, auth: Any, frozen: Any, session: Session) -> None:
    j = Journey(client, auth)
    cid, exc_id = product_with_excursion(j)
    assert dispose(j, exc_id, "acceptable").status_code == 200
    sid = shipments_of(j, cid)[0]["id"]
    text, report = pdf_and_json(j, sid)
    s = report["shipment"]
    # header: the COI with its check character, the sites, direction, profile and its source
    assert f"COI {report['coi']} {s['coi_check']}" in text
    for site in (report["collection_site"], report["manufacturing_site"],
                 report["treatment_site"]):
        assert site in text
    assert "product to treatment center" in text
    assert f"{s['profile']} v{s['profile_version']}" in text
    assert report["profile_source"][:60] in text
    assert s["air_waybill"] in text and "World Courier" in text
    # custody points
    assert len(report["custody"]) >= 1
    assert when(report["custody"][0]["at"]) in text and report["custody"][0]["by"] in text
    # the summary, as the JSON report has it
    m = s["summary"]
    assert f"Points {m['points']}" in text
    assert f"Minimum {m['min_c']:.1f} °C at {when(m['min_at'])}" in text
    assert f"Maximum {m['max_c']:.1f} °C at {when(m['max_at'])}" in text
    assert f"Mean {m['mean_c']:.2f} °C" in text
    assert m["mkt_c"] is None and "MKT not defined for this profile" in text  # LN2: no MKT
    assert f"Trip length {m['trip_minutes']:g} min" in text
    assert s["transit_hours"] is None
    assert f"Transit not received yet (limit {s['max_transit_hours']:g} h)" in text
    # the excursion row, and QA's disposition with who and when
    [exc] = s["excursions"]
    signer = session.get(Signature, exc["signature_id"])
    assert signer is not None
    row = (f"{exc['rule']} {when(exc['started_at'])} {when(exc['ended_at'])} "
           f"{exc['duration_minutes']:g} min {exc['extreme_c']:.1f} °C acceptable by "
           f"{signer.printed_name} at {when(exc['disposition_at'])}")
    assert row in text, text
    assert "Data gaps (0)" in text
    # the chart: its title, axis labels and limit band legend
    assert "Temperature chart" in text
    assert "Hours since handover" in text and "Temperature (°C)" in text
    assert f"limit band {s['low_c']:.1f} °C to {s['high_c']:.1f} °C" in text
    assert f"{len(report['readings'])} of {report['readings_total']} readings shown" in text
    # no patient details: the COI identifies the case
    for secret in ("Patient", "MRN-1", "1960-01-01", "Test Patient"):
        assert secret not in text


def test_a_received_shipment_prints_its_transit_hours_and_a_pending_excursion(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid, _ = product_with_excursion(j)
    sid = shipments_of(j, cid)[0]["id"]
    frozen.advance(hours=30)
    j.to(cid, "received_at_treatment_center")
    text, report = pdf_and_json(j, sid, role="qa")
    s = report["shipment"]
    [exc] = s["excursions"]
    assert f"{exc['extreme_c']:.1f} °C pending QA" in text
    assert s["transit_hours"] == 30 and s["within_transit_limit"] is True
    assert f"Transit 30 h, within the limit of {s['max_transit_hours']:g} h" in text
    assert [c["what"] for c in report["custody"]][-1] == "received"
    assert f"{when(report['custody'][-1]['at'])} received" in text


def test_another_sites_user_gets_404_and_no_credentials_401(client: Any, auth: Any,
                                                            frozen: Any) -> None:
    with new_session() as s:
        create_site(s, None, SiteIn(code="TC-FAR", name="Far Hospital", timezone="Europe/Paris",
                                    kinds=[SiteKind.treatment_center]))
        create_user(s, None, UserIn(username="far_coord", full_name="Far Coordinator",
                                    password="far-password-1",
                                    memberships=[MembershipIn(role="coordinator",
                                                              site_code="TC-FAR")]))
        s.commit()
    j = Journey(client, auth)
    cid, _ = product_with_excursion(j)
    sid = shipments_of(j, cid)[0]["id"]
    far = bearer_for("far_coord")
    r = client.get(f"/api/shipments/{sid}/report.pdf", headers=far)
    assert r.status_code == 404
    assert r.json() == client.get(f"/api/shipments/{sid}/report", headers=far).json()
    assert client.get(f"/api/shipments/{sid}/report.pdf").status_code == 401
    assert client.get("/api/shipments/999999/report.pdf",
                      headers=auth["coordinator"]).status_code == 404

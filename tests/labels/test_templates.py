"""Label templates under version control: a proposed version changes nothing that prints;
QA's e-signature puts it in effect, the next print uses it and records it, and the custody
report shows it. Refused: approval by a non-QA role, by the version's author, with a wrong
password, of a version not proposed or older than the one in effect; a template missing
required content, or one whose longest content does not fit a stock size. SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from cartrack.audit.models import AuditEntry, Signature
from cartrack.db import new_session
from cartrack.labels.models import LabelPrint, LabelTemplate
from cartrack.users.models import MembershipIn, UserIn
from cartrack.users.service import create_user
from tests.helpers.auth import bearer_for
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import Journey, pdf_pages, read_qr_image

NEW_STATEMENT = "Handle with care: living human cells"


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.get_textpage().get_text_range().split())
                    for p in pdfium.PdfDocument(pdf))


def templates(client: Any, auth: Any, kind: str) -> list[dict[str, Any]]:
    r = client.get("/api/label-templates", params={"kind": kind}, headers=auth["coordinator"])
    assert r.status_code == 200
    return list(r.json())


def in_effect(client: Any, auth: Any, kind: str) -> dict[str, Any]:
    (row,) = [t for t in templates(client, auth, kind) if t["in_effect"]]
    return row


def with_statement(spec: dict[str, Any], text: str) -> dict[str, Any]:
    lines = list(spec["lines"])
    at = next(i for i, line in enumerate(lines) if line["field"] == "template")
    lines.insert(at, {"field": "statement", "text": text, "bold": True, "on_tag": True})
    return {**spec, "lines": lines}


def propose(client: Any, auth: Any, kind: str, spec: dict[str, Any], role: str = "admin",
            headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/label-templates", headers=headers or auth[role],
                       json={"kind": kind, "spec": spec, "note": "Add a handling statement"})


def approve(client: Any, headers: dict[str, str], template_id: int,
            password: str = PASSWORD) -> Any:
    return client.post(f"/api/label-templates/{template_id}/approve", headers=headers,
                       json={"signature": {"password": password}})


def print_pdf(client: Any, auth: Any, unit_id: str, reason: str | None = None) -> Any:
    body = {"reprint_reason": reason} if reason else {}
    r = client.post(f"/api/units/{unit_id}/label.pdf", json=body, headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    return r


def collected(client: Any, auth: Any) -> dict[str, Any]:
    j = Journey(client, auth)
    case = j.enroll()
    return j.to(case["id"], "collected")


def test_a_template_change_prints_only_once_qa_has_signed_it(client: Any, auth: Any) -> None:
    case = collected(client, auth)
    unit = case["units"][0]["unit_id"]
    before = text_of(print_pdf(client, auth, unit).content)
    assert "Label template apheresis v1" in before and NEW_STATEMENT not in before
    v1 = in_effect(client, auth, "apheresis")
    assert v1["version"] == 1 and v1["approved_by"] == "Quinn Quality" and v1["signature_id"]

    proposed = propose(client, auth, "apheresis", with_statement(v1["spec"], NEW_STATEMENT))
    assert proposed.status_code == 201, proposed.text
    v2 = proposed.json()
    assert (v2["version"], v2["status"], v2["in_effect"]) == (2, "proposed", False)
    assert v2["proposed_by"] == "Ada Admin"
    # Not approved: what prints does not change, and the print records version 1.
    unchanged = text_of(print_pdf(client, auth, unit, "after a proposal").content)
    assert NEW_STATEMENT not in unchanged and "Label template apheresis v1" in unchanged

    # Refused approvals change nothing.
    lab = approve(client, auth["lab_tech"], v2["id"])
    assert lab.status_code == 403 and lab.json()["code"] == "role_forbidden"
    wrong = approve(client, auth["qa"], v2["id"], password="not-the-password")
    assert wrong.status_code == 403 and wrong.json()["code"] == "signature_failed"
    assert in_effect(client, auth, "apheresis")["version"] == 1

    signed = approve(client, auth["qa"], v2["id"])
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "approved" and signed.json()["approved_by"] == "Quinn Quality"
    versions = {t["version"]: t for t in templates(client, auth, "apheresis")}
    assert versions[1]["status"] == "superseded" and versions[1]["superseded_at"]
    assert versions[2]["in_effect"]

    after = print_pdf(client, auth, unit, "new template approved")
    text = text_of(after.content)
    assert NEW_STATEMENT in text and "Label template apheresis v2" in text
    assert after.headers["x-label-template-versions"] == "apheresis:2"
    with new_session() as s:
        prints = s.exec(select(LabelPrint).where(LabelPrint.label_id == unit)
                        .order_by(col(LabelPrint.id))).all()
        sig = s.get(Signature, signed.json()["signature_id"])
        actions = [a.action for a in s.exec(select(AuditEntry).where(
            AuditEntry.entity == "label_template").order_by(col(AuditEntry.id)))]
    assert [p.template_version for p in prints] == [1, 1, 2]
    assert sig is not None and sig.meaning == "Approved for use"
    assert sig.record_ref == "label_template:apheresis:v2" and sig.printed_name == "Quinn Quality"
    assert actions[-3:] == ["propose", "supersede", "approve"]
    # The custody report shows which template version each print used.
    csv = client.get(f"/api/cases/{case['id']}/custody.csv", headers=auth["coordinator"]).text
    assert csv.count("template apheresis v1") == 2 and csv.count("template apheresis v2") == 1
    pdf = client.get(f"/api/cases/{case['id']}/custody.pdf", headers=auth["coordinator"])
    assert "template apheresis v2" in text_of(pdf.content)

    again = approve(client, auth["qa"], v2["id"])
    assert again.status_code == 409 and again.json()["code"] == "template_not_proposed"
    old = approve(client, auth["qa"], v1["id"])
    assert old.status_code == 409 and old.json()["code"] == "template_not_proposed"


def test_the_author_of_a_version_cannot_approve_it(client: Any, auth: Any) -> None:
    v1 = in_effect(client, auth, "wristband")
    mine = propose(client, auth, "wristband", with_statement(v1["spec"], "Check before use"),
                   role="qa")
    assert mine.status_code == 201
    own = approve(client, auth["qa"], mine.json()["id"])
    assert own.status_code == 403 and own.json()["code"] == "self_approval"
    with new_session() as s:
        create_user(s, None, UserIn(username="qa2", full_name="Quentin Second",
                                    password="violet-harbour-lantern-42",
                                    memberships=[MembershipIn(role="qa", site_code="MF-EAST")]))
        s.commit()
    other = approve(client, bearer_for("qa2"), mine.json()["id"], password="violet-harbour-lantern-42")
    assert other.status_code == 200 and other.json()["approved_by"] == "Quentin Second"


def test_an_older_proposal_cannot_replace_a_newer_version(client: Any, auth: Any) -> None:
    v1 = in_effect(client, auth, "wristband")
    v2 = propose(client, auth, "wristband", with_statement(v1["spec"], "Two")).json()
    v3 = propose(client, auth, "wristband", with_statement(v1["spec"], "Three")).json()
    assert approve(client, auth["qa"], v3["id"]).status_code == 200
    stale = approve(client, auth["qa"], v2["id"])
    assert stale.status_code == 409 and stale.json()["code"] == "template_outdated"
    assert in_effect(client, auth, "wristband")["version"] == 3


def test_incomplete_or_overflowing_templates_are_refused(client: Any, auth: Any) -> None:
    spec = in_effect(client, auth, "product")["spec"]
    count = len(templates(client, auth, "product"))
    no_expiry = {**spec, "lines": [r for r in spec["lines"] if r["field"] != "expires"]}
    r = propose(client, auth, "product", no_expiry)
    assert r.status_code == 409 and r.json()["code"] == "template_incomplete"
    assert "expires" in r.json()["detail"]
    no_tag = {"tag_sizes": [], "lines": [dict(line, on_tag=False) for line in spec["lines"]]}
    r = propose(client, auth, "product", no_tag)
    assert r.status_code == 409 and r.json()["code"] == "template_overflow"
    assert "2x1in" in r.json()["context"]["sizes"]
    cut = {**spec, "lines": [dict(line, max_lines=1) if line["field"] == "warnings" else line
                             for line in spec["lines"]]}
    r = propose(client, auth, "product", cut)
    assert r.status_code == 409 and "never cut short" in r.text
    r = propose(client, auth, "product", spec, role="coordinator")
    assert r.status_code == 403
    r = propose(client, auth, "pallet", spec)
    assert r.status_code == 422
    assert len(templates(client, auth, "product")) == count, "nothing refused was stored"


def test_without_an_approved_template_nothing_prints(client: Any, auth: Any) -> None:
    case = collected(client, auth)
    with new_session() as s:
        row = s.exec(select(LabelTemplate).where(LabelTemplate.kind == "apheresis",
                                                 LabelTemplate.status == "approved")).one()
        row.status = "superseded"
        s.add(row)
        s.commit()
    r = client.post(f"/api/units/{case['units'][0]['unit_id']}/label.pdf", json={},
                    headers=auth["coordinator"])
    assert r.status_code == 409 and r.json()["code"] == "no_approved_template"
    assert "QA must approve" in r.json()["detail"]
    with new_session() as s:
        assert s.exec(select(LabelPrint)).all() == []


def test_a_specimen_shows_a_version_before_it_is_approved(client: Any, auth: Any) -> None:
    v1 = in_effect(client, auth, "product")
    v2 = propose(client, auth, "product", with_statement(v1["spec"], NEW_STATEMENT)).json()
    r = client.get(f"/api/label-templates/{v2['id']}/specimen.pdf", params={"size": "2x1in"},
                   headers=auth["coordinator"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = text_of(r.content)
    assert NEW_STATEMENT in text and "Label template product v2" in text and "SPECIMEN" in text
    pages = pdf_pages(r.content)
    assert len(pages) >= 2, "on 2x1in the product label comes with its tag"
    scan = client.post("/api/scans", headers=auth["coordinator"],
                       json={"payload": read_qr_image(pages[0])})
    assert scan.json()["verdict"] == "mismatch", "a specimen's QR never passes"
    bad = client.get(f"/api/label-templates/{v2['id']}/specimen.pdf", params={"size": "A4"},
                     headers=auth["coordinator"])
    assert bad.status_code == 422
    with new_session() as s:
        assert s.exec(select(LabelPrint)).all() == [], "a specimen is not a print"


def test_the_database_keeps_one_version_in_effect_per_kind(client: Any, auth: Any) -> None:
    """Two approvals racing cannot both win: a second approved row of a kind is refused by the
    database itself (the approval answers 409 template_outdated when that happens)."""
    v1 = in_effect(client, auth, "wristband")
    v2 = propose(client, auth, "wristband", with_statement(v1["spec"], "Two")).json()
    with new_session() as s:
        row = s.get(LabelTemplate, v2["id"])
        assert row is not None
        row.status = "approved"
        s.add(row)
        with pytest.raises(IntegrityError):
            s.commit()
    assert in_effect(client, auth, "wristband")["version"] == 1

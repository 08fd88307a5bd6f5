"""A case's chain of custody, as CSV and as a PDF report.

The COI, every unit and its lineage, the wristbands, every journey event, every handoff and
scan (passed or failed), every label print and every e-signature with its printed name, time
and meaning. No patient details: the COI identifies the case.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session, col, or_, select

from cartrack import clock
from cartrack.audit.models import Signature
from cartrack.identity.identifiers import printed_coi, printed_unit
from cartrack.journey.models import Case, CaseEvent
from cartrack.labels.content import cell_dose
from cartrack.labels.fonts import pdf_fonts
from cartrack.labels.models import LabelPrint
from cartrack.protocols.models import Protocol
from cartrack.scans.models import CustodyEvent
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Site

COLUMNS = ["record", "at", "coi", "unit_id", "unit_kind", "parent_unit_id", "wristband_id",
           "event", "from_state", "to_state", "action", "kind", "verdict", "reason", "who",
           "site", "location", "meaning", "detail"]
# A cell starting with one of these is a formula to a spreadsheet: neutralise it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class CustodyReport:
    case: Case
    coi: str
    product: str
    sites: dict[str, str]
    generated_at: datetime
    rows: list[dict[str, str]] = field(default_factory=list)

    def section(self, record: str) -> list[dict[str, str]]:
        return [r for r in self.rows if r["record"] == record]


def _t(moment: datetime | None) -> str:
    return clock.as_utc(moment).isoformat(timespec="seconds") if moment else ""


def _row(record: str, **values: object) -> dict[str, str]:
    out = dict.fromkeys(COLUMNS, "")
    out["record"] = record
    for key, value in values.items():
        out[key] = "" if value is None else str(value)
    return out


def _unit_text(unit_id: str | None) -> str:
    return printed_unit(unit_id).text if unit_id else ""


def build(session: Session, case: Case) -> CustodyReport:
    site_codes = {s.id: s.code for s in session.exec(select(Site)).all()}
    protocol = session.get(Protocol, case.protocol_id)
    coi = printed_coi(case.coi).text
    report = CustodyReport(
        case=case, coi=coi,
        product=f"{protocol.name} v{protocol.version}" if protocol else "",
        sites={which: site_codes.get(getattr(case, f"{which}_site_id"), "")
               for which in ("collection", "manufacturing", "treatment")},
        generated_at=clock.now())
    units = list(session.exec(select(Unit).where(Unit.case_id == case.id)
                              .order_by(col(Unit.id))).all())
    bands = list(session.exec(select(Wristband).where(Wristband.case_id == case.id)
                              .order_by(col(Wristband.id))).all())
    report.rows.append(_row("case", at=_t(case.created_at), coi=coi, to_state=case.state,
                            detail=f"{report.product}; sites: " + ", ".join(
                                f"{k} {v}" for k, v in report.sites.items())))
    report.rows += _unit_rows(units, coi, site_codes)
    report.rows += [_row("wristband", at=_t(b.issued_at), coi=coi, wristband_id=b.wristband_id,
                         detail="active" if b.active else "replaced") for b in bands]
    report.rows += _event_rows(session, case, coi, site_codes)
    report.rows += _custody_rows(session, case, units, bands, site_codes)
    report.rows += _print_rows(session, case, coi)
    report.rows += _signature_rows(session, case, coi)
    return report


def _unit_rows(units: list[Unit], coi: str, sites: dict[int | None, str]
               ) -> list[dict[str, str]]:
    by_pk = {u.id: u.unit_id for u in units}
    return [_row("unit", at=_t(u.created_at), coi=coi, unit_id=_unit_text(u.unit_id),
                 unit_kind=u.kind, parent_unit_id=_unit_text(by_pk.get(u.parent_id)),
                 site=sites.get(u.site_id, ""), location=u.location,
                 detail="; ".join(_unit_facts(u)))
            for u in units]


def _unit_facts(u: Unit) -> list[str]:
    facts = [f"status {u.status}"]
    facts += [f"{name} {_t(at)}" for name, at in (("collected", u.collected_at),
                                                  ("cryopreserved", u.cryopreserved_at),
                                                  ("expires", u.expires_at)) if at]
    facts += [text for text in (f"{u.volume_ml:g} mL" if u.volume_ml else "",
                                u.anticoagulant or "",
                                cell_dose(u.cell_dose) or "",
                                "quarantined" if u.quarantined else "") if text]
    return facts


def _event_rows(session: Session, case: Case, coi: str, sites: dict[int | None, str]
                ) -> list[dict[str, str]]:
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                          .order_by(col(CaseEvent.id))).all()
    return [_row("event", at=_t(e.at), coi=coi, event=e.event, from_state=e.from_state,
                 to_state=e.to_state, who=e.actor_name, site=sites.get(e.site_id, ""),
                 detail=e.reason or "") for e in events]


def _custody_rows(session: Session, case: Case, units: list[Unit], bands: list[Wristband],
                  sites: dict[int | None, str]) -> list[dict[str, str]]:
    """Scans and handoffs of this case, and of its bags and wristbands wherever they were."""
    unit_pks = [u.id for u in units]
    band_pks = [b.id for b in bands]
    rows = session.exec(
        select(CustodyEvent).where(or_(CustodyEvent.case_id == case.id,
                                       col(CustodyEvent.unit_pk).in_(unit_pks),
                                       col(CustodyEvent.wristband_pk).in_(band_pks)))
        .order_by(col(CustodyEvent.at), col(CustodyEvent.id))
    ).all()
    unit_ids = _unit_ids(session, {r.unit_pk for r in rows if r.unit_pk})
    band_ids = {b.id: b.wristband_id for b in bands}
    coi = printed_coi(case.coi).text
    return [_row("custody", at=_t(r.at), coi=coi, unit_id=_unit_text(unit_ids.get(r.unit_pk)),
                 wristband_id=band_ids.get(r.wristband_pk, ""), action=r.action, kind=r.kind,
                 verdict=r.verdict, reason=r.reason, who=r.holder_name,
                 site=sites.get(r.site_id, ""), location=r.location,
                 detail=r.message + ("" if r.case_id in (case.id, None)
                                     else " (recorded for another case)"))
            for r in rows]


def _unit_ids(session: Session, pks: set[int]) -> dict[int | None, str]:
    if not pks:
        return {}
    return {u.id: u.unit_id for u in session.exec(select(Unit).where(col(Unit.id).in_(pks)))}


def _print_rows(session: Session, case: Case, coi: str) -> list[dict[str, str]]:
    rows = session.exec(select(LabelPrint).where(LabelPrint.case_id == case.id)
                        .order_by(col(LabelPrint.id))).all()
    return [_row("label_print", at=_t(p.printed_at), coi=coi,
                 unit_id=_unit_text(p.label_id) if p.unit_pk else "",
                 wristband_id=p.label_id if p.wristband_pk else "", unit_kind=p.label_kind,
                 action="reprint" if p.reprint else "print", who=p.printed_name,
                 detail=f"{p.format} {p.size} x{p.copies}; key {p.key_id}; "
                        + _template_text(p) + (f"; reason: {p.reason}" if p.reason else ""))
            for p in rows]


def _template_text(p: LabelPrint) -> str:
    if p.template_version is None:
        return "template not recorded"
    return f"template {p.label_kind} v{p.template_version}"


def _signature_rows(session: Session, case: Case, coi: str) -> list[dict[str, str]]:
    sigs = session.exec(select(Signature).where(Signature.case_id == case.id)
                        .order_by(col(Signature.id))).all()
    return [_row("signature", at=_t(s.signed_at), coi=coi, who=s.printed_name,
                 meaning=s.meaning, event=s.record_ref,
                 detail=f"record hash {s.record_hash}") for s in sigs]


# ---- CSV -------------------------------------------------------------------------------


def _safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(report: CustodyReport) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: _safe(v) for k, v in row.items()})
    return buf.getvalue()


# ---- PDF -------------------------------------------------------------------------------

_SECTIONS: list[tuple[str, str, list[tuple[str, str, float]]]] = [
    ("unit", "Units and lineage", [("unit_id", "Unit", 48), ("unit_kind", "Kind", 22),
                                   ("parent_unit_id", "Made from", 48), ("at", "Created", 40),
                                   ("site", "Site", 22), ("detail", "Status", 70)]),
    ("wristband", "Wristbands", [("wristband_id", "Wristband", 60), ("at", "Issued", 45),
                                 ("detail", "", 40)]),
    ("event", "Journey events", [("at", "Time (UTC)", 40), ("event", "Event", 48),
                                 ("from_state", "From", 40), ("to_state", "To", 40),
                                 ("who", "By", 40), ("site", "Site", 22),
                                 ("detail", "Reason", 30)]),
    ("custody", "Handoffs and scans", [("at", "Time (UTC)", 38), ("unit_id", "Unit", 40),
                                       ("wristband_id", "Wristband", 30), ("action", "Step", 34),
                                       ("verdict", "Verdict", 18), ("reason", "Reason", 24),
                                       ("who", "Holder", 30), ("site", "Site", 18),
                                       ("detail", "Message", 28)]),
    ("label_print", "Label prints", [("at", "Time (UTC)", 40), ("unit_id", "Unit", 45),
                                     ("wristband_id", "Wristband", 38), ("action", "", 16),
                                     ("who", "By", 40), ("detail", "Details", 80)]),
    ("signature", "Electronic signatures", [("at", "Signed (UTC)", 40), ("who", "Printed name", 40),
                                            ("meaning", "Meaning", 50), ("event", "Record", 60),
                                            ("detail", "", 60)]),
]


def to_pdf(report: CustodyReport) -> bytes:
    regular, bold = pdf_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=7, leading=8.5)
    head = ParagraphStyle("head", fontName=bold, fontSize=7, leading=8.5)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=18)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13, spaceBefore=6)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(letter), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Chain of custody {report.coi}", invariant=True)
    story: list[object] = [
        Paragraph(escape(f"Chain of custody — COI {report.coi}"), h1),
        Paragraph(escape(f"{report.product}. Sites: " + ", ".join(
            f"{k} {v}" for k, v in report.sites.items()) + f". State: {report.case.state}. "
            f"Generated {_t(report.generated_at)} UTC."), body),
    ]
    for record, title, cols in _SECTIONS:
        rows = report.section(record)
        story += [Paragraph(escape(f"{title} ({len(rows)})"), h2), Spacer(1, 2)]
        if rows:
            story.append(_table(rows, cols, body, head))
    doc.build(story)  # type: ignore[arg-type]
    return buf.getvalue()


def _table(rows: list[dict[str, str]], cols: list[tuple[str, str, float]],
           body: ParagraphStyle, head: ParagraphStyle) -> Table:
    data = [[Paragraph(escape(label), head) for _, label, _ in cols]]
    data += [[Paragraph(escape(r[key]), body) for key, _, _ in cols] for r in rows]
    total = sum(w for _, _, w in cols)
    width = landscape(letter)[0] - 24 * mm
    table = Table(data, colWidths=[width * w / total for _, _, w in cols], repeatRows=1)
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
    style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fde2e2"))
              for i, r in enumerate(rows, start=1) if r.get("verdict") == "mismatch"]
    table.setStyle(TableStyle(style))
    return table

"""The shipment report as a printable PDF: the JSON report laid out in the custody report's
house style, with a temperature chart (reportlab's LinePlot) and the profile's limit band.

No patient details: the COI identifies the case.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.charts.utils import FillPairedData
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit.models import Signature
from cartrack.labels.fonts import pdf_fonts
from cartrack.shipments.report import ReportOut

CHART_TITLE = "Temperature chart"
X_LABEL = "Hours since handover"
Y_LABEL = "Temperature (°C)"
PAGE_WIDTH = landscape(letter)[0] - 24 * mm


def when(moment: datetime | None) -> str:
    """A time as the PDF prints it (UTC, to the second)."""
    return clock.as_utc(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def celsius(value: float | None, digits: int = 1) -> str:
    return f"{value:.{digits}f} °C" if value is not None else "—"


def signers(session: Session, report: ReportOut) -> dict[int, str]:
    """Printed name of the QA signer of each dispositioned excursion, by signature id."""
    ids = [e.signature_id for e in report.shipment.excursions if e.signature_id]
    if not ids:
        return {}
    rows = session.exec(select(Signature).where(col(Signature.id).in_(ids))).all()
    return {s.id: s.printed_name for s in rows if s.id is not None}


class _Styles:
    def __init__(self) -> None:
        regular, bold = pdf_fonts()
        self.regular, self.bold = regular, bold
        self.body = ParagraphStyle("body", fontName=regular, fontSize=7.5, leading=9.5)
        self.head = ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9.5)
        self.h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=18)
        self.h2 = ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13, spaceBefore=6)


def to_pdf(report: ReportOut, signed_by: dict[int, str], generated_at: datetime) -> bytes:
    st = _Styles()
    s = report.shipment
    coi = f"{report.coi} {s.coi_check}"
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(letter), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Shipment report {coi}", invariant=True)
    story: list[Flowable] = [
        Paragraph(escape(f"Shipment report — COI {coi}"), st.h1),
        Paragraph(escape(
            f"Shipment {s.id}, {s.direction.replace('_', ' ')}, status {s.status}. Sites: "
            f"collection {report.collection_site}, manufacturing {report.manufacturing_site}, "
            f"treatment {report.treatment_site}. All times UTC; generated "
            f"{when(generated_at)}."), st.body),
        _pairs(st, [
            ("Profile", f"{s.profile} v{s.profile_version}: {celsius(s.low_c)} to "
                        f"{celsius(s.high_c)}, transit at most {s.max_transit_hours:g} h"),
            ("Profile source", report.profile_source),
            ("Shipper", " ".join(x for x in (s.shipper_type, s.shipper_serial or "") if x)),
            ("Logger / seal", f"{s.logger_serial or '—'} / {s.seal_id or '—'}"),
            ("Courier / air waybill", f"{s.courier or '—'} / {s.air_waybill or '—'}"),
            ("Units", ", ".join(s.units) or "—"),
            ("Receipt", s.receipt or "—"),
        ]),
        Paragraph(escape(f"Custody points ({len(report.custody)})"), st.h2),
        _table(st, [("Time (UTC)", 22), ("What", 60), ("By", 30)],
               [[when(c.at), c.what, c.by or "—"] for c in report.custody]),
        Paragraph("Summary", st.h2), _summary(st, report),
        Paragraph(escape(f"Excursions ({len(s.excursions)})"), st.h2),
    ]
    if s.excursions:
        story.append(_table(st, [("Rule", 24), ("Start", 20), ("End", 20), ("Duration", 12),
                                 ("Extreme", 12), ("QA disposition", 44)],
                            [[e.rule, when(e.started_at), when(e.ended_at),
                              f"{e.duration_minutes:g} min", celsius(e.extreme_c),
                              _disposition(e.disposition, e.disposition_reason,
                                           signed_by.get(e.signature_id or 0),
                                           e.disposition_at)]
                             for e in s.excursions]))
    story.append(Paragraph(escape(f"Data gaps ({len(s.gaps)})"), st.h2))
    if s.gaps:
        story.append(_table(st, [("From", 20), ("To", 20), ("Minutes", 12)],
                            [[when(g.started_at), when(g.ended_at), f"{g.minutes:g}"]
                             for g in s.gaps]))
    story += [Paragraph(escape(CHART_TITLE), st.h2), Spacer(1, 2), _chart(st, report)]
    doc.build(story)
    return buf.getvalue()


def _disposition(value: str, reason: str | None, who: str | None, at: datetime | None) -> str:
    if value == "pending_qa":
        return "pending QA"
    out = f"{value} by {who or 'QA'} at {when(at)}"
    return f"{out}: {reason}" if reason else out


def summary_rows(report: ReportOut) -> list[tuple[str, str]]:
    s = report.shipment
    m = s.summary
    if m is None or m.points == 0:
        readings = [("Readings", "none")]
    else:
        readings = [
            ("Points", f"{m.points}"),
            ("Minimum", f"{celsius(m.min_c)} at {when(m.min_at)}"),
            ("Maximum", f"{celsius(m.max_c)} at {when(m.max_at)}"),
            ("Mean", celsius(m.mean_c, 2)),
            ("MKT", celsius(m.mkt_c, 2) if m.mkt_c is not None
             else "not defined for this profile"),
            ("Trip length", f"{m.trip_minutes:g} min ({when(m.first_at)} to {when(m.last_at)})"),
        ]
    if s.transit_hours is None:
        transit = f"not received yet (limit {s.max_transit_hours:g} h)"
    else:
        verdict = "within" if s.within_transit_limit else "over"
        transit = f"{s.transit_hours:g} h, {verdict} the limit of {s.max_transit_hours:g} h"
    return [*readings, ("Transit", transit)]


def _summary(st: _Styles, report: ReportOut) -> Table:
    return _pairs(st, summary_rows(report))


def _pairs(st: _Styles, rows: list[tuple[str, str]]) -> Table:
    data = [[Paragraph(escape(k), st.head), Paragraph(escape(v), st.body)] for k, v in rows]
    table = Table(data, colWidths=[PAGE_WIDTH * 0.18, PAGE_WIDTH * 0.82], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    return table


def _table(st: _Styles, cols: list[tuple[str, float]], rows: list[list[str]]) -> Table:
    data = [[Paragraph(escape(label), st.head) for label, _ in cols]]
    data += [[Paragraph(escape(cell), st.body) for cell in row] for row in rows]
    total = sum(w for _, w in cols)
    table = Table(data, colWidths=[PAGE_WIDTH * w / total for _, w in cols], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _chart(st: _Styles, report: ReportOut) -> Drawing:
    """Readings against hours since handover, over the shaded band between the limits."""
    s = report.shipment
    width, height = PAGE_WIDTH, 75 * mm
    drawing = Drawing(width, height)
    start = s.handed_over_at
    points = [((r.at - start).total_seconds() / 3600, r.temp_c) for r in report.readings]
    xs = [x for x, _ in points] or [0.0]
    x0 = min(0.0, *xs)
    x1 = max(xs) if max(xs) > x0 else x0 + 1
    temps = [t for _, t in points]
    y0 = min(s.low_c, *temps) if temps else s.low_c
    y1 = max(s.high_c, *temps) if temps else s.high_c
    pad = max(2.0, (y1 - y0) * 0.08)
    plot = LinePlot()
    plot.x, plot.y = 18 * mm, 14 * mm
    plot.width, plot.height = width - 24 * mm, height - 22 * mm
    band_low = [(x0, s.low_c), (x1, s.low_c)]
    band_high = FillPairedData([(x0, s.high_c), (x1, s.high_c)], 0)
    plot.data = [band_low, band_high, points or [(x0, s.low_c)]]
    band = colors.HexColor("#d8eedd")
    plot.lines[0].strokeColor = colors.HexColor("#4a8a5a")
    plot.lines[1].strokeColor = colors.HexColor("#4a8a5a")
    plot.lines[1].fillColor = band
    plot.lines[0].strokeWidth = plot.lines[1].strokeWidth = 0.6
    plot.lines[2].strokeColor = colors.HexColor("#1f4e9a")
    plot.lines[2].strokeWidth = 0.9
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = x0, x1
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = y0 - pad, y1 + pad
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = st.regular
        axis.labels.fontSize = 7
    plot.xValueAxis.labelTextFormat = "%g"
    plot.yValueAxis.labelTextFormat = "%g"
    drawing.add(plot)
    drawing.add(String(plot.x + plot.width / 2, 2 * mm, X_LABEL, fontName=st.regular,
                       fontSize=8, textAnchor="middle"))
    drawing.add(String(plot.x, height - 5 * mm, Y_LABEL, fontName=st.regular, fontSize=8))
    drawing.add(String(plot.x + plot.width, height - 5 * mm,
                       f"limit band {celsius(s.low_c)} to {celsius(s.high_c)}; "
                       f"{len(report.readings)} of {report.readings_total} readings shown",
                       fontName=st.regular, fontSize=7, textAnchor="end"))
    return drawing

"""Label templates: the text rules and layout of each label kind, as versioned data.

A template lists the lines of a label in order: fixed statements ("FOR AUTOLOGOUS USE ONLY")
and fields filled from the case, the bag and the product's catalog entry ("EXP " + the expiry).
On the stock sizes it names in ``tag_sizes``, the lines marked ``on_tag`` move to an
accompanying tag printed right after the label (the 2x1in reduced set). A template is checked
before it is stored: every field its kind requires is there, only names and product names may
be cut short, and a specimen filled with the longest values the schemas allow fits every stock
size. Which version prints is decided in ``labels.versions`` (QA approval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cartrack.identity.identifiers import make_coi, make_din, make_unit_id, printed_coi, printed_unit
from cartrack.journey.events import ApheresisUnitIn, PatientIn
from cartrack.labels.layout import (
    LABEL_SIZES,
    PAGE,
    PAGES,
    Face,
    LabelKind,
    LabelOverflow,
    Line,
    layout_face,
)
from cartrack.labels.payload import KeyRing, sign_unit, sign_wristband
from cartrack.protocols.models import LabelWarning, ProtocolData, ProtocolIn
from cartrack.users.models import SiteIn

KINDS: tuple[LabelKind, ...] = ("apheresis", "product", "wristband")
FieldName = Literal[
    "statement", "product", "coi", "ident", "patient_name", "date_of_birth", "collected",
    "collection_facility", "volume", "anticoagulant", "transport", "manufactured", "expires",
    "storage", "dose", "facility", "manufacturer", "warnings", "template",
]
SizeName = Literal["4x4in", "4x2in", "2x1in"]
COMMON: frozenset[str] = frozenset({"statement", "product", "coi", "ident", "patient_name",
                                    "date_of_birth", "template"})
KIND_FIELDS: dict[str, frozenset[str]] = {
    "apheresis": COMMON | {"collected", "collection_facility", "volume", "anticoagulant",
                           "transport"},
    "product": COMMON | {"manufactured", "expires", "storage", "volume", "dose", "facility",
                         "manufacturer", "warnings"},
    "wristband": COMMON,
}
# On the label face itself, at every size (never moved to the tag).
ON_LABEL: dict[str, frozenset[str]] = {
    "apheresis": frozenset({"coi", "ident", "collected", "template"}),
    "product": frozenset({"coi", "ident", "product", "expires", "template"}),
    "wristband": frozenset({"coi", "ident", "patient_name", "date_of_birth", "template"}),
}
# On the label or its tag.
SOMEWHERE: dict[str, frozenset[str]] = {
    "apheresis": frozenset({"product", "collection_facility", "volume", "anticoagulant",
                            "transport"}),
    "product": frozenset({"manufactured", "storage", "volume", "dose", "facility",
                          "manufacturer", "warnings"}),
    "wristband": frozenset(),
}
STATEMENTS: dict[str, tuple[str, ...]] = {
    "apheresis": ("FOR AUTOLOGOUS USE ONLY", "Not for direct infusion"),
    "product": ("FOR AUTOLOGOUS USE ONLY", "Rx only"),
    "wristband": (),
}
# Only these may be cut short (with an ellipsis) to fit: the COI identifies the case.
MAY_CUT = frozenset({"product", "patient_name"})
TAG_TITLE = f"TAG {PAGE}/{PAGES} of UNIT "


class LineRule(BaseModel):
    """One line of a template: a fixed statement, or a field after its leading words."""

    model_config = ConfigDict(extra="forbid")

    field: FieldName
    text: str = Field("", max_length=80, description="the statement, or the words before the value")
    bold: bool = False
    max_lines: int = Field(0, ge=0, le=6, description="0: all it needs; names may be cut")
    on_tag: bool = Field(False, description="on the tag, on stock listed in tag_sizes")
    only_with_tag: bool = Field(False, description="printed only on stock that has a tag")

    def problems(self) -> list[str]:
        """What this line has wrong (a well-formed line may still break the template rules)."""
        found = []
        if self.field == "statement" and not self.text.strip():
            found.append("a statement line needs its text")
        if self.max_lines and self.field not in MAY_CUT:
            found.append(f"{self.field} is never cut short; only "
                         + " and ".join(sorted(MAY_CUT)) + " may have max_lines")
        return found


class TemplateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LineRule] = Field(min_length=1, max_length=40)
    tag_sizes: list[SizeName] = Field(default_factory=list, max_length=len(LABEL_SIZES),
                                      description="stock on which the on_tag lines always go "
                                      "to the tag (elsewhere, only when they would not fit)")


def check_spec(kind: str, spec: TemplateSpec) -> list[str]:
    """What a template of this kind lacks or has wrong; empty when it may be proposed."""
    on_label = [r for r in spec.lines if not r.on_tag and not r.only_with_tag]
    fields: set[str] = {r.field for r in spec.lines}
    label_fields: set[str] = {r.field for r in on_label}
    said = {r.text.strip() for r in spec.lines if r.field == "statement"}
    said_on_label = {r.text.strip() for r in on_label if r.field == "statement"}
    checks = [
        (fields - KIND_FIELDS[kind], f"a {kind} label has no "),
        (ON_LABEL[kind] - label_fields, "must show on the label itself: "),
        (SOMEWHERE[kind] - fields, "must show on the label or its tag: "),
        (set(STATEMENTS[kind][:1]) - said_on_label, "must say on the label itself: "),
        (set(STATEMENTS[kind][1:]) - said, "must say on the label or its tag: "),
    ]
    return ([problem for rule in spec.lines for problem in rule.problems()]
            + [words + ", ".join(sorted(wrong)) for wrong, words in checks if wrong])


# ---- what a label shows ----------------------------------------------------------------


@dataclass(frozen=True)
class LabelValues:
    """Everything a label of one bag or wristband may show, already formatted."""

    kind: LabelKind
    payload: str
    coi: str
    ident: str  # unit id, or wristband id
    fields: Mapping[str, str | tuple[str, ...] | None]

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) and value else None


def _lines(rule: LineRule, values: LabelValues) -> list[Line]:
    if rule.field == "statement":
        return [Line(rule.text, bold=rule.bold)]
    if rule.field == "coi":
        return [Line(rule.text + values.coi, printed_coi(values.coi).check, rule.bold)]
    if rule.field == "ident":
        check = printed_unit(values.ident).check if values.kind != "wristband" else ""
        return [Line(rule.text + values.ident, check, rule.bold)]
    if rule.field == "warnings":
        warnings = values.fields.get("warnings") or ()
        return [Line(rule.text + w, bold=rule.bold) for w in warnings if isinstance(w, str)]
    value = values.text(rule.field)
    return [Line(rule.text + value, bold=rule.bold, max_lines=rule.max_lines)] if value else []


def _tag_heading(values: LabelValues) -> tuple[Line, ...]:
    return (Line(TAG_TITLE + values.ident, printed_unit(values.ident).check, True),
            Line("COI " + values.coi, printed_coi(values.coi).check, True))


def compose(spec: TemplateSpec, values: LabelValues, size: str) -> list[Face]:
    """The faces of one label at one stock size: the label, then its tag if it has one.

    The lines marked ``on_tag`` go to the tag on the sizes the template lists, and on any other
    size where the whole content would not fit the label itself."""
    whole, _ = _split(spec, values, tagged=False)
    if values.kind == "wristband":
        return [whole]
    if size not in spec.tag_sizes:
        try:
            layout_face(whole, size)
            return [whole]
        except LabelOverflow:
            pass
    label, tag = _split(spec, values, tagged=True)
    return [label, tag] if tag is not None else [label]


def _split(spec: TemplateSpec, values: LabelValues, *, tagged: bool) -> tuple[Face, Face | None]:
    label: list[Line] = []
    moved: list[Line] = []
    for rule in spec.lines:
        if rule.only_with_tag and not tagged:
            continue
        (moved if tagged and rule.on_tag else label).extend(_lines(rule, values))
    if not moved:
        return Face(values.payload, tuple(label)), None
    # The tag is under version control too: it ends with the template line.
    versioned = [line for rule in spec.lines if rule.field == "template"
                 for line in _lines(rule, values)]
    return (Face(values.payload, tuple(label)),
            Face(None, (*moved, *versioned), _tag_heading(values)))


# ---- the longest values the schemas allow ----------------------------------------------


def _max_len(model: type[BaseModel], name: str) -> int:
    return _limit(model.model_fields[name].metadata, f"{model.__name__}.{name}")


def _limit(metadata: Sequence[object], what: str) -> int:
    found = [m.max_length for m in metadata
             if isinstance(m, MaxLen | StringConstraints) and m.max_length is not None]
    if not found:
        raise AssertionError(f"{what} has no maximum length")
    return found[0]


def longest(n: int, word: str = "Mmmmmmmmmmmm") -> str:
    """Text of exactly ``n`` characters in words of realistic length."""
    return (f"{word} " * (n // (len(word) + 1) + 1))[:n].rstrip().ljust(n, "m")


SPECIMEN_RING = KeyRing.from_config("SPECIMEN:a-specimen-label-is-never-valid", "", "unused")
SPECIMEN_COI = make_coi("A9999", 2099, 36**6 - 1)
SPECIMEN_UNIT = make_unit_id(make_din("A9999", 2099, 36**6 - 1), 99)
SPECIMEN_BAND = "W" * 20
LONGEST_MOMENT = "2099-12-31 23:59 CHADT"


def specimen_values(kind: LabelKind, *, version: int = 9999) -> LabelValues:
    """A label of ``kind`` with the longest value of every field (for previews and the
    bounds check); its QR is signed with a key no installation holds."""
    name = longest(_max_len(PatientIn, "family_name")).upper() + ", " + longest(
        _max_len(PatientIn, "given_name"))
    site = longest(_max_len(SiteIn, "name")) + " (FIN A9999)"
    warning = longest(_limit(get_args(LabelWarning)[1:], "a warning"))
    ident = SPECIMEN_BAND if kind == "wristband" else SPECIMEN_UNIT
    payload = (sign_wristband(SPECIMEN_RING, ident, SPECIMEN_COI) if kind == "wristband"
               else sign_unit(SPECIMEN_RING, ident, SPECIMEN_COI))
    fields: dict[str, str | tuple[str, ...] | None] = {
        "product": longest(_max_len(ProtocolIn, "name")),
        "patient_name": name,
        "date_of_birth": "1900-12-31",
        "collected": LONGEST_MOMENT,
        "collection_facility": site,
        "volume": "2000 mL",
        "anticoagulant": longest(_max_len(ApheresisUnitIn, "anticoagulant")),
        "transport": longest(_max_len(ProtocolData, "apheresis_transport")),
        "manufactured": LONGEST_MOMENT,
        "expires": LONGEST_MOMENT,
        "storage": longest(_max_len(ProtocolData, "storage_condition")),
        "dose": "9.99 x 10^10 CAR+ viable T cells",
        "facility": site,
        "manufacturer": longest(_max_len(ProtocolData, "manufacturer")) + " ("
        + longest(_max_len(ProtocolData, "manufacturer_id")) + ")",
        "warnings": (warning,) * _max_len(ProtocolData, "warnings"),
        "template": f"{kind} v{version}",
    }
    return LabelValues(kind, payload, SPECIMEN_COI, ident, fields)


def sample_values(kind: LabelKind, version: int = 1) -> LabelValues:
    """A specimen with ordinary values, to see a template before approving it."""
    ident = "WSPECIMEN0000001" if kind == "wristband" else SPECIMEN_UNIT
    payload = (sign_wristband(SPECIMEN_RING, ident, SPECIMEN_COI) if kind == "wristband"
               else sign_unit(SPECIMEN_RING, ident, SPECIMEN_COI))
    fields: dict[str, str | tuple[str, ...] | None] = {
        "product": "Specimen (examplecabtagene autoleucel)",
        "patient_name": "SPECIMEN, Not A Patient", "date_of_birth": "1970-01-01",
        "collected": "2099-01-01 09:30 EST", "manufactured": "2099-01-20 14:00 EST",
        "expires": "2100-01-20 14:00 EST",
        "collection_facility": "Example Apheresis Center (FIN A9999)",
        "facility": "Example Cell Manufacturing Facility (FIN A9999)",
        "volume": "68 mL", "anticoagulant": "ACD-A", "transport": "Transport at 2-8 °C",
        "storage": "Store in vapour phase of liquid nitrogen at or below -150 °C",
        "dose": "2.0 x 10^8 CAR+ viable T cells", "manufacturer": "Example Pharma, Inc.",
        "warnings": ("Do NOT use a leukodepleting filter", "Do not irradiate"),
        "template": f"{kind} v{version}",
    }
    return LabelValues(kind, payload, SPECIMEN_COI, ident, fields)


def overflowing_sizes(spec: TemplateSpec, kind: LabelKind) -> list[str]:
    """The stock sizes on which this template's longest specimen does not fit."""
    values = specimen_values(kind)
    bad = []
    for size in LABEL_SIZES:
        try:
            for face in compose(spec, values, size):
                layout_face(face, size)
        except LabelOverflow:
            bad.append(size)
    return bad


# ---- version 1 of each kind, as shipped --------------------------------------------------


def _rules(*rows: Sequence[object]) -> list[LineRule]:
    keys = ("field", "text", "bold", "max_lines", "on_tag", "only_with_tag")
    return [LineRule.model_validate(dict(zip(keys, row, strict=False))) for row in rows]


SEE_TAG = "See attached tag"
SHIPPED: dict[str, TemplateSpec] = {
    "product": TemplateSpec(tag_sizes=["2x1in"], lines=_rules(
        ("statement", "FOR AUTOLOGOUS USE ONLY", True),
        ("product", "", True, 2),
        ("statement", "CAR-T cell suspension for IV infusion", False, 0, True),
        ("statement", "Rx only", False, 0, True),
        ("coi", "COI ", True),
        ("ident", "UNIT ", True),
        ("patient_name", "", True, 2),
        ("date_of_birth", "DOB "),
        ("expires", "EXP ", True),
        ("manufactured", "Frozen ", False, 0, True),
        ("storage", "", True, 0, True),
        ("volume", "Volume ", False, 0, True),
        ("dose", "Dose ", False, 0, True),
        ("facility", "Made at ", False, 0, True),
        ("manufacturer", "Manufacturer ", False, 0, True),
        ("warnings", "! ", True, 0, True),
        ("statement", SEE_TAG, False, 0, False, True),
        ("template", "Label template "),
    )),
    "apheresis": TemplateSpec(tag_sizes=["2x1in"], lines=_rules(
        ("statement", "FOR AUTOLOGOUS USE ONLY", True),
        ("statement", "Not for direct infusion", True),
        ("statement", "Apheresis collection", False, 0, True),
        ("product", "For ", False, 2, True),
        ("coi", "COI ", True),
        ("ident", "UNIT ", True),
        ("patient_name", "", True, 2),
        ("date_of_birth", "DOB "),
        ("collected", "Collected ", True),
        ("collection_facility", "At ", False, 0, True),
        ("volume", "Volume ", False, 0, True),
        ("anticoagulant", "Anticoagulant ", False, 0, True),
        ("transport", "", True, 0, True),
        ("statement", SEE_TAG, False, 0, False, True),
        ("template", "Label template "),
    )),
    "wristband": TemplateSpec(lines=_rules(
        ("product", "", False, 2),
        ("statement", "Patient wristband"),
        ("coi", "COI ", True),
        ("ident", "WRISTBAND ", True),
        ("patient_name", "", True, 2),
        ("date_of_birth", "DOB "),
        ("template", "Label template "),
    )),
}

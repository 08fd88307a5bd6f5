"""Label template versions under control (FACT-JACIE): proposed, approved by QA with an
e-signature, then in effect until the next approved version supersedes them.

A proposed version changes nothing that prints. QA approval (password typed again, meaning
"Approved for use", bound to the hash of the template's content) puts it in effect; the
author of a version cannot approve it. Superseded versions stay, for the record.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden, NotFound
from cartrack.labels.layout import as_label_kind
from cartrack.labels.models import LabelTemplate, TemplateIn, TemplateOut
from cartrack.labels.templates import KINDS, SHIPPED, TemplateSpec, check_spec, overflowing_sizes
from cartrack.security import Principal
from cartrack.users import service as users

APPROVAL_MEANING = "Approved for use"
SHIPPED_BY = "cartrack (shipped template)"


def template_out(row: LabelTemplate) -> TemplateOut:
    assert row.id is not None
    return TemplateOut(id=row.id, kind=row.kind, version=row.version, spec=row.rules(),
                       note=row.note, status=row.status, proposed_at=row.proposed_at,
                       proposed_by=row.proposed_by, approved_at=row.approved_at,
                       approved_by=row.approved_by, signature_id=row.signature_id,
                       superseded_at=row.superseded_at, in_effect=row.status == "approved")


def list_templates(session: Session, kind: str | None = None) -> list[LabelTemplate]:
    query = select(LabelTemplate).order_by(col(LabelTemplate.kind), col(LabelTemplate.version))
    if kind:
        query = query.where(LabelTemplate.kind == kind)
    return list(session.exec(query).all())


def get(session: Session, template_id: int) -> LabelTemplate:
    row = session.get(LabelTemplate, template_id)
    if row is None:
        raise NotFound(f"No label template {template_id}.", code="template_not_found")
    return row


def in_effect(session: Session, kind: str) -> LabelTemplate:
    """The version that prints now: the approved one. None approved: nothing prints."""
    row = session.exec(select(LabelTemplate).where(LabelTemplate.kind == kind,
                                                   LabelTemplate.status == "approved")).first()
    if row is None:
        raise Conflict(f"No {kind} label template is approved yet, so {kind} labels cannot be "
                       "printed: QA must approve one (Admin, Label templates).",
                       code="no_approved_template", context={"kind": kind})
    return row


def propose(session: Session, actor: Principal | None, body: TemplateIn) -> LabelTemplate:
    """A new version of a kind's template, checked but not yet in effect."""
    _check(body.kind, body.spec)
    latest = session.exec(select(func.max(LabelTemplate.version))
                          .where(LabelTemplate.kind == body.kind)).one()
    row = LabelTemplate(kind=body.kind, version=(latest or 0) + 1,
                        spec=body.spec.model_dump(mode="json"), note=body.note,
                        proposed_at=clock.now(), proposed_by=actor.name if actor else SHIPPED_BY,
                        proposed_by_id=actor.id if actor else None)
    session.add(row)
    session.flush()
    audit.record(session, user_id=actor.id if actor else None, printed_name=row.proposed_by,
                 action="propose", entity="label_template", entity_id=row.id or 0,
                 new={"kind": row.kind, "version": row.version, "spec": row.spec,
                      "note": row.note, "status": row.status})
    return row


def _check(kind: str, spec: TemplateSpec) -> None:
    problems = check_spec(kind, spec)
    if problems:
        raise Conflict(f"This {kind} template is incomplete: " + "; ".join(problems) + ".",
                      code="template_incomplete", context={"problems": problems})
    too_small = overflowing_sizes(spec, as_label_kind(kind))
    if too_small:
        raise Conflict(f"With the longest values allowed, this {kind} template does not fit "
                      + ", ".join(too_small) + " stock: move lines to the tag or shorten them.",
                      code="template_overflow", context={"sizes": too_small})


def approve(session: Session, actor: Principal, template_id: int, password: str) -> LabelTemplate:
    """QA's e-signature puts a proposed version in effect and supersedes the one before."""
    row = get(session, template_id)
    if row.status != "proposed":
        raise Conflict(f"{row.kind.capitalize()} template v{row.version} is {row.status}; only a "
                       "proposed version can be approved.", code="template_not_proposed")
    if row.proposed_by_id is not None and row.proposed_by_id == actor.id:
        raise Forbidden("You proposed this template version; another QA member must approve it.",
                        code="self_approval")
    current = session.exec(select(LabelTemplate).where(LabelTemplate.kind == row.kind,
                                                       LabelTemplate.status == "approved")).first()
    if current is not None and current.version > row.version:
        raise Conflict(f"{row.kind.capitalize()} template v{current.version} is in effect and "
                       f"newer than v{row.version}; propose a new version instead.",
                       code="template_outdated")
    users.verify_signer(session, actor.user, password)
    now = clock.now()
    sig = audit.add_signature(
        session, user_id=actor.id, printed_name=actor.name, meaning=APPROVAL_MEANING,
        record_type="label_template", record_ref=f"label_template:{row.kind}:v{row.version}",
        content={"kind": row.kind, "version": row.version, "spec": row.spec})
    if current is not None:
        current.status, current.superseded_at = "superseded", now
        session.add(current)
        session.flush()
        audit.record(session, user_id=actor.id, printed_name=actor.name, action="supersede",
                     entity="label_template", entity_id=current.id or 0,
                     old={"status": "approved"}, new={"status": "superseded",
                                                      "by_version": row.version})
    row.status, row.approved_at, row.approved_by, row.signature_id = (
        "approved", now, actor.name, sig.id)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another approval of this kind committed meanwhile
        raise Conflict(f"Another {row.kind} template version was approved at the same moment; "
                       "reload and check which version is in effect.",
                       code="template_outdated") from exc
    audit.record(session, user_id=actor.id, printed_name=actor.name, action="approve",
                 entity="label_template", entity_id=row.id or 0, old={"status": "proposed"},
                 new={"status": "approved", "kind": row.kind, "version": row.version,
                      "signature_id": sig.id})
    return row


def load_shipped(session: Session) -> list[LabelTemplate]:
    """Propose version 1 of every kind that has no template yet; QA approves them."""
    have = set(session.exec(select(LabelTemplate.kind).distinct()).all())
    return [propose(session, None, TemplateIn(kind=kind, spec=SHIPPED[kind],
                                              note="Version 1 as shipped with cartrack."))
            for kind in KINDS if kind not in have]

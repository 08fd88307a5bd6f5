"""The versioned protocol catalog: shipped as data, published as new versions by admins."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

from sqlalchemy import func
from sqlmodel import Session, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, NotFound
from cartrack.protocols.models import Protocol, ProtocolData, ProtocolIn, ProtocolOut
from cartrack.security import Principal
from cartrack.settings import get_settings


def shipped_catalog() -> list[ProtocolIn]:
    raw = resources.files("cartrack.protocols").joinpath("catalog.json").read_text()
    return [ProtocolIn.model_validate(entry) for entry in json.loads(raw)]


def protocol_out(p: Protocol) -> ProtocolOut:
    assert p.id is not None
    return ProtocolOut(id=p.id, product=p.product, version=p.version, name=p.name,
                       data=p.rules(), source=p.source, unconfirmed=list(p.unconfirmed),
                       published_at=p.published_at, published_by=p.published_by,
                       current=p.current)


def publish(session: Session, actor: Principal | None, data: ProtocolIn) -> Protocol:
    """A new version of a product's protocol; cases keep the version they were enrolled under."""
    latest = session.exec(
        select(func.max(Protocol.version)).where(Protocol.product == data.product)
    ).one()
    for old in session.exec(select(Protocol).where(Protocol.product == data.product,
                                                   Protocol.current == True)).all():  # noqa: E712
        old.current = False
        session.add(old)
    ProtocolData.model_validate(data.data.model_dump())
    proto = Protocol(product=data.product, version=(latest or 0) + 1, name=data.name,
                     data=data.data.model_dump(mode="json"), source=data.source,
                     unconfirmed=list(data.unconfirmed), published_at=clock.now(),
                     published_by=actor.name if actor else "catalog", current=True)
    session.add(proto)
    session.flush()
    audit.record(session, user_id=actor.id if actor else None,
                 printed_name=actor.name if actor else "system", action="publish",
                 entity="protocol", entity_id=proto.id or 0,
                 new={"product": proto.product, "version": proto.version,
                      "data": proto.data, "unconfirmed": proto.unconfirmed})
    return proto


def load_shipped_catalog(session: Session) -> list[Protocol]:
    """Publish version 1 of every shipped product not yet in the catalog."""
    added = []
    for entry in shipped_catalog():
        exists = session.exec(select(Protocol).where(Protocol.product == entry.product)).first()
        if exists is None:
            added.append(publish(session, None, entry))
    return added


_RULES: dict[int, ProtocolData] = {}


def rules_of(session: Session, protocol_id: int) -> ProtocolData:
    """A published protocol version never changes, so its parsed rules are cached by id."""
    rules = _RULES.get(protocol_id)
    if rules is None:
        proto = session.get(Protocol, protocol_id)
        if proto is None:
            raise NotFound(f"No protocol {protocol_id}.", code="protocol_not_found")
        rules = _RULES[protocol_id] = proto.rules()
    return rules


def find(session: Session, product: str, version: int | None = None) -> Protocol:
    query = select(Protocol).where(Protocol.product == product)
    query = query.where(Protocol.version == version) if version else query.where(
        Protocol.current == True)  # noqa: E712
    proto = session.exec(query).first()
    if proto is None:
        what = f"{product} version {version}" if version else product
        raise NotFound(f"No protocol {what} in the catalog.", code="protocol_not_found")
    return proto


def list_protocols(session: Session, product: str | None = None) -> list[Protocol]:
    query = select(Protocol).order_by(Protocol.product, Protocol.version)  # type: ignore[arg-type]
    if product:
        query = query.where(Protocol.product == product)
    return list(session.exec(query).all())


def bedside_minutes(rules: ProtocolData) -> int:
    """How recent the bedside wristband and bag scans must be: the protocol's, else the site
    default setting."""
    return rules.bedside_scan_minutes or get_settings().bedside_scan_minutes


def product_expiry(rules: ProtocolData, cryopreserved_at: datetime) -> datetime:
    """When a product bag expires: its protocol's storage rule applied to its cryopreservation.
    The bag's expiry, its label and its storage-expiry deadline all take this one value."""
    if rules.storage_months is None:
        raise Conflict("This protocol version has no storage rule, so its bags would have no "
                       "expiry; an admin must publish a version with storage_months.",
                       code="no_storage_rule")
    return clock.add_months(clock.as_utc(cryopreserved_at), rules.storage_months)

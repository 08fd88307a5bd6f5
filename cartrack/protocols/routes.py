from __future__ import annotations

from fastapi import APIRouter, Depends

from cartrack.db import SessionDep
from cartrack.protocols import service
from cartrack.protocols.models import ProtocolIn, ProtocolOut
from cartrack.security import ADMIN, SIGNED_IN, Principal

router = APIRouter(prefix="/api/protocols", tags=["protocols"])


@router.get("")
def list_protocols(session: SessionDep,
                   product: str | None = None, _: Principal = Depends(SIGNED_IN)) -> list[ProtocolOut]:
    """Every version of every product, with its source and its unconfirmed values."""
    return [service.protocol_out(p) for p in service.list_protocols(session, product)]


@router.post("", status_code=201)
def publish(session: SessionDep, body: ProtocolIn, principal: Principal = Depends(ADMIN)) -> ProtocolOut:
    """Publish a new version; cases already enrolled keep theirs."""
    return service.protocol_out(service.publish(session, principal, body))

"""Handlers: the part of an event the journey table cannot say (creating bags, recording a QC
result, moving bags along). Each is registered for one event and typed with that event's data
model; the engine calls it after the scans and guards have passed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel

from cartrack.journey.context import Ctx
from cartrack.journey.events import EVENT_DATA

Handler = Callable[[Ctx, Any], None]
HANDLERS: dict[str, Handler] = {}
D = TypeVar("D", bound=BaseModel)


def handles(event: str) -> Callable[[Callable[[Ctx, D], None]], Callable[[Ctx, D], None]]:
    def register(fn: Callable[[Ctx, D], None]) -> Callable[[Ctx, D], None]:
        data_type = get_type_hints(fn).get("d")
        if data_type is not EVENT_DATA[event]:
            raise TypeError(f"handler {fn.__name__} takes {data_type}, but {event} carries "
                            f"{EVENT_DATA[event].__name__}")
        if event in HANDLERS:
            raise TypeError(f"{event} has two handlers")
        HANDLERS[event] = fn
        return fn
    return register

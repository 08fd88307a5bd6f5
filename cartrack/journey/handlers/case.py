"""Events of the case as a whole: hold, resume, cancel, complete."""

from __future__ import annotations

from cartrack.journey.context import Ctx
from cartrack.journey.events import CompleteData, ReasonData
from cartrack.journey.handlers.registry import handles
from cartrack.scheduling import service as slots


@handles("hold")
def hold(ctx: Ctx, d: ReasonData) -> None:
    ctx.case.held_from = ctx.case.state


@handles("resume")
def resume(ctx: Ctx, d: ReasonData) -> None:
    ctx.timeline["resumed_to"] = ctx.target
    ctx.case.held_from = None


@handles("cancel")
def cancel(ctx: Ctx, d: ReasonData) -> None:
    ctx.case.held_from = None
    slots.release_for_cancelled(ctx.session, ctx.case, ctx.actor, d.reason)


@handles("complete")
def complete(ctx: Ctx, d: CompleteData) -> None:
    ctx.milestone("completed_at", ctx.now)

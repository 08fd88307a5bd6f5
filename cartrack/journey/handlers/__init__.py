"""Event handlers by phase of the journey; importing the package registers them all."""

from cartrack.journey.handlers import case, collection, manufacturing, treatment
from cartrack.journey.handlers.registry import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler", "case", "collection", "manufacturing", "treatment"]

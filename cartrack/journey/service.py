"""The journey's public service API, for routes and other domains: enrol, apply an event, and
find a visible case. The rules themselves live in the table (``transitions``), the guards, the
engine and its handlers; who may see what lives in ``access``."""

from __future__ import annotations

from cartrack.journey.access import (
    CASE_ROLES,
    can_see,
    can_see_phi,
    visible_case,
    visible_site_filter,
)
from cartrack.journey.engine import apply_event
from cartrack.journey.enroll import enroll

get_case = visible_case

__all__ = ["CASE_ROLES", "apply_event", "can_see", "can_see_phi", "enroll", "get_case",
           "visible_case", "visible_site_filter"]

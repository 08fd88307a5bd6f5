"""Every table, imported in one place for migrations and tests."""

from cartrack import idempotency
from cartrack.alerts import models as alerts
from cartrack.audit import models as audit
from cartrack.identity import models as identity
from cartrack.journey import models as journey
from cartrack.labels import models as labels
from cartrack.protocols import models as protocols
from cartrack.scans import models as scans
from cartrack.shipments import models as shipments
from cartrack.units import models as units
from cartrack.users import models as users

__all__ = ["alerts", "audit", "idempotency", "identity", "journey", "labels", "protocols",
           "scans", "shipments", "units", "users"]

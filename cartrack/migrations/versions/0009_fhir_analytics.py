"""site MRN identifier system: the FHIR Patient identifier a site's medical record numbers use

Revision ID: 0009_fhir_analytics
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_fhir_analytics"
down_revision = "0008_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site") as batch:
        batch.add_column(sa.Column("mrn_system", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site") as batch:
        batch.drop_column("mrn_system")

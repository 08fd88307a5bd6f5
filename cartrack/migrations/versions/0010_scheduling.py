"""scheduling: the capacity calendar and manufacturing slot reservations

Revision ID: 0010_scheduling
Revises: 0009_fhir_analytics
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0010_scheduling"
down_revision = "0009_fhir_analytics"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('held', 'confirmed')")


def _str(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "capacity_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("product", _str(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("note", _str(500), nullable=True),
        sa.Column("updated_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["facility_id"], ["site.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("facility_id", "product", "day"),
    )
    op.create_table(
        "slot_reservation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("product", _str(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("buffer_days", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.Integer(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("hold_expires_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("warning_alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason_code", _str(40), nullable=True),
        sa.Column("reason_text", _str(1000), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["facility_id"], ["site.id"]),
        sa.ForeignKeyConstraint(["protocol_id"], ["protocol.id"]),
        sa.ForeignKeyConstraint(["warning_alert_id"], ["alert.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["confirmed_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"]),
        sa.ForeignKeyConstraint(["replaces_id"], ["slot_reservation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("slot_reservation", schema=None) as batch_op:
        batch_op.create_index("ix_slot_reservation_case_id", ["case_id"], unique=False)
        batch_op.create_index("ix_slot_day", ["facility_id", "product", "day"], unique=False)
        batch_op.create_index("ix_slot_status_expiry", ["status", "hold_expires_at"],
                              unique=False)
        batch_op.create_index("uq_slot_active_case", ["case_id"], unique=True,
                              sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    with op.batch_alter_table("slot_reservation", schema=None) as batch_op:
        batch_op.drop_index("uq_slot_active_case")
        batch_op.drop_index("ix_slot_status_expiry")
        batch_op.drop_index("ix_slot_day")
        batch_op.drop_index("ix_slot_reservation_case_id")
    op.drop_table("slot_reservation")
    op.drop_table("capacity_day")

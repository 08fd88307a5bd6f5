"""label prints: every printed label, its copies and the reason of a reprint

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_print",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("printed_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("printed_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_pk", sa.Integer(), nullable=True),
        sa.Column("wristband_pk", sa.Integer(), nullable=True),
        sa.Column("label_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("label_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("size", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("reprint", sa.Boolean(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("payload_version", sa.Integer(), nullable=False),
        sa.Column("with_patient", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["unit_pk"], ["unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["wristband_pk"], ["wristband.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_print_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_print_unit_pk"), ["unit_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_print_wristband_pk"), ["wristband_pk"],
                              unique=False)
    # The bedside check and the scan context read a case's (and a user's) recent scans.
    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.create_index("ix_custody_event_user_action", ["user_id", "action", "id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_event_user_action")
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_print_wristband_pk"))
        batch_op.drop_index(batch_op.f("ix_label_print_unit_pk"))
        batch_op.drop_index(batch_op.f("ix_label_print_case_id"))
    op.drop_table("label_print")

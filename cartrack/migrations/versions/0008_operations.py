"""operations: idempotency keys of repeated writes, and the scheduler leader's heartbeat

Revision ID: 0008_operations
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0008_operations"
down_revision = "0007_label_templates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key"),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_created", ["created_at"], unique=False)

    op.create_table(
        "scheduler_leader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_tick_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_leader")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_key_created")
    op.drop_table("idempotency_key")

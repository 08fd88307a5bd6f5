"""calendar feeds: a user's iCalendar feed, by the SHA-256 of its token

Revision ID: 0012_calendar_feeds
Revises: 0011_shipments
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0012_calendar_feeds"
down_revision = "0011_shipments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("calendar_feed",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column("token_hint", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column("created_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_feed_user_id"), ["user_id"], unique=False)
        batch_op.create_index("uq_calendar_feed_active_user", ["user_id"], unique=True,
                              sqlite_where=sa.text("revoked_at IS NULL"),
                              postgresql_where=sa.text("revoked_at IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.drop_index("uq_calendar_feed_active_user",
                            sqlite_where=sa.text("revoked_at IS NULL"),
                            postgresql_where=sa.text("revoked_at IS NULL"))
        batch_op.drop_index(batch_op.f("ix_calendar_feed_user_id"))
    op.drop_table("calendar_feed")

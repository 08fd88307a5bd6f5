"""accounts: printed names unique among active users, temporary passwords after a reset

Revision ID: 0006_accounts
Revises: 0004
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0006_accounts"
down_revision = "0004"
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    # As cartrack.users.models.printed_name_key at the time of this migration.
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def upgrade() -> None:
    conn = op.get_bind()
    users = sa.table("user", sa.column("id", sa.Integer), sa.column("full_name", sa.String),
                     sa.column("active", sa.Boolean), sa.column("printed_name_key", sa.String))
    rows = conn.execute(sa.select(users.c.id, users.c.full_name, users.c.active)).all()
    _refuse_shared_names(rows)  # before any change: SQLite's schema changes do not roll back
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("printed_name_key",
                                      sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("temporary_password_expires_at",
                                      cartrack.db.UTCDateTime(timezone=True), nullable=True))
    for row in rows:
        conn.execute(users.update().where(users.c.id == row.id)
                     .values(printed_name_key=_key(row.full_name)))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("printed_name_key", existing_type=sa.String(200), nullable=False)
        batch_op.create_index("uq_user_active_printed_name", ["printed_name_key"], unique=True,
                              sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))


def _refuse_shared_names(rows: Sequence[Any]) -> None:
    active: dict[str, list[str]] = {}
    for row in rows:
        if row.active:
            active.setdefault(_key(row.full_name), []).append(row.full_name)
    shared = sorted(names[0] for names in active.values() if len(names) > 1)
    if shared:
        raise RuntimeError(
            "Printed names must be unique among active users (they appear on e-signatures); "
            f"these are shared: {', '.join(shared)}. Rename or disable one of each, then migrate "
            "again.")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("uq_user_active_printed_name")
        batch_op.drop_column("temporary_password_expires_at")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("printed_name_key")

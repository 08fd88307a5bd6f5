"""audit trail is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END""",
    """CREATE TRIGGER signature_no_update BEFORE UPDATE ON signature
       BEGIN SELECT RAISE(ABORT, 'signature is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER signature_no_delete BEFORE DELETE ON signature
       BEGIN SELECT RAISE(ABORT, 'signature is append-only: DELETE refused'); END""",
]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION cartrack_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION cartrack_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
       FOR EACH STATEMENT EXECUTE FUNCTION cartrack_append_only()""",
    """CREATE TRIGGER signature_append_only BEFORE UPDATE OR DELETE ON signature
       FOR EACH ROW EXECUTE FUNCTION cartrack_append_only()""",
    """CREATE TRIGGER signature_no_truncate BEFORE TRUNCATE ON signature
       FOR EACH STATEMENT EXECUTE FUNCTION cartrack_append_only()""",
]


def upgrade() -> None:
    statements = POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE
    for sql in statements:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in [("audit_entry_append_only", "audit_entry"),
                            ("audit_entry_no_truncate", "audit_entry"),
                            ("signature_append_only", "signature"),
                            ("signature_no_truncate", "signature")]:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cartrack_append_only()")
    else:
        for name in ("audit_entry_no_update", "audit_entry_no_delete", "signature_no_update",
                     "signature_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")

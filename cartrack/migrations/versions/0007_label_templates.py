"""label templates under version control; what a bag's label prints (anticoagulant, cell dose,
cryopreservation time); the template version of every label print

Revision ID: 0007_label_templates
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0007_label_templates"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("proposed_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "version"),
    )
    with op.batch_alter_table("label_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_template_kind"), ["kind"], unique=False)
    # One version in effect per kind.
    op.create_index("ux_label_template_in_effect", "label_template", ["kind"], unique=True,
                    sqlite_where=sa.text("status = 'approved'"),
                    postgresql_where=sa.text("status = 'approved'"))
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_label_print_template_id", "label_template",
                                    ["template_id"], ["id"])
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anticoagulant", sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column("cell_dose", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("cryopreserved_at", cartrack.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("cryopreserved_at")
        batch_op.drop_column("cell_dose")
        batch_op.drop_column("anticoagulant")
    with op.batch_alter_table("label_print", schema=None) as batch_op:
        batch_op.drop_constraint("fk_label_print_template_id", type_="foreignkey")
        batch_op.drop_column("template_version")
        batch_op.drop_column("template_id")
    op.drop_index("ux_label_template_in_effect", table_name="label_template")
    with op.batch_alter_table("label_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_template_kind"))
    op.drop_table("label_template")

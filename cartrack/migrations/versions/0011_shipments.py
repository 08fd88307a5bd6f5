"""shipments and the cold chain: shipping profiles (versioned), shippers, data loggers,
shipments, temperature readings and excursions

Revision ID: 0010_shipments
Revises: 0009_fhir_analytics
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cartrack.db

revision = "0011_shipments"
down_revision = "0010_scheduling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("data_logger",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column("calibrated_until", sa.Date(), nullable=False),
    sa.Column("sensor_min_c", sa.Float(), nullable=False),
    sa.Column("sensor_max_c", sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("data_logger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_logger_serial"), ["serial"], unique=True)

    op.create_table("shipper",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column("profile_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("qualified_until", sa.Date(), nullable=False),
    sa.Column("nominal_hold_hours", sa.Float(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("shipper", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipper_serial"), ["serial"], unique=True)

    op.create_table("shipping_profile",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column("low_c", sa.Float(), nullable=False),
    sa.Column("high_c", sa.Float(), nullable=False),
    sa.Column("max_transit_hours", sa.Float(), nullable=False),
    sa.Column("logger_interval_minutes", sa.Float(), nullable=False),
    sa.Column("requires_logger", sa.Boolean(), nullable=False),
    sa.Column("requires_seal", sa.Boolean(), nullable=False),
    sa.Column("mkt", sa.Boolean(), nullable=False),
    sa.Column("alarm_rules", sa.JSON(), nullable=False),
    sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column("current", sa.Boolean(), nullable=False),
    sa.Column("published_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("code", "version")
    )
    with op.batch_alter_table("shipping_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipping_profile_code"), ["code"], unique=False)

    op.create_table("shipment",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.Integer(), nullable=False),
    sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column("profile_id", sa.Integer(), nullable=False),
    sa.Column("shipper_type", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column("shipper_serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column("logger_serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column("seal_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column("courier", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column("air_waybill", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column("units", sa.JSON(), nullable=False),
    sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column("packed_by", sa.Integer(), nullable=False),
    sa.Column("handed_over_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("received_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("received_by", sa.Integer(), nullable=True),
    sa.Column("late_alert_id", sa.Integer(), nullable=True),
    sa.Column("hold_alert_id", sa.Integer(), nullable=True),
    sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column("receipt_checklist", sa.JSON(), nullable=True),
    sa.Column("receipt_signature_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["case_id"], ["case.id"], ),
    sa.ForeignKeyConstraint(["packed_by"], ["user.id"], ),
    sa.ForeignKeyConstraint(["profile_id"], ["shipping_profile.id"], ),
    sa.ForeignKeyConstraint(["received_by"], ["user.id"], ),
    sa.ForeignKeyConstraint(["late_alert_id"], ["alert.id"], ),
    sa.ForeignKeyConstraint(["hold_alert_id"], ["alert.id"], ),
    sa.ForeignKeyConstraint(["receipt_signature_id"], ["signature.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.create_index("ix_shipment_case", ["case_id"], unique=False)
        batch_op.create_index("ix_shipment_status", ["status"], unique=False)

    op.create_table("excursion",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("shipment_id", sa.Integer(), nullable=False),
    sa.Column("rule_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column("started_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("ended_at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("triggered_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("duration_minutes", sa.Float(), nullable=False),
    sa.Column("extreme_c", sa.Float(), nullable=False),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("disposition", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column("disposition_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column("disposition_by", sa.Integer(), nullable=True),
    sa.Column("disposition_at", cartrack.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column("signature_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["disposition_by"], ["user.id"], ),
    sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"], ),
    sa.ForeignKeyConstraint(["signature_id"], ["signature.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("shipment_id", "rule_key", "started_at")
    )
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.create_index("ix_excursion_pending", ["shipment_id", "disposition"], unique=False)

    op.create_table("temperature_reading",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("shipment_id", sa.Integer(), nullable=False),
    sa.Column("logger_serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column("at", cartrack.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("temp_c", sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("shipment_id", "logger_serial", "at")
    )


def downgrade() -> None:
    op.drop_table("temperature_reading")
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.drop_index("ix_excursion_pending")

    op.drop_table("excursion")
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_status")
        batch_op.drop_index("ix_shipment_case")

    op.drop_table("shipment")
    with op.batch_alter_table("shipping_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipping_profile_code"))

    op.drop_table("shipping_profile")
    with op.batch_alter_table("shipper", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipper_serial"))

    op.drop_table("shipper")
    with op.batch_alter_table("data_logger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_logger_serial"))

    op.drop_table("data_logger")

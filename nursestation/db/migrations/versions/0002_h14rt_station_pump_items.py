"""Pump-change items found by the station's own scan name no user.

The pump-change scan runs in the station controller whether or not anyone is logged in, so the
pending item it records is the station's observation (``recorded_by_id`` NULL, as for an alarm
engine's events); the nurse who confirms or dismisses it signs that amendment.

Revision ID: 0002_h14rt_station_pump_items
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_h14rt_station_pump_items'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pump_change_items', schema=None) as batch_op:
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Items the station recorded with no one logged in have no user to give back: refuse
    # rather than invent one.
    conn = op.get_bind()
    orphans = conn.execute(sa.text(
        "SELECT COUNT(*) FROM pump_change_items WHERE recorded_by_id IS NULL")).scalar()
    if orphans:
        raise RuntimeError(f"{orphans} pump-change item(s) were recorded by the station with no "
                           "user; they cannot be kept under the older schema")
    with op.batch_alter_table('pump_change_items', schema=None) as batch_op:
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=False)

"""Late entries: every clinical entry may carry the reason it was charted late (after the visit
was discharged, or long after it happened). A late entry is flagged, never silent.

Revision ID: 0002_h14cmd_late_entries
Revises: 0001
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_h14cmd_late_entries'
down_revision = '0002_h16_trust'
branch_labels = None
depends_on = None

#: every clinical-entry table (``db.models.CLINICAL_MODELS``); plain ADD COLUMN, so SQLite
#: keeps its tables (and any triggers on them) instead of copying them
TABLES = ('screenings', 'infusion_events', 'medication_administrations', 'assessments', 'notes',
          'ride_arrangements', 'discharge_decisions', 'pump_change_items')


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('late_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('late_reason')

"""Vitals keep their measurement site: a second SpO2 probe or another temperature site is
recorded with its site, and marked as not the chair's primary site so no rule reads it.

Rows stored before were all the primary site's (the station kept no other), so existing rows
take site "" and primary_site true. Plain ADD COLUMN: SQLite keeps the table and its append-only
triggers instead of copying it.

Revision ID: 0003_t1820_vital_site
Revises: 0002_h20_hl7_outbound
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_t1820_vital_site'
down_revision = '0002_h20_hl7_outbound'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('vitals', sa.Column('site', sa.String(length=32), nullable=False,
                                      server_default=''))
    op.add_column('vitals', sa.Column('primary_site', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): no table copy, triggers kept
    op.execute('ALTER TABLE vitals DROP COLUMN primary_site')
    op.execute('ALTER TABLE vitals DROP COLUMN site')

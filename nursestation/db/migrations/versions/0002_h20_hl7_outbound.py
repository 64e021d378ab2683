"""HL7 outbound queue: the messages for the EHR and their delivery attempts.

Revision ID: 0002_h20_hl7_outbound
Revises: 0001
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nursestation.db.types

revision = '0002_h20_hl7_outbound'
down_revision = '0002_h14cmd_late_entries'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hl7_outbound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('control_id', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('destination', sa.String(length=300), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('covers_from', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('covers_until', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('vitals', 'summary')", name=op.f('ck_hl7_outbound_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_hl7_outbound_created_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'],
                            name=op.f('fk_hl7_outbound_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_outbound')),
    sa.UniqueConstraint('control_id', name=op.f('uq_hl7_outbound_control_id'))
    )
    with op.batch_alter_table('hl7_outbound', schema=None) as batch_op:
        batch_op.create_index('ix_hl7_outbound_visit_id_kind', ['visit_id', 'kind'],
                              unique=False)

    op.create_table('hl7_outbound_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('ack_code', sa.String(length=4), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.CheckConstraint("outcome IN ('accepted', 'refused', 'error')",
                       name=op.f('ck_hl7_outbound_attempts_outcome')),
    sa.ForeignKeyConstraint(['message_id'], ['hl7_outbound.id'],
                            name=op.f('fk_hl7_outbound_attempts_message_id_hl7_outbound')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hl7_outbound_attempts'))
    )
    with op.batch_alter_table('hl7_outbound_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hl7_outbound_attempts_message_id'), ['message_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hl7_outbound_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hl7_outbound_attempts_message_id'))
    op.drop_table('hl7_outbound_attempts')
    with op.batch_alter_table('hl7_outbound', schema=None) as batch_op:
        batch_op.drop_index('ix_hl7_outbound_visit_id_kind')
    op.drop_table('hl7_outbound')

"""Initial schema: users, patients, chairs, devices, visits, clinical entries, vitals, wave
chunks, alarm events, audit log and the change marker.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 19:34:50.095610
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nursestation.db.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chairs')),
    sa.UniqueConstraint('name', name=op.f('uq_chairs_name'))
    )
    op.create_table('change_marker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_marker'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('pin_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('nurse', 'charge', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_log_prev_hash'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_entity_type_entity_id', ['entity_type', 'entity_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_key', sa.String(length=100), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=True),
    sa.Column('protocol', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_devices_chair_id_chairs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('device_key', name=op.f('uq_devices_device_key'))
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mrn', sa.String(length=64), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('allergies', sa.Text(), nullable=False),
    sa.Column('created_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_patients_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('mrn', name=op.f('uq_patients_mrn'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patients_family_name'), ['family_name'], unique=False)

    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('protocol_name', sa.String(length=200), nullable=False),
    sa.Column('protocol_version', sa.String(length=64), nullable=False),
    sa.Column('protocol_hash', sa.String(length=64), nullable=False),
    sa.Column('course_number', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('created_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('checkin_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checkin_by_id', sa.Integer(), nullable=True),
    sa.Column('baseline_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('baseline_by_id', sa.Integer(), nullable=True),
    sa.Column('infusion_start_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('infusion_start_by_id', sa.Integer(), nullable=True),
    sa.Column('infusion_stop_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('infusion_stop_by_id', sa.Integer(), nullable=True),
    sa.Column('recovery_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recovery_by_id', sa.Integer(), nullable=True),
    sa.Column('discharge_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('discharge_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("phase IN ('check_in', 'baseline', 'infusing', 'recovery', 'discharged', 'cancelled')", name=op.f('ck_visits_phase')),
    sa.CheckConstraint('course_number >= 1', name=op.f('ck_visits_course_number')),
    sa.ForeignKeyConstraint(['baseline_by_id'], ['users.id'], name=op.f('fk_visits_baseline_by_id_users')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_visits_cancelled_by_id_users')),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_visits_chair_id_chairs')),
    sa.ForeignKeyConstraint(['checkin_by_id'], ['users.id'], name=op.f('fk_visits_checkin_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_visits_created_by_id_users')),
    sa.ForeignKeyConstraint(['discharge_by_id'], ['users.id'], name=op.f('fk_visits_discharge_by_id_users')),
    sa.ForeignKeyConstraint(['infusion_start_by_id'], ['users.id'], name=op.f('fk_visits_infusion_start_by_id_users')),
    sa.ForeignKeyConstraint(['infusion_stop_by_id'], ['users.id'], name=op.f('fk_visits_infusion_stop_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_visits_patient_id_patients')),
    sa.ForeignKeyConstraint(['recovery_by_id'], ['users.id'], name=op.f('fk_visits_recovery_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_chair_id_phase', ['chair_id', 'phase'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_patient_id'), ['patient_id'], unique=False)

    op.create_table('alarm_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('alarm_key', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("priority IN ('high', 'medium', 'low')", name=op.f('ck_alarm_events_priority')),
    sa.CheckConstraint("state IN ('raised', 'latched', 'acknowledged', 'paused', 'resumed', 'escalated', 'cleared')", name=op.f('ck_alarm_events_state')),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_alarm_events_chair_id_chairs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alarm_events_user_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_alarm_events_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_events'))
    )
    with op.batch_alter_table('alarm_events', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_events_chair_id_at', ['chair_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_events_visit_id'), ['visit_id'], unique=False)

    op.create_table('assessments',
    sa.Column('scale', sa.String(length=32), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['assessments.id'], name=op.f('fk_assessments_amends_id_assessments')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_assessments_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['assessments.id'], name=op.f('fk_assessments_root_id_assessments')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_assessments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_assessments_amends_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_visit_id'), ['visit_id'], unique=False)

    op.create_table('discharge_decisions',
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('all_met', sa.Boolean(), nullable=False),
    sa.Column('override', sa.Boolean(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('override_by_id', sa.Integer(), nullable=True),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('instructions_given', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['discharge_decisions.id'], name=op.f('fk_discharge_decisions_amends_id_discharge_decisions')),
    sa.ForeignKeyConstraint(['override_by_id'], ['users.id'], name=op.f('fk_discharge_decisions_override_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_discharge_decisions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['discharge_decisions.id'], name=op.f('fk_discharge_decisions_root_id_discharge_decisions')),
    sa.ForeignKeyConstraint(['signer_id'], ['users.id'], name=op.f('fk_discharge_decisions_signer_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_discharge_decisions_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discharge_decisions')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_discharge_decisions_amends_id'))
    )
    with op.batch_alter_table('discharge_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discharge_decisions_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discharge_decisions_visit_id'), ['visit_id'], unique=False)

    op.create_table('infusion_events',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rate_ml_h', sa.Float(), nullable=True),
    sa.Column('dose_mg_kg_h', sa.Float(), nullable=True),
    sa.Column('concentration_mg_ml', sa.Float(), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=True),
    sa.Column('reason_text', sa.Text(), nullable=False),
    sa.Column('limit_confirmation', sa.Text(), nullable=True),
    sa.Column('override_by_id', sa.Integer(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('start', 'rate_change', 'pause', 'resume', 'stop')", name=op.f('ck_infusion_events_kind')),
    sa.ForeignKeyConstraint(['amends_id'], ['infusion_events.id'], name=op.f('fk_infusion_events_amends_id_infusion_events')),
    sa.ForeignKeyConstraint(['override_by_id'], ['users.id'], name=op.f('fk_infusion_events_override_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_infusion_events_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['infusion_events.id'], name=op.f('fk_infusion_events_root_id_infusion_events')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_infusion_events_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_events')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_infusion_events_amends_id'))
    )
    with op.batch_alter_table('infusion_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_events_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_infusion_events_visit_id'), ['visit_id'], unique=False)

    op.create_table('latest_vitals',
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('device_key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('text', sa.String(length=200), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('quality', sa.String(length=200), nullable=False),
    sa.Column('source_time', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recv_time', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_latest_vitals_chair_id_chairs')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_latest_vitals_visit_id_visits')),
    sa.PrimaryKeyConstraint('chair_id', 'code', name=op.f('pk_latest_vitals'))
    )
    op.create_table('medication_administrations',
    sa.Column('drug', sa.String(length=100), nullable=False),
    sa.Column('dose', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.Column('site', sa.String(length=100), nullable=False),
    sa.Column('indication', sa.String(length=100), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('response_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('late_entry', sa.Boolean(), nullable=False),
    sa.Column('override_by_id', sa.Integer(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['medication_administrations.id'], name=op.f('fk_medication_administrations_amends_id_medication_administrations')),
    sa.ForeignKeyConstraint(['override_by_id'], ['users.id'], name=op.f('fk_medication_administrations_override_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_medication_administrations_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['medication_administrations.id'], name=op.f('fk_medication_administrations_root_id_medication_administrations')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_medication_administrations_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medication_administrations')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_medication_administrations_amends_id'))
    )
    with op.batch_alter_table('medication_administrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_medication_administrations_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_medication_administrations_visit_id'), ['visit_id'], unique=False)

    op.create_table('notes',
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['notes.id'], name=op.f('fk_notes_amends_id_notes')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_notes_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['notes.id'], name=op.f('fk_notes_root_id_notes')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_notes_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_notes_amends_id'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notes_visit_id'), ['visit_id'], unique=False)

    op.create_table('patient_weights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('weight_kg', sa.Float(), nullable=False),
    sa.Column('measured_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('weight_kg > 0', name=op.f('ck_patient_weights_positive')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_weights_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_patient_weights_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_patient_weights_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_weights'))
    )
    with op.batch_alter_table('patient_weights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_weights_patient_id'), ['patient_id'], unique=False)

    op.create_table('pump_change_items',
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('pump_values', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'dismissed')", name=op.f('ck_pump_change_items_status')),
    sa.ForeignKeyConstraint(['amends_id'], ['pump_change_items.id'], name=op.f('fk_pump_change_items_amends_id_pump_change_items')),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_pump_change_items_chair_id_chairs')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_pump_change_items_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['pump_change_items.id'], name=op.f('fk_pump_change_items_root_id_pump_change_items')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_pump_change_items_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pump_change_items')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_pump_change_items_amends_id'))
    )
    with op.batch_alter_table('pump_change_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pump_change_items_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pump_change_items_visit_id'), ['visit_id'], unique=False)

    op.create_table('ride_arrangements',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('driver_name', sa.String(length=200), nullable=False),
    sa.Column('relationship', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('expected_arrival', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('booking_ref', sa.String(length=100), nullable=False),
    sa.Column('confirmation_method', sa.String(length=32), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('driver', 'car_service')", name=op.f('ck_ride_arrangements_kind')),
    sa.ForeignKeyConstraint(['amends_id'], ['ride_arrangements.id'], name=op.f('fk_ride_arrangements_amends_id_ride_arrangements')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_ride_arrangements_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_ride_arrangements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['ride_arrangements.id'], name=op.f('fk_ride_arrangements_root_id_ride_arrangements')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_ride_arrangements_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ride_arrangements')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_ride_arrangements_amends_id'))
    )
    with op.batch_alter_table('ride_arrangements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ride_arrangements_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ride_arrangements_visit_id'), ['visit_id'], unique=False)

    op.create_table('screenings',
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('amend_reason', sa.Text(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amends_id'], ['screenings.id'], name=op.f('fk_screenings_amends_id_screenings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_screenings_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['root_id'], ['screenings.id'], name=op.f('fk_screenings_root_id_screenings')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_screenings_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenings')),
    sa.UniqueConstraint('amends_id', name=op.f('uq_screenings_amends_id'))
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenings_root_id'), ['root_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screenings_visit_id'), ['visit_id'], unique=False)

    op.create_table('vitals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('device_key', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('text', sa.String(length=200), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('quality', sa.String(length=200), nullable=False),
    sa.Column('source_time', nursestation.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recv_time', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_vitals_chair_id_chairs')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_vitals_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vitals'))
    )
    with op.batch_alter_table('vitals', schema=None) as batch_op:
        batch_op.create_index('ix_vitals_chair_id_recv_time', ['chair_id', 'recv_time'], unique=False)
        batch_op.create_index('ix_vitals_visit_id_code_recv_time', ['visit_id', 'code', 'recv_time'], unique=False)

    op.create_table('wave_chunks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('device_key', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('start_time', nursestation.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rate_hz', sa.Float(), nullable=False),
    sa.Column('n_samples', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('quality', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_wave_chunks_chair_id_chairs')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_wave_chunks_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wave_chunks'))
    )
    with op.batch_alter_table('wave_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_wave_chunks_chair_id_code_start_time', ['chair_id', 'code', 'start_time'], unique=False)
        batch_op.create_index('ix_wave_chunks_visit_id_code_start_time', ['visit_id', 'code', 'start_time'], unique=False)

    # The change marker's single row (bumped by every clinical, visit and alarm write).
    op.bulk_insert(sa.table('change_marker', sa.column('id', sa.Integer()),
                            sa.column('seq', sa.BigInteger())), [{'id': 1, 'seq': 0}])


def downgrade() -> None:
    with op.batch_alter_table('wave_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_wave_chunks_visit_id_code_start_time')
        batch_op.drop_index('ix_wave_chunks_chair_id_code_start_time')

    op.drop_table('wave_chunks')
    with op.batch_alter_table('vitals', schema=None) as batch_op:
        batch_op.drop_index('ix_vitals_visit_id_code_recv_time')
        batch_op.drop_index('ix_vitals_chair_id_recv_time')

    op.drop_table('vitals')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screenings_visit_id'))
        batch_op.drop_index(batch_op.f('ix_screenings_root_id'))

    op.drop_table('screenings')
    with op.batch_alter_table('ride_arrangements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ride_arrangements_visit_id'))
        batch_op.drop_index(batch_op.f('ix_ride_arrangements_root_id'))

    op.drop_table('ride_arrangements')
    with op.batch_alter_table('pump_change_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pump_change_items_visit_id'))
        batch_op.drop_index(batch_op.f('ix_pump_change_items_root_id'))

    op.drop_table('pump_change_items')
    with op.batch_alter_table('patient_weights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_weights_patient_id'))

    op.drop_table('patient_weights')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_visit_id'))
        batch_op.drop_index(batch_op.f('ix_notes_root_id'))

    op.drop_table('notes')
    with op.batch_alter_table('medication_administrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_medication_administrations_visit_id'))
        batch_op.drop_index(batch_op.f('ix_medication_administrations_root_id'))

    op.drop_table('medication_administrations')
    op.drop_table('latest_vitals')
    with op.batch_alter_table('infusion_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_events_visit_id'))
        batch_op.drop_index(batch_op.f('ix_infusion_events_root_id'))

    op.drop_table('infusion_events')
    with op.batch_alter_table('discharge_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discharge_decisions_visit_id'))
        batch_op.drop_index(batch_op.f('ix_discharge_decisions_root_id'))

    op.drop_table('discharge_decisions')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_visit_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_root_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('alarm_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_events_visit_id'))
        batch_op.drop_index('ix_alarm_events_chair_id_at')

    op.drop_table('alarm_events')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_patient_id'))
        batch_op.drop_index('ix_visits_chair_id_phase')

    op.drop_table('visits')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_family_name'))

    op.drop_table('patients')
    op.drop_table('devices')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity_type_entity_id')

    op.drop_table('audit_log')
    op.drop_table('users')
    op.drop_table('change_marker')
    op.drop_table('chairs')

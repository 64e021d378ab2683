"""Trust: the database's own id and facts (``station_meta``), PIN failure counting and lockout
on ``users``, chairs owned by a workstation (``chairs.workstation``, ``workstations`` with a
heartbeat), and append-only enforcement by the database itself on the clinical, machine and
audit tables (SQLite and PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE).

Audit rows written before this revision keep their plain SHA-256 chain; rows from
``audit_keyed_from`` on are chained with HMAC-SHA256 under a key kept outside the database.

A later migration that rebuilds one of these tables (SQLite batch "move and copy") drops its
triggers with the old table and must create them again (``append_only_sql``).

Revision ID: 0002_h16_trust
Revises: 0001
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import nursestation.db.types

revision = "0002_h16_trust"
down_revision = "0002_h14rt_station_pump_items"
branch_labels = None
depends_on = None

#: Frozen here (a migration never follows later model changes).
APPEND_ONLY = (
    "screenings", "infusion_events", "medication_administrations", "assessments", "notes",
    "ride_arrangements", "discharge_decisions", "pump_change_items", "patient_weights",
    "alarm_events", "vitals", "wave_chunks", "audit_log",
)


def append_only_sql(dialect: str, table: str) -> list[str]:
    """The statements that make ``table`` append-only on ``dialect``."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER append_only_{table}_{op_} BEFORE {op_.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op_.upper()} refused'); END"
            for op_ in ("update", "delete")
        ]
    return [
        f"CREATE TRIGGER append_only_{table} BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION nursestation_append_only()",
        f"CREATE TRIGGER append_only_{table}_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION nursestation_append_only()",
    ]


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION nursestation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


def upgrade() -> None:
    meta = op.create_table(
        "station_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_station_meta")),
    )
    bind = op.get_bind()

    def next_id(table: str) -> str:
        return str(int(bind.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))
                       .scalar() or 1))

    # Rows already stored keep what they had: the keyed chain and the coverage of stored
    # vitals and wave chunks by audit rows start after them.
    op.bulk_insert(meta, [
        {"key": "database_id", "value": uuid.uuid4().hex},
        {"key": "audit_keyed_from", "value": next_id("audit_log")},
        {"key": "vitals_covered_from", "value": next_id("vitals")},
        {"key": "wave_chunks_covered_from", "value": next_id("wave_chunks")},
    ])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_pins", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("last_failed_pin_at",
                                   nursestation.db.types.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("locked_at", nursestation.db.types.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("chairs") as batch:
        batch.add_column(sa.Column("workstation", sa.String(length=64), server_default="",
                                   nullable=False))
    op.create_table(
        "workstations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", nursestation.db.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("heartbeat_at", nursestation.db.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workstations")),
    )
    dialect = bind.dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table in APPEND_ONLY:
        for stmt in append_only_sql(dialect, table):
            op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_update")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS append_only_{table}_truncate ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS nursestation_append_only()")
    op.drop_table("workstations")
    with op.batch_alter_table("chairs") as batch:
        batch.drop_column("workstation")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locked_at")
        batch.drop_column("last_failed_pin_at")
        batch.drop_column("failed_pins")
    op.drop_table("station_meta")

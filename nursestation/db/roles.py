"""PostgreSQL roles for a clinic: the database itself refuses UPDATE and DELETE on the
clinical, machine and audit tables to the stations (issue 16).

- the **owner** (the role that runs ``nursestation db upgrade`` and the user-administration
  commands; IT only) owns the schema;
- ``nursestation_station`` (each station workstation): SELECT everywhere, INSERT on the
  append-only tables, INSERT/UPDATE on the few tables that change in place (visits move
  through their phases, chairs and devices follow the config, the latest-vitals cache, the
  change marker), and on ``users`` only the PIN-failure columns;
- ``nursestation_overview`` (the charge nurse's overview): SELECT everywhere, plus what a login
  needs - counting a wrong PIN on ``users`` and its audit row.

No role but the owner may UPDATE, DELETE or TRUNCATE an append-only table; the triggers of
migration ``0002_h16_trust`` refuse it even to the owner. ``nursestation db roles`` prints the
SQL; run it with psql as the owner after every ``db upgrade`` (new tables need their grants).
"""

from __future__ import annotations

from nursestation.db.models import APPEND_ONLY_TABLES, Base

STATION_ROLE = "nursestation_station"
OVERVIEW_ROLE = "nursestation_overview"
#: Tables a station changes in place (each change audited with the row's full content).
STATION_UPDATES = ("visits", "chairs", "devices", "patients", "latest_vitals", "change_marker",
                   "workstations", "station_meta")
#: The columns of ``users`` a login writes (failed PINs, lockout).
LOGIN_COLUMNS = ("failed_pins", "last_failed_pin_at", "locked_at")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def roles_sql(database: str) -> str:
    """The SQL that creates (if missing) and grants the two roles on ``database``."""
    tables = sorted(Base.metadata.tables)
    append_only = [t for t in tables if t in APPEND_ONLY_TABLES]
    updatable = [t for t in tables if t in STATION_UPDATES]
    cols = ", ".join(LOGIN_COLUMNS)
    lines = [
        "-- NurseStation roles; run as the database owner, e.g.",
        f"--   psql -v ON_ERROR_STOP=1 -d {database} -f roles.sql",
        "-- then give each role a password (\\password nursestation_station) or a client",
        "-- certificate; passwords go in ~/.pgpass or PGPASSWORD, never in the config file.",
        "DO $$ BEGIN",
    ]
    for role in (STATION_ROLE, OVERVIEW_ROLE):
        lines.append(f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                     f"CREATE ROLE {role} LOGIN; END IF;")
    lines.append("END $$;")
    lines += [
        f"REVOKE ALL ON DATABASE {_q(database)} FROM PUBLIC;",
        f"GRANT CONNECT ON DATABASE {_q(database)} TO {STATION_ROLE}, {OVERVIEW_ROLE};",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        f"GRANT USAGE ON SCHEMA public TO {STATION_ROLE}, {OVERVIEW_ROLE};",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {STATION_ROLE}, {OVERVIEW_ROLE};",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {STATION_ROLE}, {OVERVIEW_ROLE};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {STATION_ROLE};",
        f"GRANT INSERT ON {', '.join(append_only)} TO {STATION_ROLE};",
        f"GRANT INSERT, UPDATE ON {', '.join(updatable)} TO {STATION_ROLE};",
        f"GRANT UPDATE ({cols}) ON users TO {STATION_ROLE}, {OVERVIEW_ROLE};",
        f"GRANT INSERT ON audit_log TO {OVERVIEW_ROLE};",
    ]
    return "\n".join(lines) + "\n"

"""The clinical record store: models, engine, migrations, the single writer, repository functions.

No Qt here. Typical use::

    from nursestation.db import Database
    db = Database.open(config.database_url)          # upgrades the schema first
    fut = db.writer.submit(repo.add_note, visit_id, "text", user=user)   # Future, resolves after COMMIT
    with db.session_scope() as s:                    # short reader session
        notes = repo.current_entries(s, Note, visit_id)
    db.close()
"""

from nursestation.db.audit import AuditVerifyResult, current_change_seq, verify_audit
from nursestation.db.engine import make_engine, session_scope, upgrade_database
from nursestation.db.writer import Database, DbWriter

__all__ = [
    "AuditVerifyResult",
    "Database",
    "DbWriter",
    "current_change_seq",
    "make_engine",
    "session_scope",
    "upgrade_database",
    "verify_audit",
]

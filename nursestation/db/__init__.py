"""The clinical record store: models, engine, migrations, the single writer, repository functions.

No Qt here. Typical use::

    from nursestation.db import Database
    db = Database.open(config.database_url)          # upgrades the schema first
    fut = db.writer.submit(repo.add_note, visit_id, "text", user=user)   # Future, resolves after COMMIT
    with db.session_scope() as s:                    # short reader session
        notes = repo.current_entries(s, Note, visit_id)
    db.close()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nursestation.db.audit import AuditVerifyResult, current_change_seq, verify_audit
    from nursestation.db.engine import make_engine, session_scope, upgrade_database
    from nursestation.db.writer import Database, DbWriter

#: Where each name lives. Imported on first use (PEP 562), not with the package: a plain
#: constant module (``db.discharge_inputs``) must not bring SQLAlchemy and the ORM models
#: (~0.5 s) into a process before it needs them; the station draws its first frame first.
_LAZY = {
    "AuditVerifyResult": "audit", "current_change_seq": "audit", "verify_audit": "audit",
    "make_engine": "engine", "session_scope": "engine", "upgrade_database": "engine",
    "Database": "writer", "DbWriter": "writer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

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

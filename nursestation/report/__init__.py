"""Printed session summaries: data model, PDF rendering and the ``report`` command.

- ``model.VisitSummary`` - what the summary shows, as plain data (no Qt, no SQLAlchemy);
- ``build.build_summary(session, visit_id, protocol)`` - that data from the clinical record;
- ``render.render_pdf(summary, out)`` - the PDF (reportlab: real text, vector chart);
- ``cmd_report(config, visit_id, out)`` - ``nursestation report VISIT --out FILE.pdf``.

The UI prints the same PDF (``nursestation.ui.printing``), so paper, export and command line
never disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nursestation.config import Config


def _err(msg: str) -> None:
    print(f"nursestation: {msg}", file=sys.stderr)


def cmd_report(config: Config, visit_id: int, out: str | Path) -> int:
    """Write visit ``visit_id``'s summary to ``out`` and print the path. Reads only: the
    database is not migrated or written. Returns the exit status (1: unknown visit or an
    unusable database or output path)."""
    from sqlalchemy.exc import SQLAlchemyError

    from nursestation.core.protocol import load_protocol
    from nursestation.db.engine import (
        current_revision,
        db_error_reason,
        head_revision,
        make_engine,
        session_scope,
        shown_url,
        sqlite_path,
    )
    from nursestation.report.build import UnknownVisit, build_summary
    from nursestation.report.render import render_pdf

    protocol = load_protocol(config.protocol_file)  # a bad file: ProtocolError, exit 2 in cli
    path = sqlite_path(config.database_url)
    if path is not None and not path.exists():
        _err(f"no database at {path}; check database_url in the configuration")
        return 1
    engine = make_engine(config.database_url)
    try:
        try:
            rev = current_revision(engine)
        except SQLAlchemyError as exc:
            _err(f"cannot open the database {shown_url(config.database_url)}: "
                 f"{db_error_reason(exc)}")
            return 1
        if rev != head_revision():
            state = "is empty" if rev is None else f"is at revision {rev}"
            demo = "" if config.demo else " (the demo keeps its own database: add --demo)"
            _err(f"the database {state}; run `nursestation db upgrade` first{demo}")
            return 1
        with session_scope(engine) as session:
            try:
                summary = build_summary(session, visit_id, protocol, clinic=config.clinic_name)
            except UnknownVisit:
                _err(f"no visit {visit_id} in {config.database_url} "
                     "(see `nursestation visits` for the list)")
                return 1
    finally:
        engine.dispose()

    out_path = Path(out).expanduser()
    tmp = out_path.with_name(out_path.name + ".part")
    try:
        render_pdf(summary, tmp, paper=config.paper)
        tmp.replace(out_path)  # never leave a half-written PDF under the real name
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        _err(f"cannot write {out_path}: {exc.strerror or exc}")
        return 1
    print(out_path.resolve())
    return 0


__all__ = ["cmd_report"]

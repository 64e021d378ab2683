"""Each printed session summary shows the audit chain's head, also anchored outside the
database (issue 16, point 2)."""

from __future__ import annotations

import json

from pypdf import PdfReader

from nursestation.config import Config
from nursestation.db import verify_audit
from nursestation.db.audit import anchors_path
from nursestation.db.engine import make_engine, session_scope
from nursestation.report import cmd_report
from tests.report.seed import seed_visit


def test_summary_footer_shows_the_anchored_chain_head(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    vid = seed_visit(url, monkeypatch)
    out = tmp_path / "summary.pdf"
    assert cmd_report(Config(database_url=url), vid, out) == 0
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    anchor = json.loads(anchors_path().read_text().splitlines()[-1])
    assert anchor["event"] == "print"
    assert f"Record integrity: audit chain head: row {anchor['id']}, {anchor['hash'][:16]}" in text
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            assert verify_audit(s).ok
    finally:
        engine.dispose()

"""An entry reported saved survives SIGKILL of the writing process; an entry whose commit never
happened was never reported saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import select

from nursestation.db import Database, repo
from nursestation.db.models import Note
from tests.db.helpers import setup_visit

CHILD = textwrap.dedent("""
    import sys, threading
    from nursestation.db import Database, repo

    url, visit_id, user_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    db = Database.open(url, upgrade=False)
    for i in range(3):
        note = db.writer.submit(repo.add_note, visit_id, f"saved {i}", user=user_id).result()
        print(f"SAVED {note.id} saved {i}", flush=True)

    def never_commits(session):
        repo.add_note(session, visit_id, "never committed", user=user_id)
        session.flush()
        print("PENDING", flush=True)
        threading.Event().wait()  # the process is killed inside the transaction

    fut = db.writer.submit(never_commits)
    fut.result()
    print("SAVED ? never committed", flush=True)  # must never be reached
""")


def test_sigkill_after_reported_commit(database, nurse, db_url):
    _, _, visit = setup_visit(database, nurse)
    database.close()  # the child is the writer now
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(visit.id),
                              str(nurse.id)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    reported: dict[int, str] = {}
    lines = []
    try:
        for line in child.stdout:
            lines.append(line)
            if line.startswith("SAVED"):
                _, note_id, text = line.rstrip("\n").split(" ", 2)
                reported[int(note_id)] = text
                if len(reported) == 1:
                    os.kill(child.pid, signal.SIGKILL)  # right after the first report
            if line.startswith("PENDING"):
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        stderr = child.stderr.read()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, stderr
    assert reported, f"the child never reported a save: {lines} {stderr}"

    db = Database.open(db_url, upgrade=False)
    try:
        with db.session_scope() as s:
            stored = {n.id: n.text for n in s.scalars(select(Note))}
            assert "never committed" not in stored.values()
            for note_id, text in reported.items():
                assert stored.get(note_id) == text
            assert "never committed" not in reported.values()
            assert repo.current_entries(s, Note, visit.id)
    finally:
        db.close()


def test_sigkill_inside_transaction_leaves_nothing(database, nurse, db_url):
    """Killed while the transaction is open: the entry is gone and was never reported."""
    _, _, visit = setup_visit(database, nurse)
    database.close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(visit.id),
                              str(nurse.id)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    out = []
    try:
        for line in child.stdout:
            out.append(line)
            if line.startswith("PENDING"):
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert any(line.startswith("PENDING") for line in out)
    assert not any("never committed" in line for line in out if line.startswith("SAVED"))
    db = Database.open(db_url, upgrade=False)
    try:
        with db.session_scope() as s:
            texts = [n.text for n in s.scalars(select(Note))]
        assert texts == ["saved 0", "saved 1", "saved 2"]
    finally:
        db.close()

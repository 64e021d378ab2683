"""Trust drills (issue 16), repeatable and bounded, loopback only: prints figures.

    python -m benchmarks.trust [--kills 20] [--outage 60] [--skip-outage]

- kills: a writer process charts notes and streams readings into a SQLite file and is
  SIGKILLed at a random moment, again and again; every note it confirmed (after COMMIT) must be
  there, and ``audit verify`` must pass after each kill;
- tampering: the tampering cases of ``tests/trust/test_tamper.py`` (SQLite), detected out of run;
- outage: a 20 Hz stream into a throwaway PostgreSQL cluster that is stopped for ``--outage``
  seconds; readings sent vs stored (lost, duplicated);
- PINs: wrong PINs typed as fast as possible against the default policy: how many are checked
  before the account locks (the guesses an intruder gets until an administrator unlocks it).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

CHILD = r"""
import sys, time
from datetime import UTC, datetime
from nursestation.core.readings import Reading
from nursestation.db import Database, repo
db = Database.open(sys.argv[1], upgrade=False, flush_interval=0.05)
nurse, visit = int(sys.argv[2]), int(sys.argv[3])
i = 0
while True:
    i += 1
    db.writer.record_readings([Reading("HR", 60.0 + i % 40, "bpm", chair="Chair 1",
                                       device_id="c1-mon", recv_wall=datetime.now(UTC))])
    note = db.writer.submit(repo.add_note, visit, f"drill {sys.argv[4]}-{i}", user=nurse).result()
    print(note.text, flush=True)
"""


def drill_kills(kills: int) -> str:
    from sqlalchemy import select

    from nursestation.config import ChairConfig, DeviceConfig
    from nursestation.db import Database, repo, verify_audit
    from nursestation.db.models import Note

    tmp = Path(tempfile.mkdtemp(prefix="ns-trust-"))
    os.environ["NURSESTATION_DATA_DIR"] = str(tmp / "data")
    url = f"sqlite:///{tmp / 'drill.sqlite3'}"
    with Database.open(url) as db:
        w = db.writer
        nurse = w.submit(repo.create_user, "nurse1", "N", "nurse", "4826").result()
        chairs = w.submit(repo.sync_chairs, [ChairConfig("Chair 1", (
            DeviceConfig("intellivue", "loop://", "c1-mon"),))]).result()
        patient = w.submit(repo.create_patient, "MRN-1", "Drill", "Pat", user=nurse).result()
        visit = w.submit(repo.create_visit, patient.id, chairs["Chair 1"].id, "ketamine-iv",
                         user=nurse).result()
    confirmed: list[str] = []
    survived = 0
    rng = random.Random(16)
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, url, str(nurse.id),
                                 str(visit.id), str(k)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ})
        assert proc.stdout is not None
        for _ in range(rng.randint(3, 25)):
            line = proc.stdout.readline()
            if not line:
                break
            confirmed.append(line.strip())
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        confirmed += [x for x in rest.splitlines() if x]
        with Database.open(url, upgrade=False) as db, db.session_scope() as s:
            stored = set(s.scalars(select(Note.text)))
            ok = verify_audit(s).ok and all(c in stored for c in confirmed)
        survived += ok
    return (f"kills: {survived}/{kills} SIGKILLs survived with every confirmed entry kept and "
            f"audit verify passing ({len(confirmed)} confirmed notes)")


def drill_tamper() -> str:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(root / "tests/trust/test_tamper.py"), "-k",
                           "tampering_is_detected and sqlite"], capture_output=True,
                          text=True, cwd=root, timeout=900,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    passed = int(tail.split(" passed")[0].split()[-1]) if " passed" in tail else 0
    failed = int(tail.split(" failed")[0].split()[-1]) if " failed" in tail else 0
    return f"tampering: {passed}/{passed + failed} cases detected and named ({tail.strip()})"


def drill_outage(seconds: float) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sqlalchemy import func, select

    from nursestation.config import ChairConfig
    from nursestation.core.readings import Reading
    from nursestation.db import Database, repo
    from nursestation.db.models import Vital
    from tests.plugins.db import ThrowawayCluster, find_pg_bindir

    bindir = find_pg_bindir()
    if bindir is None:
        return "outage: skipped (no PostgreSQL server binaries)"
    cluster = ThrowawayCluster(bindir)
    opts = (f"-k {cluster.dir} -p {cluster.port} -c listen_addresses='' -c fsync=off "
            f"-c max_connections=60")
    try:
        url = cluster.create_database()
        db = Database.open(url, flush_interval=0.5)
        db.writer._retry_s = 1.0
        db.writer.submit(repo.sync_chairs, [ChairConfig("Chair 1")]).result()
        sent = 0
        t0 = time.monotonic()
        down_at, up_at = 5.0, 5.0 + seconds
        state = "up"
        while time.monotonic() - t0 < up_at + 5.0:
            now = time.monotonic() - t0
            if state == "up" and now >= down_at:
                cluster._run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")
                state = "down"
            elif state == "down" and now >= up_at:
                cluster._run("pg_ctl", "-D", str(cluster.data), "-l",
                             str(cluster.dir / "server.log"), "-w", "-o", opts, "start")
                state = "back"
            db.writer.record_readings([Reading("PR", float(sent), chair="Chair 1",
                                               device_id="ox",
                                               recv_wall=datetime.now(UTC))])
            sent += 1
            time.sleep(0.05)  # 20 Hz
        deadline = time.monotonic() + 120
        while db.writer.health().waiting and time.monotonic() < deadline:
            db.writer.flush().result()
            time.sleep(0.2)
        db.writer.flush().result()
        with db.session_scope() as s:
            stored = s.scalar(select(func.count(Vital.id))) or 0
            distinct = s.scalar(select(func.count(func.distinct(Vital.value)))) or 0
        db.close()
    finally:
        cluster.stop()
    return (f"outage: PostgreSQL stopped {seconds:.0f} s under a 20 Hz stream: {sent} sent, "
            f"{stored} stored, {sent - distinct} lost, {stored - distinct} duplicated")


def drill_pins() -> str:
    from nursestation.core.pinpolicy import PinPolicy
    from nursestation.db import Database, repo

    tmp = Path(tempfile.mkdtemp(prefix="ns-pins-"))
    os.environ["NURSESTATION_DATA_DIR"] = str(tmp / "data")
    policy = PinPolicy()
    with Database.open(f"sqlite:///{tmp / 'pins.sqlite3'}") as db:
        db.writer.submit(repo.create_user, "charge1", "C", "charge", "582604").result()
        checked = refused = 0
        for guess in range(100_000, 100_200):
            r = db.writer.submit(repo.authenticate, "charge1", str(guess),
                                 policy=policy, purpose="override").result()
            if r.outcome in ("wrong",) or (r.outcome == "locked" and r.failures == checked + 1):
                checked += 1
            else:
                refused += 1
    waits = sum(30.0 * 2 ** k for k in range(max(0, policy.lockout_after - policy.delay_after)))
    return (f"PINs: {checked} guesses checked out of 200 typed back to back, {refused} refused "
            f"unchecked (waiting / locked); with the default policy an intruder gets "
            f"{policy.lockout_after} guesses in the first {waits / 60:.1f} min, then none until "
            f"`nursestation user unlock` - {policy.lockout_after} per hour at most")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.trust", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--outage", type=float, default=60.0)
    p.add_argument("--skip-outage", action="store_true")
    args = p.parse_args(argv)
    print(drill_pins(), flush=True)
    print(drill_kills(args.kills), flush=True)
    print(drill_tamper(), flush=True)
    if not args.skip_outage:
        print(drill_outage(args.outage), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


"""HL7 out against a real peer (hl7apy's MLLP server, a different library): `hl7 send`, and
the station's queue through a receiver that is down, then refuses, then accepts."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from nursestation.config import load_config
from nursestation.core.clock import FakeClock
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import hl7queue
from nursestation.db.audit import verify_audit
from nursestation.db.writer import Database
from nursestation.hl7.outbound import OutboundWorker, cmd_send, cmd_status
from tests.hl7.peer import Peer
from tests.report.seed import seed_visit


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def visit(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    return url, seed_visit(url, monkeypatch)


def write_config(tmp_path: Path, url: str, send_to: str | None = None) -> Path:
    cfg = tmp_path / "station.toml"
    text = f'clinic_name = "Harbor Clinic"\ndatabase_url = "{url}"\npaper = "a4"\n'
    if send_to:
        # the peer parses strictly (hl7apy, groups found): a visit's ~115 kB of OBX took it
        # 10-30 s on a busy test machine, against the station's default 30 s wait for an ACK
        text += (f'\n[hl7]\nsend_to = "{send_to}"\nvitals_every_minutes = 15\n'
                 'ack_timeout_seconds = 120\n')
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _obx(node):
    if getattr(node, "name", "") == "OBX":
        yield node
    for child in getattr(node, "children", []):
        yield from _obx(child)


def test_send_a_visit_vitals_and_signed_summary(tmp_path, visit, capsys):
    url, vid = visit
    peer = Peer().start()
    try:
        rc = cmd_send(load_config(write_config(tmp_path, url)), vid, peer.url)
    finally:
        peer.stop()
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "vitals ORU^R01" in out.out and "MDM^T02 (signed)" in out.out
    oru, mdm = peer.state.received
    assert oru.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"
    assert "IHE_PCD_001" in oru.msh.msh_21.to_er7()
    assert oru.to_er7().count("PID|") == 1 and "MRN-77120" in oru.to_er7()
    assert "Okafor^Grace" in oru.to_er7()
    codes = {o.obx_3.obx_3_1.to_er7() for o in _obx(oru)}
    # HR, SpO2, RR, NBP sys/dia as MDC codes, plus the MDS row
    assert {"147842", "150456", "151562", "150021", "150022", "69965"} <= codes
    units = {o.obx_6.to_er7() for o in _obx(oru) if o.obx_2.to_er7() == "NM"}
    assert "266016^MDC_DIM_MMHG^MDC" in units and "264864^MDC_DIM_BEAT_PER_MIN^MDC" in units
    assert all(o.obx_14.to_er7() for o in _obx(oru) if o.obx_2.to_er7() == "NM")
    # the summary: the PDF in an ED OBX, the patient, authenticated (signed)
    assert mdm.msh.msh_9.to_er7() == "MDM^T02^MDM_T02"
    assert mdm.txa.txa_17.to_er7() == "AU"
    (ed,) = [o for o in _obx(mdm) if o.obx_2.to_er7() == "ED"]
    parts = ed.obx_5.to_er7().split("^")
    assert parts[1:4] == ["AP", "PDF", "Base64"]
    pdf = PdfReader(io.BytesIO(base64.b64decode(parts[4])))
    text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    assert "Grace Okafor" in text and "MRN MRN-77120" in text
    assert round(float(pdf.pages[0].mediabox.width)) == 595  # A4, as configured


def test_send_refused_is_one_line_and_a_failure(tmp_path, visit, capsys):
    url, vid = visit
    peer = Peer().start()
    peer.state.answer, peer.state.reason = "AE", "unknown patient MRN-77120"
    try:
        rc = cmd_send(load_config(write_config(tmp_path, url)), vid, peer.url,
                      summary=False)
    finally:
        peer.stop()
    err = capsys.readouterr().err
    assert rc == 1
    assert "refused" in err and "AE" in err and "unknown patient MRN-77120" in err
    assert len(err.strip().splitlines()) == 1


def test_send_to_nobody_is_one_line_never_a_traceback(tmp_path, visit):
    url, vid = visit
    cfg = write_config(tmp_path, url)
    env = {**os.environ, "NURSESTATION_CONFIG": str(cfg),
           "NURSESTATION_DATA_DIR": str(tmp_path / "data")}
    res = subprocess.run([sys.executable, "-m", "nursestation", "hl7", "send", str(vid),
                          "--to", f"mllp://127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the connection" in lines[0], res.stderr


def test_queue_survives_a_receiver_that_is_down_then_refuses_then_accepts(tmp_path, visit,
                                                                          capsys):
    url, vid = visit
    port = free_port()
    config = load_config(write_config(tmp_path, url, f"mllp://127.0.0.1:{port}"))
    protocol = load_protocol(config.protocol_file)
    clock = FakeClock(datetime.now(UTC))
    db = Database.open(url)
    try:
        # 1. the receiver is down: both messages queued, the first one failing
        worker = OutboundWorker(config, protocol, db.writer, clock=clock, schedule_every_s=0)
        worker.step()
        with db.session_scope() as s:
            entries = hl7queue.queue_entries(s)
        assert [(e.kind, e.state) for e in entries] == [("vitals", "failing"),
                                                        ("summary", "waiting")]
        assert "refused the connection" in entries[0].last_error
        first_failure = entries[0].failing_since
        worker.step()  # within the backoff: no new attempt, nothing queued twice
        with db.session_scope() as s:
            assert [e.attempts for e in hl7queue.queue_entries(s)] == [1, 0]
        worker.stop()

        # 2. a restart; the receiver is up but refuses (AE)
        peer = Peer(port).start()
        try:
            peer.state.answer, peer.state.reason = "AE", "interface paused"
            worker = OutboundWorker(config, protocol, db.writer, clock=clock,
                                    schedule_every_s=0)
            clock.advance(6)
            worker.step()
            with db.session_scope() as s:
                e = hl7queue.queue_entries(s)[0]
            assert (e.state, e.attempts, e.failing_since) == ("failing", 2, first_failure)
            assert e.last_error == "AE: interface paused"
            capsys.readouterr()
            cmd_status(config)
            shown = capsys.readouterr().out
            assert "1 waiting, 1 failing since" in shown and "AE: interface paused" in shown

            # 3. it accepts: after the backoff both go, in order, each accepted once
            peer.state.answer = "AA"
            clock.advance(10)
            worker.step()  # 15 s after two failures: not yet
            assert len(peer.state.control_ids) == 1
            clock.advance(6)
            worker.step()
            worker.step()
            clock.advance(3600)
            worker.step()
            worker.stop()
        finally:
            peer.stop()
        with db.session_scope() as s:
            entries = sorted(hl7queue.queue_entries(s), key=lambda e: e.id)
            overview = hl7queue.queue_overview(s)
            assert verify_audit(s).ok
        assert [e.state for e in entries] == ["sent", "sent"]
        assert overview.ok and overview.waiting == 0 and overview.last_sent_at is not None
        vitals_id, summary_id = entries[0].control_id, entries[1].control_id
        # the refused attempt and the accepted one carried the same control id; nothing else
        # was ever sent, and nothing was sent again once accepted
        assert peer.state.control_ids == [vitals_id, vitals_id, summary_id]
        capsys.readouterr()
        assert cmd_status(config) == 0
        shown = capsys.readouterr().out
        assert "0 waiting, 0 failing" in shown and shown.count(": sent ") == 2
    finally:
        db.close()


def test_vitals_are_queued_at_the_interval_for_an_open_visit(tmp_path, visit):
    from nursestation.db import repo

    url, vid = visit
    peer = Peer().start()
    config = load_config(write_config(tmp_path, url, peer.url))
    protocol = load_protocol(config.protocol_file)
    db = Database.open(url)
    try:
        # a second, open visit for the same chair with fresh vitals
        with db.session_scope() as s:
            chair = repo.chair_by_name(s, "Chair 2")
            patient_id = repo.get_visit(s, vid).patient_id
            nurse = repo.list_users(s)[0]
        t0 = datetime.now(UTC)
        v2 = db.writer.submit(repo.create_visit, patient_id, chair.id, "Ketamine IV",
                              user=nurse.id, at=t0).result().id
        db.writer.record_readings([Reading("HR", 60 + i % 5, "bpm", chair="Chair 2",
                                           recv_wall=t0 + timedelta(seconds=10 * i))
                                   for i in range(200)])
        db.writer.flush().result(timeout=30)
        clock = FakeClock(t0 + timedelta(minutes=10))
        worker = OutboundWorker(config, protocol, db.writer, clock=clock, schedule_every_s=0)
        worker.step()  # 10 min into the visit: the 15 min interval has not passed
        with db.session_scope() as s:
            assert [e.visit_id for e in hl7queue.queue_entries(s)
                    if e.kind == "vitals"].count(v2) == 0
        clock.advance(10 * 60)
        worker.step()
        worker.stop()
        with db.session_scope() as s:
            mine = [e for e in hl7queue.queue_entries(s) if e.visit_id == v2]
        assert [(e.kind, e.state) for e in mine] == [("vitals", "sent")]
        assert mine[0].covers_until == clock.now() - timedelta(seconds=5)
    finally:
        db.close()
        peer.stop()

"""A second SpO2 probe and a second temperature site: decoded, recorded with their site, shown
with it (history, printed summary), and never read by a rule (alarms, discharge gate, overview,
schedule). Also: the migration that added the site keeps an older, populated database whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import exc, inspect, select

from nursestation.config import ChairConfig, DeviceConfig, load_config
from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.core.readings import Reading
from nursestation.db import Database, make_engine, repo, upgrade_database, verify_audit
from nursestation.db.engine import alembic_config, current_revision, head_revision
from nursestation.db.models import Vital
from nursestation.devices.intellivue.framing import encode_frame
from nursestation.hl7.outbound import vital_rows
from nursestation.record.gate import gate_vitals
from nursestation.report.build import build_summary
from nursestation.report.render import render_pdf_bytes
from nursestation.runtime import StationRuntime
from tests.db.helpers import setup_visit, tamper
from tests.devices.test_intellivue_decoder import (
    attr_list,
    ava,
    decoder_with_clock,
    nu,
    p32,
    poll_reply,
)
from tests.plugins.db import NURSE_PIN
from tests.report.test_render import pdf_text

BPM, PCT, DEGC = 0x0AA0, 0x0220, 0x17A0


def _obj(label: int, physio: int, unit: int, value: int) -> bytes:
    """One numeric object with its label (NOM_ATTR_ID_LABEL) and value (NOM_ATTR_NU_VAL_OBS);
    labels and physiological ids from the Data Export guide's tables."""
    return attr_list(ava(0x0924, p32(label)), ava(0x0950, nu(physio, 0, unit, value)))


def monitor_poll(spo2_main: int = 97, spo2_right: int = 80) -> bytes:
    """An IntelliVue numerics poll: SpO2 and pulse on the main probe and on the right hand, a
    core and a skin temperature (no plain "Temp")."""
    return encode_frame(poll_reply(0x0006, [
        (0x20, _obj(0x00024BB8, 0x4BB8, PCT, spo2_main)),    # SpO2
        (0x21, _obj(0x00024822, 0x4822, BPM, 72)),           # Pulse (SpO2)
        (0x22, _obj(0x00024BCC, 0x4BCC, PCT, spo2_right)),   # SpO2 r
        (0x23, _obj(0x80155402, 0x4822, BPM, 131)),          # Pulse (SpO2 r)
        (0x24, _obj(0x00024B60, 0x4B60, DEGC, 0xFF000172)),  # Tcore 37.0
        (0x25, _obj(0x00024B74, 0x4B74, DEGC, 0xFF000155)),  # Tskin 34.1
    ]))


def _received(readings: list[Reading], clock: FakeClock) -> list[Reading]:
    """What the link layer adds before a batch leaves the reader."""
    for r in readings:
        r.chair, r.device_id = "Chair 1", "c1-mon"
        r.recv_mono, r.recv_wall = clock.monotonic(), clock.now()
    return readings


@pytest.fixture
def station(database, nurse):
    _, _, visit = setup_visit(database, nurse)
    clock = FakeClock(datetime.now(UTC) - timedelta(minutes=5))
    config = load_config(demo=True, chairs=1)
    protocol = load_protocol(config.protocol_file)
    live = LiveStore()
    rt = StationRuntime(config, protocol, live, writer=database.writer, clock=clock)
    rt.start([ChairConfig("Chair 1", (DeviceConfig("intellivue", "", "c1-mon"),))])
    yield rt, visit, clock, protocol, live
    rt.stop()


def _run(rt: StationRuntime, clock: FakeClock, seconds: int, **poll: int) -> list:
    """``seconds`` of one numerics poll a second through the runtime; the alarm changes."""
    decoder = decoder_with_clock()
    changes = []
    for _ in range(seconds):
        rt._on_batch(_received(decoder.feed(monitor_poll(**poll)), clock))
        changes += rt.process()
        clock.advance(1.0)
    return changes


def _spo2_alarms(changes: list) -> list:
    return [c for c in changes if c.alarm is not None and c.alarm.code == "SPO2"]


def test_the_main_probe_at_80_percent_alarms(station):
    rt, *_ = station
    assert _spo2_alarms(_run(rt, station[2], 40, spo2_main=80, spo2_right=97))


def test_other_sites_are_recorded_and_shown_with_their_site_but_never_ruled_on(
        database, station):
    rt, visit, clock, protocol, live = station
    changes = _run(rt, clock, 40, spo2_main=97, spo2_right=80)  # past every alarm delay
    database.writer.flush().result(timeout=30)

    assert not _spo2_alarms(changes)  # the alarms never saw the right hand's 80 %
    # the tiles show the main probe and the temperature that reported first (core)
    snap = live.snapshot("Chair 1")
    assert snap.numeric("SPO2").last_value == 97
    assert snap.numeric("TEMP").last_value == pytest.approx(37.0)

    with database.session_scope() as s:
        stored = repo.vitals_in_range(s, visit_id=visit.id, all_sites=True)
        seen = {(v.code, v.site, v.primary, round(float(v.value), 1)) for v in stored}
        assert seen == {("SPO2", "", True, 97), ("PR", "", True, 72),
                        ("SPO2", "right", False, 80), ("PR", "right", False, 131),
                        ("TEMP", "core", True, 37.0), ("TEMP", "skin", False, 34.1)}
        # every rule's reader gets the primary sites only
        ruled = repo.vitals_in_range(s, visit_id=visit.id)
        assert {(v.code, v.site) for v in ruled} == {("SPO2", ""), ("PR", ""), ("TEMP", "core")}
        gate = gate_vitals(s, visit.id, clock.now())
        assert {(g.code, g.value) for g in gate} == {("SPO2", 97.0), ("PR", 72.0)}
        latest = repo.latest_vitals(s)[visit.chair_id]
        assert latest["SPO2"].value == 97 and latest["TEMP"].value == pytest.approx(37.0)

        # the printed summary names the other sites apart from the charted vitals
        summary = build_summary(s, visit.id, protocol, now=clock.now())
        assert {v.value for v in summary.vitals if v.code == "SPO2"} == {97.0}
        others = {o.name: o for o in summary.other_sites}
        assert set(others) == {"SpO2 (right)", "Pulse rate (right)", "Temperature (skin)"}
        assert others["SpO2 (right)"].count == 40 and others["SpO2 (right)"].last == 80
        _pages, text = pdf_text(render_pdf_bytes(summary))
        assert "Other measurement sites" in text
        assert "SpO2 (right) 40" in text and "80 % at" in text and "34.1 °C at" in text
        assert verify_audit(s).ok  # the site is part of each stored batch's digest

        # the EHR feed sends every site, each named (OBX-20; see tests/hl7/test_site.py)
        sent = {(r.code, r.site) for r in vital_rows(s, visit.id)}
        assert sent == {("SPO2", ""), ("PR", ""), ("SPO2", "right"), ("PR", "right"),
                        ("TEMP", "core"), ("TEMP", "skin")}


def test_making_another_site_look_primary_is_caught_by_the_audit(database, station):
    rt, visit, clock, _protocol, _live = station
    rt._on_batch(_received(decoder_with_clock().feed(monitor_poll()), clock))
    database.writer.flush().result(timeout=30)
    tamper(database.engine, "UPDATE vitals SET primary_site = :t WHERE site = 'right'", t=True)
    with database.session_scope() as s:
        result = verify_audit(s)
    assert not result.ok and "vitals" in result.problem


def test_upgrading_a_populated_older_database_keeps_its_vitals_and_their_audit(db_url):
    url = db_url
    db = Database.open(url)
    try:
        nurse = db.writer.submit(repo.create_user, "nurse1", "Nora Nurse", "nurse",
                                 NURSE_PIN).result()
        _, chair, visit = setup_visit(db, nurse)
        t0 = datetime.now(UTC) - timedelta(minutes=10)
        db.writer.record_readings([
            Reading("SPO2", 96.0 + i % 3, "%", chair="Chair 1", device_id="c1-mon",
                    recv_wall=t0 + timedelta(seconds=i)) for i in range(30)])
        assert db.writer.flush().result(timeout=30) == 30
    finally:
        db.close()
    # the database as the previous version left it: no site columns
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002_h20_hl7_outbound")
        cols = {c["name"] for c in inspect(engine).get_columns("vitals")}
        assert "site" not in cols and "primary_site" not in cols
        assert current_revision(engine) == "0002_h20_hl7_outbound"
    finally:
        engine.dispose()

    assert upgrade_database(url) is not None  # backed up first, then upgraded

    db = Database.open(url)
    try:
        with db.session_scope() as s:
            assert current_revision(db.engine) == head_revision()
            rows = s.execute(select(Vital.value, Vital.site, Vital.primary_site)
                             .order_by(Vital.id)).all()
            assert [r.value for r in rows] == [96.0 + i % 3 for i in range(30)]
            assert {(r.site, r.primary_site) for r in rows} == {("", True)}
            assert len(repo.vitals_in_range(s, visit_id=visit.id)) == 30
            result = verify_audit(s)
            assert result.ok, result.problem  # the old batches' digests still hold
        # the append-only triggers survived the ALTER TABLE
        with pytest.raises(exc.DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE vitals SET site = 'left'")
        # and a second site is stored beside the old rows
        db.writer.record_readings([Reading("SPO2", 91.0, "%", chair="Chair 1",
                                           device_id="c1-mon", site="left", primary=False,
                                           recv_wall=datetime.now(UTC))])
        assert db.writer.flush().result(timeout=30) == 1
        with db.session_scope() as s:
            assert [(v.site, v.primary) for v in repo.vitals_in_range(
                s, visit_id=visit.id, all_sites=True) if not v.primary] == [("left", False)]
            assert verify_audit(s).ok
    finally:
        db.close()
    assert chair.name == "Chair 1"

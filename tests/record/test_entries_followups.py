"""Entries in words (history, amendments, the printed summary) and what a dose asks afterwards
(its response, a sedative's sedation check): on the tile, the overview and the summary, through
the record layer on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nursestation.core.protocol import load_protocol
from nursestation.db import repo
from nursestation.record import commands as rc
from nursestation.record.chairs import load_chair_visits
from nursestation.record.entries import entry_values, history_view
from nursestation.record.followups import read_follow_ups
from nursestation.record.overview import overview_rows
from nursestation.report.build import build_summary
from tests.db.helpers import setup_visit

PROTOCOL = load_protocol(Path(__file__).resolve().parents[2] / "resources" / "protocols"
                         / "ketamine-iv.toml")


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'entries.sqlite3'}"


def run(database, fn, *args, **kw):
    return database.writer.submit(fn, *args, **kw).result()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def infusing_visit(database, nurse, t0: datetime):
    patient, chair, visit = setup_visit(database, nurse)
    run(database, repo.add_weight, patient.id, 70.0, user=nurse, visit_id=visit.id)
    run(database, repo.advance_phase, visit.id, "baseline", user=nurse,
        at=t0 - timedelta(minutes=10))
    run(database, repo.advance_phase, visit.id, "infusing", user=nurse, at=t0)
    return visit


def read(database, fn, *args, **kw):
    from nursestation.db.engine import session_scope

    with session_scope(database.engine) as s:
        return fn(s, *args, **kw)


def test_an_amendment_is_said_field_by_field_in_words_in_the_history_and_the_summary(
        database, nurse):
    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=30))
    med = run(database, repo.record_medication, visit.id, "ondansetron", 4, "mg", "IM",
              user=nurse, given_at=t - timedelta(minutes=20), indication="nausea")
    run(database, rc.amend_entry, "medication_administrations", med.id, user=nurse,
        protocol=PROTOCOL, changes={"route": "IV", "dose": 8.0}, reason="charted wrongly")
    [chain] = read(database, history_view, visit.id)
    assert chain.label == "Medication" and chain.amendments == 1
    original, current = chain.versions
    assert original.superseded and not current.superseded
    assert current.changes == ("dose: 4 → 8", "route: IM → IV")
    assert current.reason == "charted wrongly" and current.by == "Nora Nurse"
    assert current.text.startswith("ondansetron 8 mg IV")
    for v in chain.versions:  # no dicts, reprs or column names
        assert not any(c in v.text + " ".join(v.changes) for c in ("{", "_", "None", "'"))

    summary = read(database, build_summary, visit.id, PROTOCOL, now=now())
    [entry] = summary.mar
    [amendment] = entry.amendments
    assert amendment.changes == ("dose: 4 → 8", "route: IM → IV")
    assert amendment.original.startswith("ondansetron 4 mg IM")


def test_a_vitals_entry_and_a_cadss_entry_read_in_words(database, nurse):
    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=30))
    base = run(database, repo.record_assessment, visit.id, "BASELINE_VITALS",
               {"NBP_SYS": 124, "NBP_DIA": 79}, None, user=nurse, at=t - timedelta(minutes=35))
    run(database, rc.amend_entry, "assessments", base.id, user=nurse, protocol=PROTOCOL,
        changes={"items": {"NBP_SYS": 142, "NBP_DIA": 79}}, reason="read off the wrong cuff")
    [chain] = read(database, history_view, visit.id)
    assert chain.current.changes == (
        "values: Systolic BP 124, Diastolic BP 79 → Systolic BP 142, Diastolic BP 79",)
    values = read(database, entry_values, "assessments", base.id)
    assert values.entry_id == chain.current.entry_id  # the current version, whichever id given
    assert {k: values.get("items")[k] for k in ("NBP_SYS", "NBP_DIA")} == {
        "NBP_SYS": 142, "NBP_DIA": 79}
    assert "items" in values.fields and "recorded_by_id" not in values.fields


def test_an_antiemetic_asks_for_its_response_until_it_is_charted(database, nurse):
    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=50))
    med = run(database, repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV",
              user=nurse, given_at=t - timedelta(minutes=31), indication="nausea")
    # ondansetron: response_due_min = 30 in the protocol file
    [fu] = read(database, read_follow_ups, visit.id, PROTOCOL, t)
    assert (fu.kind, fu.status, fu.due_at) == ("response", "due",
                                               med.at + timedelta(minutes=30))
    chair = read(database, load_chair_visits, PROTOCOL, t)["Chair 1"]
    assert any(a.startswith("ondansetron response due since") for a in chair.attention)
    row = next(r for r in read(database, overview_rows, PROTOCOL, t) if r.visit_id == visit.id)
    assert "ondansetron response" in row.due_checks

    later = t + timedelta(minutes=20)  # past the grace: overdue
    [fu] = read(database, read_follow_ups, visit.id, PROTOCOL, later)
    assert fu.status == "overdue"

    run(database, rc.record_medication_response, med.id, user=nurse,
        response="nausea resolved", at=t)
    [fu] = read(database, read_follow_ups, visit.id, PROTOCOL, later)
    assert fu.status == "done"
    chair = read(database, load_chair_visits, PROTOCOL, t)["Chair 1"]
    assert not any("response" in a for a in chair.attention)
    summary = read(database, build_summary, visit.id, PROTOCOL, now=t)
    assert summary.mar[0].response == "nausea resolved"
    assert summary.mar[0].amendments == ()  # a response completes the entry: no correction


def test_a_sedative_schedules_a_sedation_check_that_a_later_moaas_fulfils(database, nurse):
    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=40))
    given = t - timedelta(minutes=12)
    run(database, repo.record_medication, visit.id, "midazolam", 1, "mg", "IV", user=nurse,
        given_at=given, indication="distressing dissociation")
    # a MOAA/S right after the dose is not the check 10 min later
    run(database, rc.record_assessments, visit.id, user=nurse, protocol=PROTOCOL, moaas=5,
        at=given + timedelta(minutes=1))
    ups = {f.kind: f for f in read(database, read_follow_ups, visit.id, PROTOCOL, t)}
    assert ups["sedation"].status == "due"
    assert ups["sedation"].due_at == given + timedelta(minutes=10)
    chair = read(database, load_chair_visits, PROTOCOL, t)["Chair 1"]
    assert any(a.startswith("sedation (MOAA/S) after midazolam due") for a in chair.attention)

    run(database, rc.record_assessments, visit.id, user=nurse, protocol=PROTOCOL, moaas=4,
        at=t - timedelta(minutes=1))
    ups = {f.kind: f for f in read(database, read_follow_ups, visit.id, PROTOCOL, t)}
    assert ups["sedation"].status == "done"


def test_a_voided_dose_asks_nothing(database, nurse):
    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=50))
    med = run(database, repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV",
              user=nurse, given_at=t - timedelta(minutes=40))
    run(database, rc.amend_entry, "medication_administrations", med.id, user=nurse,
        protocol=PROTOCOL, changes={"voided": True}, reason="wrong patient")
    assert read(database, read_follow_ups, visit.id, PROTOCOL, t) == ()


def test_unmet_blocking_screening_stays_visible_on_the_tile_overview_and_summary(database,
                                                                                 nurse):
    """Issue 15.4: an unmet blocking item stays visible, with its reason, after check-in."""
    from nursestation.core.screening import ScreeningAnswers

    t = now()
    _, _, visit = setup_visit(database, nurse)
    consent, meds, ride = PROTOCOL.screening.questions
    answers = ScreeningAnswers(last_solids_at=t - timedelta(hours=8),
                               last_clear_liquids_at=t - timedelta(hours=3),
                               denies_recent_alcohol=True,
                               answers={consent: False, meds: True, ride: True})
    run(database, rc.check_in, visit.id, user=nurse.id, protocol=PROTOCOL, weight_kg=70,
        answers=answers, acknowledgement="pt insists")
    chair = read(database, load_chair_visits, PROTOCOL, t)["Chair 1"]
    [line] = chair.screening_unmet
    assert line.startswith(f"screening not met: {consent} (") and "no" in line
    assert chair.attention[0] == chair.screening_unmet[0]  # first on the tile
    row = next(r for r in read(database, overview_rows, PROTOCOL, t) if r.visit_id == visit.id)
    assert row.screening_unmet == chair.screening_unmet
    summary = read(database, build_summary, visit.id, PROTOCOL, now=t)
    assert summary.screening is not None
    assert summary.screening.blocking_unmet == chair.screening_unmet


def test_a_corrected_dose_is_held_against_the_formulary_as_when_charted(database, nurse):
    """15.6: an amendment goes through the same checks: a dose over the hard maximum is what
    was given (charted in error, flagged), a dose no one could give is refused."""
    from nursestation.record.errors import Refused

    t = now()
    visit = infusing_visit(database, nurse, t - timedelta(minutes=30))
    med = run(database, repo.record_medication, visit.id, "ondansetron", 4, "mg", "IV",
              user=nurse, given_at=t - timedelta(minutes=20))
    with pytest.raises(Refused) as info:
        run(database, rc.amend_entry, "medication_administrations", med.id, user=nurse,
            protocol=PROTOCOL, changes={"dose": 4000.0}, reason="typo")
    assert "4000" in str(info.value)
    c = run(database, rc.amend_entry, "medication_administrations", med.id, user=nurse,
            protocol=PROTOCOL, changes={"dose": 16.0}, reason="two vials were drawn up")
    assert any("16" in f and "8" in f for f in c.flags), c.flags


def test_the_station_s_own_alarms_read_in_words_on_the_visit_s_timeline(database, nurse):
    """Seen on the detail's event list: "alarm: ** PUMP_CHART" (the code of the station's
    pump-versus-chart alarm, which had no name)."""
    from nursestation.record.timeline import visit_timeline

    t0 = now() - timedelta(minutes=20)
    visit = infusing_visit(database, nurse, t0)
    for code in ("PUMP_CHART", "NO_BP", "PATIENT_MISMATCH"):
        run(database, repo.record_alarm_event, visit.chair_id, f"k:{code}", code, "medium", "raised",
            message="m", visit_id=visit.id, at=t0 + timedelta(minutes=5))
    labels = {e.label for e in read(database, visit_timeline, visit.id) if e.kind == "alarm"}
    assert labels == {"** Pump vs chart", "** BP not taken on schedule",
                      "** Other patient on the monitor"}

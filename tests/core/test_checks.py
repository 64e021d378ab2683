from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nursestation
from nursestation.core.checks import (
    CheckPhase,
    CheckStatus,
    PhaseTimes,
    checks_for_visit,
    next_bp_deadline,
)
from nursestation.core.protocol import load_protocol

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
S = PROTOCOL.schedule  # baseline; every 10 min infusing, BP at 40; every 15 min recovery; grace 3
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # infusion start


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


CHECKED_IN = m(-20)


def phases(stop=None, discharged=None, start=T0) -> PhaseTimes:
    return PhaseTimes(checked_in=CHECKED_IN, infusion_start=start, infusion_stop=stop,
                      discharged=discharged)


def by_label(checks):
    return {c.label: c for c in checks}


def test_baseline_due_at_check_in_and_done_by_nibp():
    (c,) = checks_for_visit(S, phases(start=None), [], [], m(-10))
    assert c.phase is CheckPhase.BASELINE and c.status is CheckStatus.DUE
    (c,) = checks_for_visit(S, phases(start=None), [m(-12)], [], m(-10))
    assert c.status is CheckStatus.DONE and c.done_by == "NIBP"


def test_baseline_overdue_when_infusion_started_without_it():
    checks = checks_for_visit(S, phases(), [], [], m(1))
    assert checks[0].status is CheckStatus.OVERDUE
    assert "no baseline vitals before the infusion started at 09:00" in checks[0].detail


def test_baseline_not_listed_when_not_required():
    s = replace(S, baseline_required=False)
    assert checks_for_visit(s, phases(start=None), [], [], m(-10)) == []


def test_infusing_checks_become_due_then_overdue():
    bp = [m(-15)]  # baseline
    checks = checks_for_visit(S, phases(), bp, [], m(5))
    assert [c.label for c in checks] == ["baseline", "infusing +10 min"]
    assert checks[1].status is CheckStatus.PENDING
    assert checks_for_visit(S, phases(), bp, [], m(10))[1].status is CheckStatus.DUE
    assert checks_for_visit(S, phases(), bp, [], m(12.9))[1].status is CheckStatus.DUE
    late = checks_for_visit(S, phases(), bp, [], m(13))[1]  # exactly at the grace: overdue
    assert late.status is CheckStatus.OVERDUE
    assert "due 09:10, no BP by 09:13" in late.detail


def test_nibp_fulfils_the_check_in_its_window_early_or_late():
    early = checks_for_visit(S, phases(), [m(-15), m(7.5)], [], m(11))[1]
    assert early.status is CheckStatus.DONE and early.done_at == m(7.5)
    late = checks_for_visit(S, phases(), [m(-15), m(16)], [], m(16))[1]
    assert late.status is CheckStatus.DONE
    too_early = checks_for_visit(S, phases(), [m(-15), m(6)], [], m(11))[1]
    assert too_early.status is CheckStatus.DUE  # 09:06 is before the window opens at 09:07


def test_manual_entry_fulfils_the_check():
    c = checks_for_visit(S, phases(), [m(-15)], [m(10)], m(14))[1]
    assert c.status is CheckStatus.DONE and c.done_by == "manual entry"


def test_one_reading_fulfils_only_one_check():
    # a late BP at 09:16 belongs to the +10 check; the +20 window opens at 09:17
    checks = checks_for_visit(S, phases(), [m(-15), m(16)], [], m(21))
    lab = by_label(checks)
    assert lab["infusing +10 min"].status is CheckStatus.DONE
    assert lab["infusing +20 min"].status is CheckStatus.DUE
    checks = checks_for_visit(S, phases(), [m(-15), m(17)], [], m(21))
    lab = by_label(checks)
    assert lab["infusing +10 min"].status is CheckStatus.OVERDUE
    assert lab["infusing +20 min"].status is CheckStatus.DONE


def test_bp_at_40_min_merges_with_the_interval_check():
    checks = checks_for_visit(S, phases(stop=m(40)), [], [], m(41))
    labels = [c.label for c in checks if c.phase is CheckPhase.INFUSING]
    assert labels == ["infusing +10 min", "infusing +20 min", "infusing +30 min",
                      "infusing +40 min (BP at 40 min)"]


def test_bp_at_minute_off_the_grid_is_its_own_check():
    s = replace(S, infusing_interval_min=15, infusing_bp_at_min=(40.0,))
    checks = checks_for_visit(s, phases(stop=m(50)), [], [], m(50))
    labels = [c.label for c in checks if c.phase is CheckPhase.INFUSING]
    assert labels == ["infusing +15 min", "infusing +30 min", "BP at 40 min", "infusing +45 min"]


def test_bp_at_40_dropped_when_infusion_stopped_before():
    checks = checks_for_visit(S, phases(stop=m(25)), [], [], m(30))
    assert not any("40" in c.label for c in checks)


def test_recovery_checks_every_15_min_from_stop_until_discharge():
    checks = checks_for_visit(S, phases(stop=m(40)), [], [], m(72))
    rec = [c for c in checks if c.phase is CheckPhase.RECOVERY]
    assert [c.due_at for c in rec] == [m(55), m(70), m(85)]
    assert [c.status for c in rec] == [CheckStatus.OVERDUE, CheckStatus.DUE, CheckStatus.PENDING]
    done = checks_for_visit(S, phases(stop=m(40), discharged=m(80)), [], [], m(120))
    assert [c.due_at for c in done if c.phase is CheckPhase.RECOVERY] == [m(55), m(70)]


def test_next_bp_deadline_for_the_technical_alarm():
    bp = [m(-15)]
    assert next_bp_deadline(S, phases(), bp, [], m(5)) == m(13)
    assert next_bp_deadline(S, phases(), bp, [], m(11)) == m(13)
    assert next_bp_deadline(S, phases(), bp + [m(11)], [], m(12)) == m(23)
    assert next_bp_deadline(S, phases(start=None), [], [], m(-10)) is None
    assert next_bp_deadline(S, phases(stop=m(40), discharged=m(80)), [], [], m(81)) is None


def test_future_readings_do_not_count():
    c = checks_for_visit(S, phases(), [m(-15), m(12)], [], m(10))[1]
    assert c.status is CheckStatus.DUE

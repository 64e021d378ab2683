"""core.medications.follow_ups: a dose's response and a sedative's sedation check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nursestation.core.medications import Administered, follow_ups
from nursestation.core.protocol import load_protocol

P = load_protocol(Path(__file__).resolve().parents[2] / "resources" / "protocols"
                  / "ketamine-iv.toml")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ups(given, moaas=(), now=T0):
    return follow_ups(P.formulary, given, moaas, now,
                      overdue_after_min=P.schedule.overdue_after_min)


def test_a_response_is_pending_then_due_then_overdue_until_charted():
    dose = Administered("ondansetron", at(0), responded=False, entry_id=7)
    grace = P.schedule.overdue_after_min
    assert [f.status for f in ups([dose], now=at(29))] == ["pending"]
    [due] = ups([dose], now=at(30))
    assert (due.kind, due.status, due.due_at, due.entry_id) == ("response", "due", at(30), 7)
    assert due.text(UTC) == "ondansetron response due since 10:30"
    assert ups([dose], now=at(30 + grace))[0].status == "overdue"
    assert ups([Administered("ondansetron", at(0), True)], now=at(90))[0].status == "done"


def test_a_sedative_asks_for_a_sedation_check_that_only_a_later_moaas_fulfils():
    dose = Administered("midazolam", at(0), responded=True)
    by_kind = {f.kind: f for f in ups([dose], moaas=[at(1)], now=at(10))}
    assert by_kind["sedation"].status == "due" and by_kind["sedation"].due_at == at(10)
    assert by_kind["sedation"].label == "sedation (MOAA/S) after midazolam"
    by_kind = {f.kind: f for f in ups([dose], moaas=[at(6)], now=at(10))}
    assert by_kind["sedation"].status == "done"  # half the wait before it is due counts


def test_drugs_without_a_follow_up_and_drugs_off_the_formulary_ask_nothing():
    assert ups([Administered("paracetamol", at(0), False)], now=at(120)) == ()
    labetalol = ups([Administered("labetalol", at(0), False)], now=at(120))
    assert all(f.kind == "response" for f in labetalol)  # not a sedative

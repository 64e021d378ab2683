from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import nursestation
from nursestation.core.protocol import load_protocol
from nursestation.core.screening import ScreeningAnswers, may_proceed, screen

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
SC = PROTOCOL.screening  # solids 6 h, clear liquids 2 h, alcohol 24 h
CHECK_IN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
YES = {q: True for q in SC.questions}


def h(hours: float) -> datetime:
    return CHECK_IN - timedelta(hours=hours)


def item(result, name):
    return next(i for i in result.items if i.name == name)


def good(**kw) -> ScreeningAnswers:
    base = dict(last_solids_at=h(8), last_clear_liquids_at=h(3), denies_recent_alcohol=True,
                answers=YES)
    base.update(kw)
    return ScreeningAnswers(**base)


def test_all_items_pass():
    r = screen(good(), SC, CHECK_IN)
    assert r.passed and not r.needs_acknowledgement
    assert may_proceed(r)
    assert len(r.items) == 3 + len(SC.questions)


def test_solid_food_too_recent_fails_with_numbers():
    r = screen(good(last_solids_at=h(4.5)), SC, CHECK_IN)
    i = item(r, "last solid food")
    assert not i.passed
    # in words; which setting decided it is the item's key, not part of what a nurse reads
    assert i.detail == "last solid food at 04:30: only 4.5 h ago, needs 6 h (protocol)"
    assert i.key == "screening.fasting_solids_h"


def test_exactly_at_the_fasting_limits_passes():
    r = screen(good(last_solids_at=h(6), last_clear_liquids_at=h(2)), SC, CHECK_IN)
    assert r.passed


def test_clear_liquids_just_short_fails():
    r = screen(good(last_clear_liquids_at=h(2) + timedelta(minutes=1)), SC, CHECK_IN)
    assert [i.name for i in r.failed] == ["last clear liquids"]


def test_missing_times_fail_as_not_recorded():
    r = screen(ScreeningAnswers(answers=YES), SC, CHECK_IN)
    assert {i.detail for i in r.failed} == {"last solid food: not recorded",
                                            "last clear liquids: not recorded",
                                            "last alcohol: not recorded"}


def test_alcohol_within_24_h_fails():
    r = screen(good(last_alcohol_at=h(20), denies_recent_alcohol=False), SC, CHECK_IN)
    assert "only 20.0 h ago, needs 24 h (protocol)" in item(r, "last alcohol").detail
    assert screen(good(last_alcohol_at=h(24)), SC, CHECK_IN).passed


def test_time_after_check_in_fails():
    r = screen(good(last_solids_at=CHECK_IN + timedelta(minutes=5)), SC, CHECK_IN)
    assert "after check-in" in item(r, "last solid food").detail


def test_questions_must_be_answered_yes():
    q0, q1 = SC.questions[0], SC.questions[1]
    answers = dict(YES)
    answers[q0] = False
    del answers[q1]
    r = screen(good(answers=answers), SC, CHECK_IN)
    assert {i.detail for i in r.failed} == {f"{q0}: no", f"{q1}: not answered"}
    # nothing entered is still needed, a "no" is an answer: both fail
    assert {i.name for i in r.failed if i.missing} == {q1}


def test_only_what_was_not_entered_is_marked_missing():
    r = screen(ScreeningAnswers(last_solids_at=h(1)), SC, CHECK_IN)
    missing = {i.name for i in r.failed if i.missing}
    assert missing == {"last clear liquids", "last alcohol", *SC.questions}
    assert not item(r, "last solid food").missing  # entered, too recent: a real failure


def test_failed_screening_warns_and_needs_an_acknowledgement_reason():
    r = screen(good(last_solids_at=h(1)), SC, CHECK_IN)
    assert r.needs_acknowledgement
    assert not may_proceed(r)
    assert not may_proceed(r, "   ")
    assert may_proceed(r, "small snack, anaesthetist agreed")

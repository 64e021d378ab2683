from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nursestation
from nursestation.core.dosing import Severity, resolve
from nursestation.core.medications import (
    GivenDose,
    ProposedAdministration,
    allergy_matches,
    check_administration,
)
from nursestation.core.protocol import load_protocol

PROTOCOL = load_protocol(
    Path(nursestation.__file__).parent / "resources" / "protocols" / "ketamine-iv.toml")
FORMULARY = PROTOCOL.formulary
OND = PROTOCOL.drug_named("ondansetron")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def mins(m: float) -> datetime:
    return NOW + timedelta(minutes=m)


def give(dose=4.0, route="IV", at=None, drug="ondansetron", **kw) -> ProposedAdministration:
    return ProposedAdministration(drug, dose, route, NOW if at is None else at, **kw)


def check(p, given=(), allergies=(), entered_at=NOW):
    return check_administration(p, FORMULARY, given, allergies, entered_at)


def rules(dec, severity):
    return {f.rule for f in dec.findings if f.severity is severity}


def test_usual_dose_is_fine():
    dec = check(give())
    assert dec.severity is Severity.OK
    assert "within the protocol's limits" in dec.findings[-1].message


def test_drug_matching_is_case_insensitive():
    assert check(give(drug="Ondansetron")).severity is Severity.OK


def test_unknown_drug_is_refused_unless_charted_as_other_with_reason():
    dec = check(give(drug="haloperidol"))
    assert dec.severity is Severity.REFUSED
    assert "not in the protocol formulary" in dec.messages[0]
    assert check(give(drug="other", other_drug_name="haloperidol")).severity \
        is Severity.REFUSED
    dec = check(give(drug="other", other_drug_name="haloperidol", other_reason="MD order"))
    assert dec.severity is Severity.NOTE and dec.ok


def test_other_drug_still_checks_allergies_by_name():
    dec = check(give(drug="other", other_drug_name="Metoclopramide", other_reason="MD order"),
                allergies=["metoclopramide"])
    assert dec.severity is Severity.BLOCK


def test_route_not_allowed_needs_an_override_reason():
    dec = check(give(route="IM"))
    assert dec.severity is Severity.BLOCK
    assert "route IM is not allowed for ondansetron (allowed: IV, ODT" in dec.messages[0]
    assert check(give(route="ODT")).severity is Severity.OK


def test_max_per_dose_is_a_hard_limit_for_ondansetron():
    assert check(give(dose=8)).severity is Severity.OK  # exactly max_per_dose_mg
    dec = check(give(dose=40))
    assert "max_per_dose" in rules(dec, Severity.REFUSED)
    msg = next(f for f in dec.findings if f.rule == "max_per_dose")
    assert msg.limit == 8 and msg.value == 40
    assert "40 mg exceeds the maximum per dose 8 mg, a hard limit with no override" in msg.message
    assert not resolve(dec).allowed
    assert not resolve(dec, reason="MD order").allowed


def test_a_dose_given_in_error_is_charted_as_what_happened_flagged():
    dec = check(give(dose=40, given_in_error=True, error_reason="drew up 40 mg vial"))
    f = next(f for f in dec.findings if f.rule == "max_per_dose")
    assert f.severity is Severity.NOTE and "given in error" in f.message
    assert "charge nurse" in f.message
    # the error needs saying what happened
    assert check(give(dose=40, given_in_error=True)).severity is Severity.REFUSED


def test_a_soft_max_per_dose_drug_needs_a_reason():
    drug = replace(PROTOCOL.drug_named("ondansetron"), max_per_dose_hard=False)
    dec = check_administration(give(dose=12), [drug], [], [], NOW)
    assert "max_per_dose" in rules(dec, Severity.SOFT)
    assert resolve(dec, reason="MD order").allowed


def test_max_per_visit_counts_earlier_doses():
    given = [GivenDose("ondansetron", 4, mins(-60))]
    assert check(give(dose=4), given).severity is Severity.OK  # exactly 8 mg
    dec = check(give(dose=4), given + [GivenDose("ondansetron", 2, mins(-45))])
    f = next(f for f in dec.findings if f.rule == "max_per_visit")
    assert f.severity is Severity.SOFT and f.value == 10
    assert "6 mg already given + 4 mg" in f.message


def test_other_drugs_do_not_count_towards_the_visit_total():
    given = [GivenDose("other-drug", 100, mins(-60))]
    assert check(give(), given).severity is Severity.OK


def test_minimum_interval_since_last_dose():
    given = [GivenDose("ondansetron", 2, mins(-20))]
    dec = check(give(dose=2), given)
    f = next(f for f in dec.findings if f.rule == "min_interval")
    assert f.severity is Severity.SOFT
    assert "20 min from the dose at 09:40; minimum interval 30 min" in f.message
    # exactly 30 min later is allowed
    assert check(give(dose=2), [GivenDose("ondansetron", 2, mins(-30))]).severity is Severity.OK


def test_minimum_interval_also_applies_to_a_back_charted_dose_before_a_later_one():
    given = [GivenDose("ondansetron", 2, mins(-5))]
    dec = check(give(dose=2, at=mins(-15)), given)
    assert "min_interval" in rules(dec, Severity.SOFT)


def test_allergy_blocks_unless_overridden_with_a_reason():
    dec = check(give(), allergies=["Penicillin", "Ondansetron (rash)"])
    assert dec.severity is Severity.BLOCK
    assert "Ondansetron (rash)" in dec.messages[0]
    assert not resolve(dec).allowed and resolve(dec).needs == "reason"
    assert resolve(dec, reason="rash only, benefit outweighs, MD aware").allowed


def test_allergy_matches_class_terms_case_insensitively():
    assert allergy_matches(["GRANISETRON"], OND) == ("GRANISETRON",)
    assert allergy_matches(["5-ht3 antagonists"], OND) == ("5-ht3 antagonists",)
    assert allergy_matches(["penicillin", "latex"], OND) == ()
    assert allergy_matches(["on"], OND) == ()  # too short to mean anything


def test_time_in_the_future_is_refused():
    dec = check(give(at=mins(5)))
    assert dec.severity is Severity.REFUSED
    assert "5 min in the future" in dec.messages[0]
    assert not resolve(dec, reason="whatever").allowed


def test_small_clock_skew_is_tolerated():
    assert check(give(at=NOW + timedelta(seconds=60))).severity is Severity.OK
    assert check(give(at=NOW + timedelta(seconds=61))).severity is Severity.REFUSED


def test_back_charting_is_allowed_and_flagged_late():
    assert check(give(at=mins(-10))).severity is Severity.OK  # exactly 10 min: on time
    dec = check(give(at=mins(-25)))
    assert dec.severity is Severity.NOTE and dec.ok
    assert "late entry: given 09:35, charted 10:00 (25 min later" in dec.messages[0]


def test_times_in_messages_follow_the_display_time_zone():
    from datetime import timezone

    from nursestation.core.medications import check_time_given
    dec = check_time_given(mins(-25), NOW, display_tz=timezone(timedelta(hours=-5)))
    assert "given 04:35, charted 05:00" in dec.messages[0]


def test_zero_dose_is_refused():
    assert check(give(dose=0)).severity is Severity.REFUSED


def test_clinic_added_drug_uses_its_own_limits():
    extra = replace(OND, name="Dexamethasone", routes=("IV",), max_per_dose_mg=8,
                    max_per_visit_mg=8, min_interval_min=0, allergy_terms=())
    dec = check_administration(give(drug="dexamethasone", dose=8), FORMULARY + (extra,),
                               [GivenDose("dexamethasone", 4, mins(-1))], [], NOW)
    assert rules(dec, Severity.SOFT) == {"max_per_visit"}

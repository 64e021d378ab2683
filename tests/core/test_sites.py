"""The site qualifier: which site of a multi-site code stands for it on a chair."""

from __future__ import annotations

from nursestation.core.readings import Reading, SitePicker
from nursestation.core.vocabulary import Code, Site, site_label


def _r(code: str, site: str = "", t: float = 1.0, value: float = 1.0) -> Reading:
    return Reading(code, value, site=site, recv_mono=t)


def test_main_site_wins_and_other_sites_are_not_primary():
    p = SitePicker()
    assert p.is_primary(_r(Code.TEMP, ""))
    assert not p.is_primary(_r(Code.TEMP, Site.RECTAL, 2.0))
    assert p.primary(Code.TEMP) == ""


def test_only_site_is_used_when_the_main_one_never_reports():
    # a bed whose only temperature is Tcore shows Tcore
    p = SitePicker()
    assert p.is_primary(_r(Code.TEMP, Site.CORE))
    assert not p.is_primary(_r(Code.TEMP, Site.SKIN, 2.0))
    assert p.primary(Code.TEMP) == Site.CORE
    # the device's main site, when it turns up, takes over
    assert p.is_primary(_r(Code.TEMP, "", 3.0))
    assert not p.is_primary(_r(Code.TEMP, Site.CORE, 3.5))


def test_a_silent_site_gives_way():
    p = SitePicker(gives_way_after=10.0)
    assert p.is_primary(_r(Code.TEMP, Site.CORE, 1.0))
    assert not p.is_primary(_r(Code.TEMP, Site.SKIN, 5.0))
    assert p.is_primary(_r(Code.TEMP, Site.SKIN, 12.0))


def test_configured_site_is_the_only_one_and_pulse_follows_spo2():
    p = SitePicker({"TEMP": "rectal", "SPO2": "left"})
    assert not p.is_primary(_r(Code.TEMP, ""))
    assert p.is_primary(_r(Code.TEMP, Site.RECTAL))
    assert p.is_primary(_r(Code.PR, Site.LEFT))
    assert not p.is_primary(_r(Code.PR, ""))
    assert not p.is_primary(_r(Code.SPO2, Site.RIGHT))


def test_ecg_defaults_to_lead_ii_but_shows_another_lead_when_alone():
    p = SitePicker()
    assert p.is_primary(_r(Code.ECG, Site.LEAD_V1))
    assert p.is_primary(_r(Code.ECG, Site.LEAD_II, 2.0))
    assert not p.is_primary(_r(Code.ECG, Site.LEAD_V1, 2.5))


def test_single_site_codes_always_pass_and_split_keeps_order():
    p = SitePicker()
    batch = [_r(Code.HR), _r(Code.TEMP, Site.CORE), _r(Code.TEMP, Site.SKIN), _r(Code.NBP_SYS)]
    keep, other = p.split(batch)
    assert [r.code for r in keep] == ["HR", "TEMP", "NBP_SYS"]
    assert [r.site for r in other] == ["skin"]


def test_site_in_json_and_label():
    assert _r(Code.TEMP, Site.CORE).to_json_dict()["site"] == "core"
    assert "site" not in _r(Code.TEMP).to_json_dict()
    assert site_label("TEMP", "core") == "TEMP (core)"
    assert site_label("ECG", "V1") == "ECG V1"
    assert site_label("HR", "") == "HR"

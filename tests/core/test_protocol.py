"""The bundled treatment protocol loads, every number has a source, and bad files are named."""

from __future__ import annotations

import re

import pytest

from nursestation.core.protocol import ProtocolError, load_protocol, parse_protocol
from nursestation.paths import resource_path

PROTOCOL = resource_path("protocols", "ketamine-iv.toml")


def test_bundled_protocol_loads_with_published_defaults():
    p = load_protocol(PROTOCOL)
    # the name a visit, the start dialog and the printed summary show
    assert p.name == "Ketamine IV 0.5 mg/kg over 40 min"
    assert p.dosing.dose_mg_per_kg == 0.5
    assert p.dosing.duration_min == 40
    assert p.screening.fasting_solids_h == 6 and p.screening.fasting_clear_liquids_h == 2
    assert p.screening.no_alcohol_h == 24
    assert p.schedule.infusing_interval_min == 10 and p.schedule.recovery_interval_min == 15
    assert 40 in p.schedule.infusing_bp_at_min
    assert p.discharge.min_observation_min == 30
    assert p.discharge.max_deviation_pct == 20
    assert (p.discharge.sbp_max, p.discharge.dbp_max, p.discharge.spo2_min) == (160, 100, 94)
    assert p.drug_named("Ondansetron").usual_dose_mg == 4
    spo2 = [lim for lim in p.alarms.limits if lim.code == "SPO2" and lim.priority == "high"]
    assert spo2 and spo2[0].below == 90 and spo2[0].delay_s == 15


def test_every_alarm_limit_names_its_source():
    p = load_protocol(PROTOCOL)
    assert all(lim.source.strip() for lim in p.alarms.limits)


def test_every_number_in_the_file_carries_a_source_comment():
    """Each numeric setting line has a comment (source or 'unknown: conservative'), or belongs
    to an alarm limit table whose `source` key names it."""
    text = PROTOCOL.read_text(encoding="utf-8")
    in_limit = False
    missing = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_limit = stripped in ("[[alarms.limit]]", "[[plausibility.range]]")
            continue
        m = re.match(r"^([a-z0-9_]+)\s*=\s*(-?[0-9][0-9.]*|\[[-0-9., ]+\])\s*(#.*)?$", stripped)
        if m and not in_limit and not m.group(3):
            missing.append(stripped)
    assert missing == []


def _broken(old: str, new: str) -> str:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("dose_mg_per_kg = 0.5", 'dose_mg_per_kg = "half"', "dosing.dose_mg_per_kg",
         "must be a number"),
        ("hard_max_mg_per_kg = 1.0", "hard_max_mg_per_kg = 0.6", "dosing.soft_max_mg_per_kg",
         "must not exceed"),
        ('priority = "high"', 'priority = "urgent"', "alarms.limit[1].priority", "must be one of"),
        ("recovery_interval_min = 15", "recovery_intervall_min = 15", "schedule",
         "recovery_interval_min"),
        ('nausea_max = "mild"', 'nausea_max = "a bit"', "discharge.nausea_max", "must be one of"),
    ],
)
def test_bad_protocol_names_file_and_key(old, new, key, words):
    with pytest.raises(ProtocolError) as exc:
        parse_protocol(_broken(old, new), "clinic.toml")
    msg = str(exc.value)
    assert msg.startswith("clinic.toml: ")
    assert key in msg and words in msg


def test_protocol_that_is_not_toml():
    with pytest.raises(ProtocolError, match=r"clinic.toml: not valid TOML"):
        parse_protocol("[dosing\n", "clinic.toml")

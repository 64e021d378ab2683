"""The [hl7] table (the EHR feed) and the summary's paper size in the configuration."""

from __future__ import annotations

import pytest

from nursestation.config import ConfigError, load_config


def load(tmp_path, text: str):
    cfg = tmp_path / "station.toml"
    cfg.write_text(text, encoding="utf-8")
    return load_config(cfg)


def test_defaults_no_feed_and_letter(tmp_path):
    c = load(tmp_path, 'clinic_name = "Harbor"\n')
    assert c.hl7 is None and c.paper == "letter"


def test_the_ehr_feed(tmp_path):
    c = load(tmp_path, 'clinic_name = "Harbor"\npaper = "A4"\n[hl7]\n'
                       'send_to = "mllp://ehr.example.org:2575"\nvitals_every_minutes = 5\n'
                       'receiving_application = "EPIC"\n')
    assert c.paper == "a4"
    assert c.hl7.send_to == "mllp://ehr.example.org:2575"
    assert c.hl7.vitals_every_minutes == 5 and c.hl7.send_summary is True
    assert c.hl7.sending_facility == "Harbor" and c.hl7.receiving_application == "EPIC"


@pytest.mark.parametrize("text,key", [
    ('paper = "legal"\n', "paper"),
    ('[hl7]\nvitals_every_minutes = 5\n', "hl7.send_to"),
    ('[hl7]\nsend_to = "mllp://:2575"\n', "hl7.send_to"),
    ('[hl7]\nsend_to = "ehr:abc"\n', "hl7.send_to"),
    ('[hl7]\nsend_to = "mllp://ehr:2575"\nvitals_every_minutes = 0\n', "hl7.vitals_every_minutes"),
    ('[hl7]\nsend_to = "mllp://ehr:2575"\nsend_summary = "yes"\n', "hl7.send_summary"),
    ('[hl7]\nsend_to = "mllp://ehr:2575"\nretry = 3\n', "hl7.retry"),
])
def test_bad_settings_name_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    assert f": {key}: " in str(exc.value)

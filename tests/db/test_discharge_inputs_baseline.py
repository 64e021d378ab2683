"""The discharge gate reads the baseline the nurse charted, and manual vitals checks count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nursestation.core.protocol import load_protocol
from nursestation.db import repo
from nursestation.db.engine import session_scope
from nursestation.paths import resource_path
from nursestation.record import gate as din
from tests.db.helpers import CHAIRS


@pytest.fixture
def protocol():
    return load_protocol(resource_path("protocols", "ketamine-iv.toml"))


def test_charted_baseline_and_manual_vitals_reach_the_gate(database, nurse, protocol):
    w = database.writer
    t0 = datetime.now(UTC) - timedelta(hours=1)
    chairs = w.submit(repo.sync_chairs, CHAIRS, user=nurse).result()
    patient = w.submit(repo.create_patient, "MRN-9", "Rivera", "Sam", None, "",
                       user=nurse).result()
    visit_id = w.submit(repo.create_visit, patient.id, chairs["Chair 1"].id, "ketamine-iv",
                        user=nurse, at=t0).result().id
    w.submit(repo.record_assessment, visit_id, din.SCALE_BASELINE_VITALS,
             {"NBP_SYS": 118.0, "NBP_DIA": 76.0, "HR": 68.0, "source": {"NBP_SYS": "manual"}},
             None, user=nurse, at=t0 + timedelta(minutes=5)).result()
    w.submit(repo.advance_phase, visit_id, "baseline", user=nurse,
             at=t0 + timedelta(minutes=6)).result()
    w.submit(repo.advance_phase, visit_id, "infusing", user=nurse,
             at=t0 + timedelta(minutes=10)).result()
    w.submit(repo.record_assessment, visit_id, din.SCALE_VITALS_CHECK,
             {"NBP_SYS": 131.0, "NBP_DIA": 84.0}, None, user=nurse,
             at=t0 + timedelta(minutes=20)).result()
    with session_scope(database.engine) as s:
        inputs = din.discharge_inputs(s, visit_id, t0 + timedelta(minutes=25),
                                      criteria=protocol.discharge)
    assert (inputs.baseline.sbp, inputs.baseline.dbp, inputs.baseline.hr) == (118, 76, 68)
    manual = [v for v in inputs.vitals if v.code == "NBP_SYS"]
    assert [(v.value, v.at) for v in manual] == [(131.0, t0 + timedelta(minutes=20))]

"""The physiology scenarios that drive the simulators are deterministic and clinically shaped."""

from __future__ import annotations

import numpy as np
import pytest

from nursestation.sim.scenarios import BASELINE_END, SCENARIOS, get_scenario


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_is_deterministic(name):
    a, b = get_scenario(name, 7), get_scenario(name, 7)
    for t in (0.0, 123.4, 1800.0, 5000.0):
        assert a.state(t) == b.state(t)
    assert np.array_equal(a.ecg(10.0, 500, 500.0), b.ecg(10.0, 500, 500.0))
    assert np.array_equal(a.pleth(10.0, 125, 125.0), b.pleth(10.0, 125, 125.0))


def test_ketamine_visit_bp_rises_and_peaks_near_40_minutes_of_infusion():
    s = get_scenario("ketamine-visit", 1)
    base = s.state(BASELINE_END - 1)
    assert base.nbp_sys is not None
    peak_window = [s.state(BASELINE_END + m * 60 + 31) for m in (30, 40, 50)]
    at40 = peak_window[1]
    assert at40.nbp_sys - base.nbp_sys >= 8
    late = s.state(BASELINE_END + 140 * 60)
    assert abs(late.nbp_sys - base.nbp_sys) < 8


def test_ketamine_visit_desaturation_recovers_and_sensor_off_is_unavailable():
    s = get_scenario("ketamine-visit", 1)
    dip = min(s.state(BASELINE_END + 20 * 60 + k).spo2 for k in range(0, 90, 5))
    assert 87.0 <= dip <= 92.0
    assert s.state(BASELINE_END + 35 * 60).spo2 > 95
    off = s.state(BASELINE_END + 30 * 60 + 10)
    assert off.sensor_off and off.spo2 is None


def test_pump_program_lowered_paused_and_stops_at_vtbi():
    s = get_scenario("ketamine-visit", 1)
    assert s.state(BASELINE_END + 60).pump_rate == 150
    assert s.state(BASELINE_END + 26 * 60).pump_rate == 100
    assert s.state(BASELINE_END + 31 * 60).pump_state == "paused"
    end = s.state(BASELINE_END + 90 * 60)
    assert end.pump_state == "stopped" and end.pump_vi == pytest.approx(100.0)


def test_ecg_beats_follow_heart_rate():
    s = get_scenario("steady", 1)
    ecg = s.ecg(0.0, 500 * 20, 500.0)
    peaks = np.flatnonzero((ecg[1:-1] > 0.8) & (ecg[1:-1] >= ecg[:-2]) & (ecg[1:-1] > ecg[2:]))
    bpm = len(peaks) * 3.0
    assert abs(bpm - s.state(10.0).hr) < 6

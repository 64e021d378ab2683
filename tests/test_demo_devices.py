"""The demo's simulated devices on loopback TCP (a machine without pseudo-terminals), read by
the station's real runtime: the monitors' variety (leads, site temperatures, a second SpO2 site)
and their admitted patients arrive."""

from __future__ import annotations

import time

from nursestation.config import load_config
from nursestation.core.livestate import LiveStore, Shown
from nursestation.core.protocol import load_protocol
from nursestation.demo import DemoDevices, demo_mrn, monitor_options, plan_demo
from nursestation.devices.simhost import ptys_available
from nursestation.runtime import StationRuntime


def test_ptys_available_answers_without_raising():
    assert ptys_available() in (True, False)


def test_demo_devices_on_loopback_tcp_reach_the_station():
    config = load_config(demo=True, chairs=3, demo_devices="tcp")
    assert config.demo_devices == "tcp"
    plan = plan_demo(config.chairs)
    devices = DemoDevices(plan, port=config.demo_devices)
    chairs = devices.start()
    live = LiveStore()
    runtime = StationRuntime(config, load_protocol(config.protocol_file), live)
    try:
        assert all(d.url.startswith("socket://127.0.0.1:") for c in chairs for d in c.devices)
        runtime.start(chairs)
        names = [c.name for c in chairs]

        def ready() -> bool:
            return all(live.snapshot(n).numeric("TEMP").shown is Shown.LIVE
                       and live.wave(n, "ECG") is not None for n in names)

        deadline = time.monotonic() + 20
        while not ready():
            assert time.monotonic() < deadline, "demo devices on TCP did not come through"
            time.sleep(0.1)
        # chair 2's monitor measures only Trect and leads with V1: both still shown
        assert monitor_options(2, None)["ecg_lead"] == "V1"
        assert live.wave(names[2], "ECG").site == "V1"
        assert live.wave(names[0], "ECG").site == "II"
    finally:
        runtime.stop()
        devices.stop()


def test_each_monitor_has_its_chairs_patient_admitted():
    assert monitor_options(0, demo_mrn(0))["patient_id"] == "100231"
    assert demo_mrn(7) == "100307"
